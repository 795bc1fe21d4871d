"""What a follow-up tells coordinators beyond its state: log lines, events, the province-wide artifact."""

from __future__ import annotations

import html
import json
import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId
from prefect.client.schemas.sorting import ArtifactSort
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventRelatedFilter

from config.settings import PACKAGED_CONFIG_DIR
from flows.follow_up import follow_up_directive
from flows.sweep import sweep
from tasks.artifacts import directive_key, notice_key
from tasks.follow_up_events import ESCALATION_EVENT, OVERDUE_EVENT
from tasks.notice_import import import_notice
from tasks.province_summary import PROVINCE_KEY
from tests.test_flows import GIVEN, NUMBER, directive_id, morning


@pytest.fixture
def sample(db, sample_notice: Path) -> int:
    """The sample notice, imported as if it arrived on 09/09/2022 at 16:00."""
    return import_notice(sample_notice, PACKAGED_CONFIG_DIR, at=GIVEN).notice_id


def _events(name: str, directive: int, since: datetime) -> list:
    """Events of one name related to one directive, waiting for the server to store them."""
    wanted = EventFilter(
        event=EventNameFilter(name=[name]),
        occurred=EventOccurredFilter(since=since),
        related=EventRelatedFilter(id=[f"dondoc.directive.{directive}"]),
    )
    deadline = time.monotonic() + 30
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            found = client.read_events(filter=wanted, limit=50).events
            if found:
                return found
            time.sleep(0.5)
    return []


def test_the_ladder_climbs_in_the_log_and_in_the_event_feed(prefect_server, sample: int) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    directive = directive_id("2.3")
    # 11/10/2022: Sở Công Thương is 15 working days past 20/09, every rung up to the issuer is due.
    state = follow_up_directive(directive, morning(date(2022, 10, 11)), return_state=True)
    assert state.name == "Quá hạn" and "Sở Công Thương 15 ngày làm việc (bậc 4)" in state.message
    # Logs reach the server through Prefect's log worker, in batches: wait for the rung's line.
    wanted = "Báo cáo vượt cấp mức 4 → Thường trực Tỉnh ủy (cơ quan ban hành; "
    deadline, lines = time.monotonic() + 60, []
    with get_client(sync_client=True) as client:
        while not any(line.startswith(wanted) for line in lines) and time.monotonic() < deadline:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
            )
            lines = [log.message for log in logs]
            time.sleep(0.5)
    assert any(line.startswith(wanted) for line in lines), lines
    assert any("quá hạn 15 ngày làm việc" in line for line in lines)
    escalations = _events(ESCALATION_EVENT, directive, started)
    # One event per rung: 2 (supervisor), 3 (monitors) and 4 (issuer), however many recipients a rung has.
    so_ct = sorted(e.payload["level"] for e in escalations if e.resource["dondoc.agency"] == "SO_CT")
    assert so_ct == [2, 3, 4]
    assert all(any(r.role == "agency" for r in e.related) for e in escalations)
    overdue = _events(OVERDUE_EVENT, directive, started)
    assert "SO_CT" in {e.resource["dondoc.agency"] for e in overdue}
    assert (
        len([e for e in overdue if e.resource["dondoc.agency"] == "SO_CT"]) == 1
    )  # one per assignment, not per recipient


def _latest_artifact(key: str):  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC, limit=1
        )
    assert found, key
    return found[0]


def test_the_province_artifact_lists_exactly_the_overdue_rows_of_the_directive_tables(
    prefect_server, sample: int
) -> None:
    moment = morning(date(2022, 10, 11))
    state = sweep(as_of=moment, return_state=True)
    assert state.is_completed() and "toàn tỉnh" in state.message
    overdue_in_tables = set()
    for number in ("2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"):
        rows = _latest_artifact(directive_key(NUMBER, number)).data
        rows = rows if isinstance(rows, list) else json.loads(rows)
        overdue_in_tables |= {(number, row["Cơ quan"]) for row in rows if row["Tình trạng"].startswith("⚠")}
    province = _latest_artifact(PROVINCE_KEY).data
    listed = set()
    for line in province.splitlines():
        # Split on unescaped pipes, then read each cell as the UI shows it (markdown and HTML escapes undone).
        cells = [html.unescape(re.sub(r"\\(.)", r"\1", cell)).strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 8 and cells[1][:1].isdigit():
            listed.add((cells[1], cells[2].strip("*")))
    assert overdue_in_tables and listed == overdue_in_tables
    assert f"**{len(listed)} việc quá hạn**" in province
    # The notice summary links each overdue directive to the run this sweep made of it.
    summary = _latest_artifact(notice_key(NUMBER)).data
    assert "[lượt đôn đốc mới nhất](http" in summary and "/runs/flow-run/" in summary
