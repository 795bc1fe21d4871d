"""Extension requests (đề nghị gia hạn): check, record as pending, start the review run; apply or reject it.

At most one request per assignment is pending, and the database enforces it (a partial unique
index on extension_request): two requests racing for one assignment cannot both be recorded, and
only a recorded request starts a review run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.workdays import format_date_vi
from models import Assignment, AssignmentStatus, AuditEvent, DeadlineChange, ExtensionRequest, ExtensionRequestState
from models.db import session_scope
from models.types import utcnow
from tasks.outbox_writer import enqueue_for_assignment
from tasks.retries import IO_RETRIES
from tasks.rules import load_follow_up_rules
from tasks.status_events import prefect_api_available
from tasks.status_recording import (
    REPORTED_BY_MAX,
    AssignmentNotFound,
    StatusChangeRefused,
    StatusConflict,
    check_text,
    mark_directive_due,
)

REVIEW_DEPLOYMENT = "review-extension/review-extension"
REASON_MAX = 1000
# An extension may ask for at most this much more time at once.
EXTENSION_MAX = timedelta(days=366)
# A request nobody decided within the review's own timeout (flows/extension.py) no longer blocks a new one.
REQUEST_PENDING_FOR = timedelta(days=15)
PENDING = ExtensionRequestState.pending


class ExtensionUnavailable(RuntimeError):
    """The extension review flow cannot be started (no Prefect API, or the deployment is not served)."""


@dataclass(frozen=True)
class ExtensionRequested:
    """A started extension review."""

    assignment_id: int
    until: date
    run_id: str
    run_name: str
    request_id: int = 0


StartReview = Callable[[dict[str, Any]], tuple[str, str]]


def start_review_run(parameters: dict[str, Any]) -> tuple[str, str]:
    """Start the served review-extension deployment without waiting; return the run's id and name."""
    if not prefect_api_available():
        raise ExtensionUnavailable(
            "chưa kết nối máy chủ Prefect (đặt PREFECT_API_URL), nên chưa gửi được đề nghị gia hạn"
        )
    try:
        run = run_deployment(REVIEW_DEPLOYMENT, parameters=parameters, timeout=0)
        assert isinstance(run, FlowRun)  # called from sync code, run_deployment returns the run, not a coroutine
    except ObjectNotFound:
        raise ExtensionUnavailable(
            "quy trình xét gia hạn chưa được phục vụ (chạy: dondoc serve), nên chưa gửi được đề nghị"
        ) from None
    return str(run.id), run.name


def _expire_stale(assignment_id: int, *, session: Session) -> None:
    """A request left undecided past the review's timeout stops blocking new ones."""
    session.exec(
        update(ExtensionRequest)
        .where(col(ExtensionRequest.assignment_id) == assignment_id, col(ExtensionRequest.state) == PENDING)
        .where(col(ExtensionRequest.created_at) < utcnow() - REQUEST_PENDING_FOR)
        .values(state=ExtensionRequestState.expired)
    )


def _pending_row(assignment_id: int, *, session: Session) -> ExtensionRequest | None:
    """The request of the assignment waiting for a decision, if it has not timed out."""
    return session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.assignment_id == assignment_id,
            ExtensionRequest.state == PENDING,
            col(ExtensionRequest.created_at) >= utcnow() - REQUEST_PENDING_FOR,
        )
    ).first()


def pending_extension(assignment_id: int, *, session: Session) -> dict[str, Any] | None:
    """The extension request waiting for a decision: until, reason, requested_by, run_id, run_name, at."""
    row = _pending_row(assignment_id, session=session)
    if row is None:
        return None
    return {
        "until": row.until.isoformat(),
        "reason": row.reason,
        "requested_by": row.requested_by,
        "run_id": row.run_id,
        "run_name": row.run_name,
        "at": row.created_at,
    }


def _waiting_message(until: date) -> str:
    """The refusal a second request gets while one is pending."""
    return f"đã có đề nghị gia hạn đến {format_date_vi(until)} đang chờ phê duyệt"


