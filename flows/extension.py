"""Extension review: a request waits in the Prefect UI until a coordinator approves or rejects it."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import State
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Completed
from pydantic import Field

from domain.safe_text import markdown_text
from domain.workdays import format_date_vi, weekday_vi
from flows.forms import form_with_defaults
from models.db import session_scope
from tasks.extensions import record_extension_decision_task, tell_agency_task
from tasks.labels import assignment_label

REVIEW_TIMEOUT_S = 14 * 24 * 3600  # two weeks for a coordinator to decide


class ExtensionDecision(RunInput):
    """The form a coordinator fills in the Prefect UI."""

    approve: bool = Field(title="Đồng ý gia hạn?", description="Chọn để đồng ý; bỏ chọn để từ chối.")
    approver: str = Field(title="Người quyết định", min_length=1, description="Họ tên, chức vụ người phê duyệt.")
    note: str = Field(default="", title="Ghi chú", description="Lý do hoặc yêu cầu kèm theo (gửi cho cơ quan).")


def review_description(label: str, until: date, reason: str, requested_by: str) -> str:
    """The markdown a coordinator reads; the agency's own words are escaped, so they cannot pose as the form."""
    return (
        f"**Đề nghị gia hạn** — {markdown_text(label)}\n\n"
        f"- Hạn đề nghị mới: **{format_date_vi(until)} ({weekday_vi(until)})**\n"
        f"- Lý do: {markdown_text(reason)}\n- Người đề nghị: {markdown_text(requested_by)}\n\n"
        "Chọn «Đồng ý gia hạn?» để phê duyệt, hoặc bỏ chọn để từ chối, rồi bấm Resume."
    )


def _run_name() -> str:
    """Name the review after the assignment, e.g. "Gia hạn · 1061-TB/TU · 2.3 · Sở Tài chính"."""
    with session_scope(read_only=True) as session:
        return "Gia hạn · " + assignment_label(int(flow_run.parameters["assignment_id"]), session=session)


@flow(name="review-extension", flow_run_name=_run_name, persist_result=False)
def review_extension(
    assignment_id: int, until: date, reason: str, requested_by: str, request_id: int | None = None
) -> State:
    """Wait for a coordinator's decision on an extension request, then apply it and tell the agency."""
    logger = get_run_logger()
    with session_scope(read_only=True) as session:
        label = assignment_label(assignment_id, session=session)
    description = review_description(label, until, reason, requested_by)
    create_markdown_artifact(markdown=description, key=None, description="Đề nghị gia hạn chờ phê duyệt")
    logger.info("Chờ phê duyệt đề nghị gia hạn: %s đến %s", label, format_date_vi(until))
    form = form_with_defaults(ExtensionDecision, description, approve=True, approver="")
    decision = pause_flow_run(wait_for_input=form, timeout=REVIEW_TIMEOUT_S, poll_interval=2)
    outcome = record_extension_decision_task(
        assignment_id,
        until,
        reason,
        requested_by,
        approve=decision.approve,
        decided_by=decision.approver,
        note=decision.note,
        request_id=request_id,
    )
    # The next sweep delivers it (within its window, in the agency's digest) and re-plans the reminders.
    tell_agency_task(
        assignment_id, outcome, until, decided_by=decision.approver, note=decision.note, run_id=str(flow_run.id)
    )
    verdict = "Đã đồng ý" if decision.approve else "Đã từ chối"
    return Completed(message=f"{verdict} gia hạn đến {format_date_vi(until)} ({decision.approver})")
