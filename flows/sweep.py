"""The scheduled sweep: follow up only the directives whose next action is due, then deliver once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from prefect import flow, get_run_logger, tags, task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import FlowRun, State
from prefect.deployments import run_deployment
from prefect.exceptions import FlowRunWaitTimeout
from prefect.flow_runs import wait_for_flow_run
from prefect.runtime import flow_run
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.asyncutils import run_coro_as_sync

from domain.situation import Situation
from domain.workdays import VN_TZ, format_date_vi
from flows.follow_up import follow_up_directive
from tasks.artifacts import publish_notice_summaries, run_link
from tasks.delivery import deliver_outbox
from tasks.due_directives import DueDirective, directive_tags, due_directives, publish_dead_letter_table
from tasks.province_summary import publish_province_summary
from tasks.retries import is_transient

FOLLOW_UP_DEPLOYMENT = "follow-up-directive/follow-up-directive"
FAN_OUT_TIMEOUT_S = 3600
# Follow-ups at once in one process. One by default: on the embedded SQLite Prefect server concurrent
# follow-ups only wait for its single writer (two at once: 54 s per 100 instead of 32 s, seven times the
# busy-database 503s). With a PostgreSQL-backed server pass threads=4: 1,000 follow-ups took 207 s instead
# of 328 s one at a time on SQLite (bench/README.md).
FOLLOW_UP_THREADS = 1
# Waits before starting again a follow-up whose start met a busy API (the client has already retried its calls).
START_RETRY_DELAYS_S = (5, 30)


@contextmanager
def local_subflows() -> Iterator[None]:
    """Run subflows without flow heartbeats.

    An in-process subflow lives and dies with its parent, so a crash already shows on the parent,
    and the heartbeat thread costs about 0.9 s per run on exit (bench/README.md). Runs on workers keep
    their heartbeats: a worker can die on its own, and the heartbeat is how Prefect notices.
    """
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@dataclass(frozen=True)
class FollowUpOutcome:
    """How one directive's follow-up ended, as the sweep needs it (small: a sweep holds one per directive)."""

    completed: bool
    situation: str | None  # the state's name: "Quá hạn", "Sắp đến hạn" or "Đúng tiến độ"
    flow_run_id: str | None

    @classmethod
    def of(cls, state: State | None) -> FollowUpOutcome:
        """The outcome of a final state (None: the run never finished)."""
        if state is None:
            return cls(False, None, None)
        run_id = state.state_details.flow_run_id
        return cls(state.is_completed(), state.name, str(run_id) if run_id else None)


def _server_busy(error: BaseException) -> bool:
    """Whether a follow-up could not start because the API was busy (5xx) or a transient error occurred."""
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500
    return is_transient(error)


def _follow_up_here(directive_id: int, labels: list[str], as_of: datetime) -> FollowUpOutcome:
    """Follow one directive up as a subflow of the sweep itself; retry a start that met a busy API (never raises)."""
    for attempt in range(1, len(START_RETRY_DELAYS_S) + 2):
        try:
            with tags(*labels):
                return FollowUpOutcome.of(follow_up_directive(directive_id, as_of, deliver=False, return_state=True))
        except Exception as exc:  # noqa: BLE001 - one directive that cannot start must not stop the sweep
            if attempt > len(START_RETRY_DELAYS_S) or not _server_busy(exc):
                get_run_logger().error("Không bắt đầu được lượt đôn đốc mục %s: %s", directive_id, exc)
                return FollowUpOutcome(False, None, None)
            time.sleep(START_RETRY_DELAYS_S[attempt - 1])
    return FollowUpOutcome(False, None, None)


# Runs the subflow from a worker thread of the sweep's task runner. Prefect gives a subflow called from a
# task a unique stand-in key; subflows started from plain threads would share the parent's key counter.
# A start that met a busy API is retried inside, by the same rule as one at a time.
@task(name="Đôn đốc một mục", cache_policy=NONE)
def _follow_up_in_thread(directive_id: int, labels: list[str], as_of: datetime) -> FollowUpOutcome:
    """Follow one directive up as a subflow with its tags; return how it ended (never raises)."""
    return _follow_up_here(directive_id, labels, as_of)


