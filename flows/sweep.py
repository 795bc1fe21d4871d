"""The scheduled sweep: follow up only the directives whose next action is due, then deliver once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prefect import flow, get_run_logger, tags, task
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Completed, State

from flows.follow_up import IO_RETRIES, follow_up_directive
from notifications.dead_letters import publish_dead_letters
from tasks import artifacts
from tasks.delivery import deliver_outbox
from tasks.labels import tags_by_directive
from tasks.sweep import DueDirective, find_due_directives

FOLLOW_UP_DEPLOYMENT = "follow-up-directive/follow-up-directive"
FAN_OUT_TIMEOUT_S = 3600


@task(name="Tìm mục đến lượt đôn đốc", cache_policy=NONE, **IO_RETRIES)
def due_directives(as_of: datetime) -> list[DueDirective]:
    """The one indexed query for directives whose next action is due."""
    return find_due_directives(as_of)


@task(name="Đọc nhãn", cache_policy=NONE, **IO_RETRIES)
def directive_tags(directive_ids: list[int]) -> dict[int, list[str]]:
    """Tags (notice, directive, agencies) for the runs, in one query."""
    return tags_by_directive(directive_ids)


@task(name="Cập nhật tổng hợp thông báo", cache_policy=NONE, **IO_RETRIES)
def publish_notice_summaries(notices: dict[int, str], as_of: datetime) -> None:
    """Publish one markdown summary per notice touched by this sweep."""
    for notice_id, number in notices.items():
        artifacts.publish_notice_summary(notice_id, number, as_of)


@task(name="Cập nhật thư không gửi được", cache_policy=NONE, **IO_RETRIES)
def publish_dead_letter_table() -> int:
    """Publish the dead-letter table, so coordinators see what could not be delivered."""
    return publish_dead_letters()


@contextmanager
def local_subflows() -> Iterator[None]:
    """Run subflows without flow heartbeats.

    An in-process subflow lives and dies with its parent, so a crash already shows on the parent,
    and the heartbeat thread costs about 0.9 s per run on exit (DESIGN §5). Runs on workers keep
    their heartbeats: a worker can die on its own, and the heartbeat is how Prefect notices.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _run_locally(due: list[DueDirective], labels: dict[int, list[str]], as_of: datetime) -> int:
    """Run each follow-up as a subflow in this process."""
    failed = 0
    with local_subflows():
        for item in due:
            with tags(*labels.get(item.directive_id, [])):
                state = follow_up_directive(item.directive_id, as_of, deliver=False, return_state=True)
            failed += int(not state.is_completed())
    return failed


def _fan_out(due: list[DueDirective], labels: dict[int, list[str]], as_of: datetime) -> int:
    """Submit each follow-up to the work pool through its deployment, then wait for all of them."""
    logger = get_run_logger()
    runs = [
        run_deployment(
            FOLLOW_UP_DEPLOYMENT,
            parameters={"directive_id": item.directive_id, "as_of": as_of.isoformat(), "deliver": False},
            tags=labels.get(item.directive_id, []),
            timeout=0,
            as_subflow=True,
        )
        for item in due
    ]
    logger.info("Đã chuyển %d lượt đôn đốc cho các worker", len(runs))
    pending = {run.id for run in runs}
    failed = 0
    deadline = time.monotonic() + FAN_OUT_TIMEOUT_S
    with get_client(sync_client=True) as client:
        while pending and time.monotonic() < deadline:
            for run_id in list(pending):
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    pending.discard(run_id)
                    failed += int(not run.state.is_completed())
            if pending:
                time.sleep(1.0)
    return failed + len(pending)


@flow(name="sweep", persist_result=False)
def sweep(as_of: datetime | None = None, fan_out: bool = False) -> State:
    """Follow up the directives that are due at as_of, then deliver all due messages in one pass."""
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC)
    due = due_directives(as_of)
    labels = directive_tags([d.directive_id for d in due])
    failed = _fan_out(due, labels, as_of) if fan_out and due else _run_locally(due, labels, as_of)
    report = deliver_outbox(as_of)
    if due:
        publish_notice_summaries({d.notice_id: d.notice_number for d in due}, as_of)
    message = (
        f"{len(due)} mục đến lượt đôn đốc, {failed} lỗi; đã gửi {report.sent} tin nhắn ({report.digests} bản tổng hợp)"
    )
    if report.dead:
        publish_dead_letter_table()
        message += f"; {report.dead} tin nhắn không gửi được (xem: dondoc outbox list --state dead)"
    logger.info(message)
    return Completed(message=message, data={"followed_up": len(due), "failed": failed, "sent": report.sent})
