"""Extension review: a request waits in the Prefect UI until a coordinator approves or rejects it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Completed, State
from pydantic import Field

from domain.workdays import format_date_vi, weekday_vi
from models.db import session_scope
from tasks import status
from tasks.labels import assignment_label
from tasks.outbox_writer import enqueue_for_assignment
from tasks.retries import IO_RETRIES
from tasks.rules import load_follow_up_rules

REVIEW_TIMEOUT_S = 14 * 24 * 3600  # two weeks for a coordinator to decide


class ExtensionDecision(RunInput):
    """The form a coordinator fills in the Prefect UI."""

    approve: bool = Field(title="Đồng ý gia hạn?", description="Chọn để đồng ý; bỏ chọn để từ chối.")
    approver: str = Field(title="Người quyết định", min_length=1, description="Họ tên, chức vụ người phê duyệt.")
    note: str = Field(default="", title="Ghi chú", description="Lý do hoặc yêu cầu kèm theo (gửi cho cơ quan).")


@task(name="Ghi quyết định gia hạn", cache_policy=NONE, **IO_RETRIES)
def record_decision(
    assignment_id: int, until: date, reason: str, requested_by: str, decision: ExtensionDecision
) -> str:
    """Apply an approval to the deadline history, or audit a rejection; return the outcome kind."""
    if decision.approve:
        status.apply_extension(
            assignment_id, until=until, reason=reason, requested_by=requested_by, approved_by=decision.approver
        )
        return "extension_approved"
    status.record_extension_rejection(
        assignment_id,
        until=until,
        reason=reason,
        requested_by=requested_by,
        rejected_by=decision.approver,
        note=decision.note,
    )
    return "extension_rejected"


@task(name="Báo quyết định cho cơ quan", cache_policy=NONE, **IO_RETRIES)
def tell_agency(assignment_id: int, kind: str, until: date, decision: ExtensionDecision, run_id: str) -> int:
    """Queue the decision for the agency that asked."""
    extra = {
        "decision_note": decision.note,
        "approver": decision.approver,
        "requested_until": until.isoformat(),
        "requested_until_vi": format_date_vi(until),
    }
    rules = load_follow_up_rules()
    with session_scope() as session:
        return enqueue_for_assignment(
            assignment_id, kind, f"extension|{run_id}", extra, datetime.now(UTC), session=session, rules=rules
        )


def _run_name() -> str:
    """Name the review after the assignment, e.g. "Gia hạn · 1061-TB/TU · 2.3 · Sở Tài chính"."""
    with session_scope(read_only=True) as session:
        return "Gia hạn · " + assignment_label(int(flow_run.parameters["assignment_id"]), session=session)


@flow(name="review-extension", flow_run_name=_run_name, persist_result=False)
def review_extension(assignment_id: int, until: date, reason: str, requested_by: str) -> State:
    """Wait for a coordinator's decision on an extension request, then apply it and tell the agency."""
    logger = get_run_logger()
    with session_scope(read_only=True) as session:
        label = assignment_label(assignment_id, session=session)
    description = (
        f"**Đề nghị gia hạn** — {label}\n\n"
        f"- Hạn đề nghị mới: **{format_date_vi(until)} ({weekday_vi(until)})**\n"
        f"- Lý do: {reason}\n- Người đề nghị: {requested_by}\n\n"
        "Chọn «Đồng ý gia hạn?» để phê duyệt, hoặc bỏ chọn để từ chối, rồi bấm Resume."
    )
    create_markdown_artifact(markdown=description, key=None, description="Đề nghị gia hạn chờ phê duyệt")
    logger.info("Chờ phê duyệt đề nghị gia hạn: %s đến %s", label, format_date_vi(until))
    form = ExtensionDecision.with_initial_data(description=description, approve=True, approver="")
    decision = pause_flow_run(wait_for_input=form, timeout=REVIEW_TIMEOUT_S, poll_interval=2)
    outcome = record_decision(assignment_id, until, reason, requested_by, decision)
    # The next sweep delivers it (within its window, in the agency's digest) and re-plans the reminders.
    tell_agency(assignment_id, outcome, until, decision, str(flow_run.id))
    verdict = "Đã đồng ý" if decision.approve else "Đã từ chối"
    return Completed(message=f"{verdict} gia hạn đến {format_date_vi(until)} ({decision.approver})")
