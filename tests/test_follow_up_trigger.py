"""A status report starts its directive's follow-up through the deployment trigger of prefect.yaml, without a sweep.

End to end: a real Prefect server, `dondoc serve --only follow-up-directive` in a subprocess (so the trigger is
read from prefect.yaml exactly as in production), the agency API in-process, and the database both share.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL
from sqlmodel import Session, select

from domain.planner import at_local
from models import Directive, Notification, get_engine
from tests.intake_helpers import assignment, assignment_id, client, import_sample, token_for, use_intake

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEADLINE_S = 240.0  # generous: a served runner, a flow subprocess and the server share two cores
TRIGGER_NAME = "Đôn đốc lại khi cơ quan báo cáo"


def local(day: date, hour: int) -> datetime:
    """A Vietnam wall-clock time, as aware UTC."""
    return at_local(day, datetime.min.time().replace(hour=hour))


def wait_for(what: str, probe: Callable[[], Any], process: subprocess.Popen | None = None) -> Any:
    """Poll probe until it returns something truthy; fail with what was awaited (or the server's output)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"dondoc serve exited while waiting for {what}: {process.communicate()[0]}")
        time.sleep(1.0)
    raise TimeoutError(f"timed out waiting for {what}")


def runs_of(flow_name: str) -> list[FlowRun]:
    """Every run of one flow on the test server."""
    with get_client(sync_client=True) as http:
        return http.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))


def trigger_ready() -> bool:
    """Whether the served follow-up deployment and its automation exist."""
    with get_client(sync_client=True) as http:
        deployments = http.read_deployments(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["follow-up-directive"]))
        )
        return bool(deployments) and bool(http.read_automations_by_name(TRIGGER_NAME))


@pytest.fixture
def served_follow_up(prefect_server, db, tmp_path: Path) -> Iterator[subprocess.Popen]:
    """`dondoc serve --only follow-up-directive` on the test server and database; removed again afterwards."""
    env = {
        **os.environ,  # the DONDOC_* settings of this test (home, database)
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    dondoc = str(Path(sys.executable).with_name("dondoc"))
    process = subprocess.Popen(
        [dondoc, "serve", "--only", "follow-up-directive", "--no-intake"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for("the served deployment and its trigger", trigger_ready, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        # Later tests share the server: their status events must not start runs nobody serves.
        with get_client(sync_client=True) as http:
            for automation in http.read_automations_by_name(TRIGGER_NAME):
                http.delete_automation(automation.id)
            for deployment in http.read_deployments(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["follow-up-directive"]))
            ):
                http.delete_deployment(deployment.id)


def notifications_of(assignment_: int) -> list[Notification]:
    """An assignment's outbox rows, oldest first."""
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(Notification).where(Notification.assignment_id == assignment_).order_by(Notification.id)
            ).all()
        )


def test_a_report_through_the_api_starts_its_follow_up_through_the_trigger_and_cancels_pending_reminders(
    served_follow_up: subprocess.Popen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.follow_up import follow_up_directive

    use_intake(monkeypatch)
    import_sample()
    hnd = assignment_id("HND_TINH", "2.6")
    directive = assignment(hnd).directive_id
    # Fri 30/09/2022 08:00, the deadline: the "due today" messages are written and wait in the outbox.
    due = follow_up_directive(directive, local(date(2022, 9, 30), 8), deliver=False, return_state=True)
    assert due.is_completed(), due.message
    pending = [r.id for r in notifications_of(hnd) if r.state == "pending"]
    assert pending
    sweeps_before = len(runs_of("sweep"))
    followed_up_before = [r.id for r in runs_of("follow-up-directive")]

    # 09:00: Hội Nông dân tỉnh reports completion through the agency API.
    answer = client(local(date(2022, 9, 30), 9)).post(
        f"/api/v1/assignments/{hnd}/updates",
        json={"status": "done", "document_number": "130/BC-HND"},
        headers={"Authorization": f"Bearer {token_for('HND_TINH')}"},
    )
    assert answer.status_code == 201, answer.text
    reported = time.monotonic()

    def triggered_run_finished() -> FlowRun | None:
        fresh = [r for r in runs_of("follow-up-directive") if r.id not in followed_up_before]
        done = [r for r in fresh if r.state is not None and r.state.is_final()]
        return done[0] if done else None

    run = wait_for("the follow-up started by the trigger", triggered_run_finished, served_follow_up)
    print(f"follow-up finished {time.monotonic() - reported:.1f} s after the report")  # for the record, not asserted

    assert run.parameters == {"directive_id": directive}
    assert run.created_by is not None and run.created_by.type == "AUTOMATION"
    assert run.state is not None and run.state.is_completed(), run.state
    rows = {r.id: r.state for r in notifications_of(hnd)}
    assert {rid: rows[rid] for rid in pending} == dict.fromkeys(pending, "cancelled")
    with Session(get_engine()) as session:
        followed = session.get(Directive, directive)
        assert followed is not None and followed.last_followed_up_at is not None
        assert followed.last_followed_up_at > local(date(2022, 9, 30), 8)  # this run's, not the 08:00 one
    assert len(runs_of("sweep")) == sweeps_before  # no sweep ran