def _run_locally(
    due: list[DueDirective], labels: dict[int, list[str]], as_of: datetime, threads: int
) -> dict[int, FollowUpOutcome]:
    """Run each follow-up as a subflow in this process, `threads` at a time; return how each ended.

    A follow-up spends most of its time waiting for the Prefect API and the database, so a few run
    at once; each is still its own flow run with its own tasks, artifacts and state.
    """
    outcomes: dict[int, FollowUpOutcome] = {}
    if threads <= 1:
        # One at a time, straight from the sweep: a task around each subflow cost the server a task run
        # whose events it records just as the next subflow's stand-in is created, about 0.3 s per
        # follow-up on the SQLite server (bench/README.md).
        with local_subflows():
            for item in due:
                outcomes[item.directive_id] = _follow_up_here(
                    item.directive_id, labels.get(item.directive_id, []), as_of
                )
        return outcomes
    runner: ThreadPoolTaskRunner[FollowUpOutcome] = ThreadPoolTaskRunner(max_workers=threads)
    with local_subflows(), runner:
        futures = {
            item.directive_id: runner.submit(
                _follow_up_in_thread,
                {"directive_id": item.directive_id, "labels": labels.get(item.directive_id, []), "as_of": as_of},
            )
            for item in due
        }
        for directive_id, future in futures.items():
            future.wait()
            outcomes[directive_id] = (
                future.result() if future.state.is_completed() else FollowUpOutcome(False, None, None)
            )
    return outcomes


async def _wait_all(runs: list[FlowRun], timeout_s: int) -> list[FlowRun | None]:
    """Wait for every run through Prefect's own event-driven waiting; None for a run that timed out."""

    async def wait_one(run: FlowRun) -> FlowRun | None:
        try:
            return await wait_for_flow_run(run.id, timeout=timeout_s)
        except FlowRunWaitTimeout:
            return None

    return list(await asyncio.gather(*(wait_one(run) for run in runs)))


def _fan_out(due: list[DueDirective], labels: dict[int, list[str]], as_of: datetime) -> dict[int, FollowUpOutcome]:
    """Submit each follow-up to the work pool through its deployment, wait for all; return their final states."""
    logger = get_run_logger()
    parent = flow_run.get_id() or "local"
    runs: list[FlowRun] = [
        run_deployment(  # type: ignore[misc]  # sync call in a sync flow: Prefect returns the FlowRun, not a coroutine
            FOLLOW_UP_DEPLOYMENT,
            parameters={"directive_id": item.directive_id, "as_of": as_of.isoformat(), "deliver": False},
            tags=labels.get(item.directive_id, []),
            timeout=0,
            as_subflow=True,
            # A retried sweep run asks again for the same runs: Prefect returns them instead of new ones.
            idempotency_key=f"sweep-{parent}-{item.directive_id}-{as_of.isoformat()}",
        )
        for item in due
    ]
    logger.info("Đã chuyển %d lượt đôn đốc cho các worker", len(runs))
    finished: list[FlowRun | None] = run_coro_as_sync(_wait_all(runs, FAN_OUT_TIMEOUT_S)) or []
    return {
        item.directive_id: FollowUpOutcome.of(run.state if run else None)
        for item, run in zip(due, finished, strict=True)
    }


def _sweep_name() -> str:
    """Name a sweep run by the moment it looks at, e.g. "Quét 13/09/2022 08:00"."""
    as_of: Any = flow_run.parameters.get("as_of")
    moment = datetime.fromisoformat(as_of) if isinstance(as_of, str) else as_of or datetime.now(UTC)
    local = moment.astimezone(VN_TZ)
    return f"Quét {format_date_vi(local.date())} {local:%H:%M}"


@flow(name="sweep", flow_run_name=_sweep_name, persist_result=False)
def sweep(as_of: datetime | None = None, fan_out: bool = False, threads: int = FOLLOW_UP_THREADS) -> State:
    """Follow up the directives that are due at as_of (threads at a time locally), then deliver all due messages."""
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC)
    due = due_directives(as_of)
    labels = directive_tags([d.directive_id for d in due])
    outcomes = _fan_out(due, labels, as_of) if fan_out and due else _run_locally(due, labels, as_of, threads)
    failed = sum(1 for outcome in outcomes.values() if not outcome.completed)
    late = sum(1 for outcome in outcomes.values() if outcome.situation == Situation.overdue.value)
    report = deliver_outbox(as_of)
    links = {
        directive_id: link for directive_id, outcome in outcomes.items() if (link := run_link(outcome.flow_run_id))
    }
    if due:
        publish_notice_summaries({d.notice_id: d.notice_number for d in due}, as_of, links)
    overdue = publish_province_summary(as_of, links)
    message = (
        f"{len(due)} mục đến lượt đôn đốc ({late} mục có việc quá hạn), {failed} lỗi; "
        f"đã gửi {report.sent} tin nhắn ({report.digests} bản tổng hợp); toàn tỉnh {overdue} việc quá hạn"
    )
    if report.dead:
        publish_dead_letter_table()
        message += f"; {report.dead} tin nhắn không gửi được (xem: dondoc outbox list --state dead)"
    logger.info(message)
    return Completed(message=message, data={"followed_up": len(due), "failed": failed, "sent": report.sent})