def check_extension_request(
    assignment_id: int, *, session: Session, until: date, reason: str, agency_id: int | None = None
) -> Assignment:
    """Refuse a request the review could only reject: closed work, no deadline, an earlier date, a pending request."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or (agency_id is not None and assignment.agency_id != agency_id):
        raise AssignmentNotFound(f"không có việc số {assignment_id}")
    if assignment.status in (AssignmentStatus.done, AssignmentStatus.withdrawn):
        raise StatusConflict(f"việc số {assignment_id} đã kết thúc, không gia hạn được")
    if assignment.due_date is None:
        raise StatusChangeRefused("việc thường xuyên không có hạn để gia hạn")
    if until <= assignment.due_date:
        raise StatusChangeRefused(
            f"hạn mới {format_date_vi(until)} phải sau hạn hiện tại {format_date_vi(assignment.due_date)}"
        )
    if until > assignment.due_date + EXTENSION_MAX:
        raise StatusChangeRefused("hạn mới không được quá một năm sau hạn hiện tại")
    if not reason.strip():
        raise StatusChangeRefused("cần nêu lý do đề nghị gia hạn")
    if len(reason) > REASON_MAX:
        raise StatusChangeRefused(f"lý do dài quá {REASON_MAX} ký tự")
    check_text(reason, "lý do")
    waiting = _pending_row(assignment_id, session=session)
    if waiting is not None:
        raise StatusConflict(_waiting_message(waiting.until))
    return assignment


def _reserve(
    assignment_id: int, *, session: Session, until: date, reason: str, requested_by: str, agency_id: int | None
) -> int:
    """Check the request and record it as pending (the unique index refuses a second one); return its id."""
    _expire_stale(assignment_id, session=session)
    check_extension_request(assignment_id, session=session, until=until, reason=reason, agency_id=agency_id)
    row = ExtensionRequest(assignment_id=assignment_id, until=until, reason=reason, requested_by=requested_by)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another request for this assignment committed between our check and our insert.
        waiting = _pending_row(assignment_id, session=session)
        raise StatusConflict(_waiting_message(waiting.until if waiting else until)) from None
    assert row.id is not None  # flushed by the savepoint
    return row.id


def request_extension(
    assignment_id: int,
    *,
    session: Session,
    until: date,
    reason: str,
    requested_by: str,
    agency_id: int | None = None,
    start: StartReview | None = None,
) -> ExtensionRequested:
    """Check an extension request, record it as pending, start the review flow, and audit the request.

    The one way to ask for more time: `dondoc extension request`, the web form and the API all call it.
    It commits the session twice: once the pending request is recorded (so a concurrent request sees
    it, and no transaction is open while the review run starts), and after the run is attached. A run
    that cannot start leaves the request abandoned, never pending. Times are wall-clock, like the
    review's decision: the review waits in real time, whatever clock the caller simulates.
    """
    reason = reason.strip()
    check_text(requested_by, "người đề nghị")
    if not requested_by.strip() or len(requested_by) > REPORTED_BY_MAX:
        raise StatusChangeRefused(f"người đề nghị phải có tên, tối đa {REPORTED_BY_MAX} ký tự")
    request_id = _reserve(
        assignment_id, session=session, until=until, reason=reason, requested_by=requested_by, agency_id=agency_id
    )
    session.commit()
    parameters = {
        "assignment_id": assignment_id,
        "until": until.isoformat(),
        "reason": reason,
        "requested_by": requested_by,
        "request_id": request_id,
    }
    try:
        run_id, run_name = (start or start_review_run)(parameters)
    except BaseException:
        _set_state(request_id, ExtensionRequestState.abandoned, session=session)
        session.commit()
        raise
    row = session.get(ExtensionRequest, request_id)
    assert row is not None  # recorded above
    row.run_id, row.run_name = run_id, run_name
    session.add(
        AuditEvent(
            at=utcnow(),
            actor=requested_by,
            action="assignment.extension_requested",
            entity_type="assignment",
            entity_id=assignment_id,
            details={
                "until": until.isoformat(),
                "reason": reason,
                "run_id": run_id,
                "run_name": run_name,
                "request_id": request_id,
            },
        )
    )
    session.commit()
    return ExtensionRequested(assignment_id, until, run_id, run_name, request_id)


def _set_state(
    request_id: int,
    state: ExtensionRequestState,
    *,
    session: Session,
    by: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move a pending request to its outcome (a decided one stays as decided)."""
    session.exec(
        update(ExtensionRequest)
        .where(col(ExtensionRequest.id) == request_id, col(ExtensionRequest.state) == PENDING)
        .values(state=state, decided_by=by, decided_at=at)
    )


def _close_request(
    assignment_id: int, request_id: int | None, state: ExtensionRequestState, *, session: Session, by: str, at: datetime
) -> None:
    """Record the decision on its request (or, without an id, on the assignment's pending request)."""
    if request_id is None:
        pending = _pending_row(assignment_id, session=session)
        if pending is None or pending.id is None:
            return
        request_id = pending.id
    _set_state(request_id, state, session=session, by=by, at=at)


