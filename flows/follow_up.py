"""One flow run per directive follow-up: an idempotent reconcile at a given time."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.context import TagsContext
from prefect.runtime import flow_run
from prefect.states import Completed

from models.db import session_scope
from tasks.artifacts import publish_artifacts
from tasks.delivery import deliver_outbox
from tasks.follow_up_steps import reconcile_directive
from tasks.labels import directive_label, tag_run


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
    # The run's tags (notice, directive, agencies) stay on the flow run, where coordinators filter: a task
    # run that inherited them would take a tag-concurrency lease, one more API call per task (bench/README.md).
    # Two task runs in a sweep (three standalone), whatever the number of assignments: each costs the server
    # events to record, so poll, read, plan and write run as one (tasks/follow_up_steps.py).
    with TagsContext(current_tags=set()):
        done = reconcile_directive(directive_id, as_of)
        state, planned, written = done.state, done.planned, done.written
        delivered = deliver_outbox(as_of, directive_id=directive_id) if deliver else None
        summary = publish_artifacts(state, planned, as_of, with_notice=deliver)
    situation = planned.situation
    tag_run(situation.tag)
    logger.info(
        "Mục %s: %s — %s; %d tin nhắn mới vào hộp thư đi", state.directive_number, situation.message, summary, written
    )
    message = f"{situation.message} — {summary}; {written} tin nhắn mới"
    if delivered is not None:
        message += f", đã gửi {delivered.sent}"
    # The state's name is what the Runs page shows: "Quá hạn", "Sắp đến hạn" or "Đúng tiến độ".
    return Completed(
        name=situation.situation.value,
        message=message,
        data={"written": written, "next_action_at": planned.next_action_at, "situation": situation.situation.name},
    )
