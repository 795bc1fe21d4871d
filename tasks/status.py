"""Status changes: progress reports and approved extensions, each audited and marking the directive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session

from domain.workdays import format_date_vi
from models import Assignment, AssignmentStatus, AuditEvent, DeadlineChange, Directive, StatusUpdate, get_engine
from models.types import utcnow

STATUS_VALUES = {s.value for s in AssignmentStatus} - {"withdrawn"}


class StatusChangeRefused(ValueError):
    """A status change that cannot be applied; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class RecordedUpdate:
    """What a status update changed."""

    update_id: int
    assignment_id: int
    directive_id: int
    status: str


def mark_directive_due(session: Session, directive_id: int, at: datetime) -> None:
    """Make the sweep pick the directive up at its next run: next_action_at becomes at, if sooner."""
    session.exec(
        update(Directive)  # type: ignore[call-overload]
        .where(Directive.id == directive_id)
        .where((Directive.next_action_at.is_(None)) | (Directive.next_action_at > at))  # type: ignore[union-attr,operator]
        .values(next_action_at=at)
    )


def record_status_update(
    assignment_id: int, *, status: str, reported_by: str, source: str, percent: int | None = None,
    note: str | None = None, document_number: str | None = None, evidence_url: str | None = None,
    at: datetime | None = None,
) -> RecordedUpdate:
    """Append a progress report, move the assignment's status, audit it and mark the directive."""
    at = at or utcnow()
    if status not in STATUS_VALUES:
        raise StatusChangeRefused(f"trạng thái không hợp lệ: «{status}» (chọn: {', '.join(sorted(STATUS_VALUES))})")
    if percent is not None and not 0 <= percent <= 100:
        raise StatusChangeRefused(f"tỷ lệ hoàn thành phải từ 0 đến 100, nhận được {percent}")
    with Session(get_engine()) as session, session.begin():
        assignment = session.get(Assignment, assignment_id, with_for_update=True)
        if assignment is None:
            raise StatusChangeRefused(f"không có việc số {assignment_id}")
        if assignment.status == AssignmentStatus.withdrawn:
            raise StatusChangeRefused(f"việc số {assignment_id} đã được thu hồi, không nhận báo cáo")
        previous = assignment.status
        if status == AssignmentStatus.done:
            percent = 100
            assignment.completed_at = at
        elif previous == AssignmentStatus.done:
            assignment.completed_at = None  # reopened: the earlier completion no longer counts
        if status != AssignmentStatus.assigned and assignment.acknowledged_at is None:
            assignment.acknowledged_at = at
        assignment.status = status
        if percent is not None:
            assignment.percent = percent
        assignment.updated_at = utcnow()
        row = StatusUpdate(
            assignment_id=assignment_id, reported_at=at, reported_by=reported_by, source=source, status=status,
            percent=percent, note=note, document_number=document_number, evidence_url=evidence_url,
        )
        session.add(row)
        session.flush()
        session.add(AuditEvent(
            at=at, actor=reported_by, action="assignment.status", entity_type="assignment", entity_id=assignment_id,
            details={"from": previous, "to": status, "percent": percent, "document_number": document_number, "source": source},
        ))
        mark_directive_due(session, assignment.directive_id, at)
        return RecordedUpdate(row.id, assignment_id, assignment.directive_id, status)  # type: ignore[arg-type]


def apply_extension(
    assignment_id: int, *, until: date, reason: str, requested_by: str, approved_by: str, at: datetime | None = None
) -> int:
    """Record an approved extension (gia hạn): a new deadline history entry; reminders re-plan from it."""
    at = at or utcnow()
    with Session(get_engine()) as session, session.begin():
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
            assignment_id=assignment_id, kind="extension", due_date=until, reason=reason,
            requested_by=requested_by, approved_by=approved_by, created_at=at,
        )
        session.add(change)
        previous = assignment.due_date
        assignment.due_date = until
        assignment.updated_at = utcnow()
        session.flush()
        session.add(AuditEvent(
            at=at, actor=approved_by, action="assignment.extended", entity_type="assignment", entity_id=assignment_id,
            details={"from": previous.isoformat(), "to": until.isoformat(), "reason": reason, "requested_by": requested_by},
        ))
        mark_directive_due(session, assignment.directive_id, at)
        return change.id  # type: ignore[return-value]


def record_extension_rejection(assignment_id: int, *, until: date, reason: str, requested_by: str, rejected_by: str,
                               note: str, at: datetime | None = None) -> None:
    """Audit a rejected extension request; the deadline stays."""
    with Session(get_engine()) as session, session.begin():
        session.add(AuditEvent(
            at=at or utcnow(), actor=rejected_by, action="assignment.extension_rejected", entity_type="assignment",
            entity_id=assignment_id,
            details={"requested_until": until.isoformat(), "reason": reason, "requested_by": requested_by, "note": note},
        ))