def apply_extension(
    assignment_id: int,
    *,
    session: Session,
    until: date,
    reason: str,
    requested_by: str,
    approved_by: str,
    at: datetime | None = None,
    request_id: int | None = None,
) -> int:
    """Record an approved extension (gia hạn): a new deadline history entry; reminders re-plan from it."""
    at = at or utcnow()
    assignment = session.get(Assignment, assignment_id, with_for_update=True)
    if assignment is None:
        raise StatusChangeRefused(f"không có việc số {assignment_id}")
    if assignment.status in (AssignmentStatus.done, AssignmentStatus.withdrawn):
        raise StatusChangeRefused(f"việc số {assignment_id} đã kết thúc, không gia hạn được")
    if assignment.due_date is None:
        raise StatusChangeRefused("việc thường xuyên không có hạn để gia hạn")
    if until <= assignment.due_date:
        raise StatusChangeRefused(
            f"hạn mới {format_date_vi(until)} phải sau hạn hiện tại {format_date_vi(assignment.due_date)}"
        )
    change = DeadlineChange(
        assignment_id=assignment_id,
        kind="extension",
        due_date=until,
        reason=reason,
        requested_by=requested_by,
        approved_by=approved_by,
        created_at=at,
    )
    session.add(change)
    previous = assignment.due_date
    assignment.due_date = until
    assignment.updated_at = utcnow()
    session.flush()
    session.add(
        AuditEvent(
            at=at,
            actor=approved_by,
            action="assignment.extended",
            entity_type="assignment",
            entity_id=assignment_id,
            details={
                "from": previous.isoformat(),
                "to": until.isoformat(),
                "reason": reason,
                "requested_by": requested_by,
            },
        )
    )
    _close_request(assignment_id, request_id, ExtensionRequestState.approved, session=session, by=approved_by, at=at)
    mark_directive_due(assignment.directive_id, at, session=session)
    assert change.id is not None  # flushed above
    return change.id


def record_extension_rejection(
    assignment_id: int,
    *,
    session: Session,
    until: date,
    reason: str,
    requested_by: str,
    rejected_by: str,
    note: str,
    at: datetime | None = None,
    request_id: int | None = None,
) -> None:
    """Audit a rejected extension request; the deadline stays."""
    at = at or utcnow()
    session.add(
        AuditEvent(
            at=at,
            actor=rejected_by,
            action="assignment.extension_rejected",
            entity_type="assignment",
            entity_id=assignment_id,
            details={
                "requested_until": until.isoformat(),
                "reason": reason,
                "requested_by": requested_by,
                "note": note,
            },
        )
    )
    _close_request(assignment_id, request_id, ExtensionRequestState.rejected, session=session, by=rejected_by, at=at)


# --- Prefect tasks for the review flow ------------------------------------------------------------


@task(name="Ghi quyết định gia hạn", cache_policy=NONE, **IO_RETRIES)
def record_extension_decision_task(
    assignment_id: int,
    until: date,
    reason: str,
    requested_by: str,
    *,
    approve: bool,
    decided_by: str,
    note: str,
    request_id: int | None = None,
) -> str:
    """Apply an approval to the deadline history, or audit a rejection; return the outcome kind."""
    with session_scope() as session:
        if approve:
            apply_extension(
                assignment_id,
                session=session,
                until=until,
                reason=reason,
                requested_by=requested_by,
                approved_by=decided_by,
                request_id=request_id,
            )
            return "extension_approved"
        record_extension_rejection(
            assignment_id,
            session=session,
            until=until,
            reason=reason,
            requested_by=requested_by,
            rejected_by=decided_by,
            note=note,
            request_id=request_id,
        )
        return "extension_rejected"


@task(name="Báo quyết định cho cơ quan", cache_policy=NONE, **IO_RETRIES)
def tell_agency_task(assignment_id: int, kind: str, until: date, *, decided_by: str, note: str, run_id: str) -> int:
    """Queue the decision for the agency that asked (the next sweep delivers it, in the agency's digest)."""
    extra = {
        "decision_note": note,
        "approver": decided_by,
        "requested_until": until.isoformat(),
        "requested_until_vi": format_date_vi(until),
    }
    rules = load_follow_up_rules()
    with session_scope() as session:
        return enqueue_for_assignment(
            assignment_id, kind, f"extension|{run_id}", extra, utcnow(), session=session, rules=rules
        )
