"""One flow run per directive follow-up: an idempotent reconcile at a given time."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.states import Completed, State

from models.db import session_scope
from tasks import polling
from tasks.artifacts import publish_artifacts
from tasks.delivery import deliver_outbox
from tasks.directive_state import load_directive_state
from tasks.labels import directive_label
from tasks.outbox_writer import record_outbox
from tasks.planning import plan_follow_up


# No Prefect retries: a source that is down is retried later by its own backoff, and never fails the run.
@task(name="Lấy trạng thái từ nguồn ngoài", cache_policy=NONE)
def poll_status_sources(directive_id: int) -> int:
    """Poll the status sources of the directive's agencies (config/status_sources.yaml); return new updates."""
    logger = get_run_logger()
    try:
        report = polling.poll_for_directive(directive_id)
    except Exception as exc:  # noqa: BLE001  (e.g. the database is briefly unreachable: the follow-up goes on)
        logger.warning("Không lấy được trạng thái từ nguồn ngoài: %s", type(exc).__name__)
        return 0
    if report.config_error:
        logger.error("Tệp status_sources.yaml không hợp lệ, không lấy nguồn nào: %s", report.config_error)
    for outcome in report.outcomes:
        if outcome.state == "failed":
            logger.warning(outcome.line())
        elif outcome.state == "ok":
            logger.info(outcome.line())
            for problem in outcome.problems:
                logger.warning("Nguồn %s: bị từ chối: %s", outcome.source, problem)
    return report.recorded


def _run_name() -> str:
    """Name a run after its notice and directive, e.g. "1061-TB/TU · 2.3"."""
    with session_scope(read_only=True) as session:
        return directive_label(int(flow_run.parameters["directive_id"]), session=session)


@flow(name="follow-up-directive", flow_run_name=_run_name, persist_result=False)
def follow_up_directive(directive_id: int, as_of: datetime | None = None, deliver: bool = True) -> State:
    """Follow one directive up at as_of: poll status sources, classify, plan, write the outbox, deliver, publish.

    Running it twice at the same as_of sends nothing new. A sweep passes deliver=False and
    delivers once for all directives, so each recipient gets one digest instead of many messages.
    """
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC)
    poll_status_sources(directive_id)  # before reading: what the sources report counts in this run
    state = load_directive_state(directive_id, as_of)
    planned = plan_follow_up(state, as_of)
    written = record_outbox(state, planned, as_of)
    delivered = deliver_outbox(as_of, directive_id=directive_id) if deliver else None
    summary = publish_artifacts(state, planned, as_of, with_notice=deliver)
    logger.info("Mục %s: %s; %d tin nhắn mới vào hộp thư đi", state.directive_number, summary, written)
    message = f"{summary}; {written} tin nhắn mới"
    if delivered is not None:
        message += f", đã gửi {delivered.sent}"
    return Completed(message=message, data={"written": written, "next_action_at": planned.next_action_at})
