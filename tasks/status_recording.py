"""Recording a status change: validate it, append the report, move the assignment, audit it, mark the directive.

Every path that changes an assignment's status (the CLI, the web form behind a signed link, the
agency API, spreadsheets, polled sources) calls `record_status_update` inside the caller's
transaction; the Prefect event `dondoc.assignment.updated` follows when that transaction commits.

Timeliness rests on when dondoc received a report (`at`, the caller's clock), never on the date a
report declares for itself (`declared_at`): that one is kept and shown, and an implausible one is
refused (before the notice was issued) or flagged for a coordinator (far earlier than its receipt).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from domain.text import ascii_slug
from domain.workdays import VN_TZ, format_date_vi
from models import Agency, Assignment, AssignmentStatus, AuditEvent, Directive, Notice, StatusUpdate
from models.types import utcnow
from tasks.status_events import RecordedUpdate, announce_after_commit

STATUS_VALUES = {s.value for s in AssignmentStatus} - {"withdrawn"}
# Longest texts a report may carry (the columns allow these; longer text is refused, not cut).
NOTE_MAX = 2000
DOCUMENT_NUMBER_MAX = 128
EVIDENCE_URL_MAX = 2048
REPORTED_BY_MAX = 255
# A declared date this much earlier than the report's receipt is flagged for a coordinator (see README).
DECLARED_DATE_MAX_LAG = timedelta(days=30)
FLAG_ACTION = "assignment.declared_date_flagged"


class StatusChangeRefused(ValueError):
    """A status change that cannot be applied; the message says why, in Vietnamese."""


class AssignmentNotFound(StatusChangeRefused):
    """No such assignment, or not the caller's: both read the same, so nobody learns what exists."""


class StatusConflict(StatusChangeRefused):
    """The assignment's state does not allow it now (withdrawn, finished, a request already waiting)."""


def mark_directive_due(directive_id: int, at: datetime, *, session: Session) -> None:
    """Make the sweep pick the directive up at its next run: next_action_at becomes at, if sooner."""
    session.exec(
        update(Directive)
        .where(col(Directive.id) == directive_id)
        .where(col(Directive.next_action_at).is_(None) | (col(Directive.next_action_at) > at))
        .values(next_action_at=at)
    )


def _clean(value: str | None) -> str | None:
    """Strip a free-text field; empty becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def check_text(value: str | None, label: str) -> None:
    """Refuse control characters and unencodable text (PostgreSQL stores neither NUL nor lone surrogates)."""
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise StatusChangeRefused(f"{label} chứa ký tự không hợp lệ") from None
    if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) < 0xA0 for c in value):
        raise StatusChangeRefused(f"{label} chứa ký tự điều khiển không hợp lệ")


# What officials type for a status (in a spreadsheet or another system), with or without accents.
STATUS_LABELS = {"Đã tiếp nhận": "acknowledged", "Đang thực hiện": "in_progress", "Hoàn thành": "done"}
_STATUS_WORDS = {
    **STATUS_LABELS,
    **{code: code for code in STATUS_LABELS.values()},
    "Tiếp nhận": "acknowledged",
    "Đang triển khai": "in_progress",
    "Đã hoàn thành": "done",
}


def _word_key(text: str) -> str:
    """Compare words without accents, case or punctuation ("Hoàn thành" = "hoan thanh" = "HOAN-THANH")."""
    return ascii_slug(text).replace("-", " ")


STATUS_BY_WORD = {_word_key(word): code for word, code in _STATUS_WORDS.items()}


def parse_status(text: str) -> str | None:
    """A reported status as typed (Vietnamese label or code, accents optional), or None."""
    return STATUS_BY_WORD.get(_word_key(text))


def validate_report(
    *,
    status: str,
    percent: int | None,
    note: str | None,
    document_number: str | None,
    evidence_url: str | None,
    reported_by: str,
) -> None:
    """Refuse a report whose fields are out of range, in Vietnamese (before touching the database)."""
    if status not in STATUS_VALUES:
        raise StatusChangeRefused(f"trạng thái không hợp lệ: «{status}» (chọn: {', '.join(sorted(STATUS_VALUES))})")
    if percent is not None and not 0 <= percent <= 100:
        raise StatusChangeRefused(f"tỷ lệ hoàn thành phải từ 0 đến 100, nhận được {percent}")
    if note is not None and len(note) > NOTE_MAX:
        raise StatusChangeRefused(f"nội dung báo cáo dài quá {NOTE_MAX} ký tự ({len(note)} ký tự)")
    if document_number is not None and len(document_number) > DOCUMENT_NUMBER_MAX:
        raise StatusChangeRefused(f"số văn bản dài quá {DOCUMENT_NUMBER_MAX} ký tự")
    if evidence_url is not None:
        if len(evidence_url) > EVIDENCE_URL_MAX:
            raise StatusChangeRefused(f"liên kết minh chứng dài quá {EVIDENCE_URL_MAX} ký tự")
        # Only web links: a javascript: or data: "evidence" link would run in a coordinator's browser.
        if not evidence_url.lower().startswith(("http://", "https://")) or any(c.isspace() for c in evidence_url):
            raise StatusChangeRefused("liên kết minh chứng phải là địa chỉ web bắt đầu bằng http:// hoặc https://")
    if not reported_by.strip() or len(reported_by) > REPORTED_BY_MAX:
        raise StatusChangeRefused(f"người báo cáo phải có tên, tối đa {REPORTED_BY_MAX} ký tự")
    for value, label in (
        (note, "nội dung báo cáo"),
        (document_number, "số văn bản"),
        (evidence_url, "liên kết minh chứng"),
        (reported_by, "tên người báo cáo"),
    ):
        check_text(value, label)


def check_declared_date(declared_at: datetime, *, received_at: datetime, issued_on_local: datetime) -> bool:
    """Refuse a declared date before the notice or after receipt; return whether it needs a coordinator's look."""
    day = declared_at.astimezone(VN_TZ).date()
    if declared_at < issued_on_local:
        raise StatusChangeRefused(
            f"ngày báo cáo tự ghi {format_date_vi(day)} trước ngày ban hành thông báo "
            f"{format_date_vi(issued_on_local.date())}"
        )
    if day > received_at.astimezone(VN_TZ).date():
        raise StatusChangeRefused(f"ngày báo cáo tự ghi {format_date_vi(day)} ở tương lai")
    return declared_at < received_at - DECLARED_DATE_MAX_LAG


def record_status_update(
    assignment_id: int,
    *,
    session: Session,
    status: str,
    reported_by: str,
    source: str,
    percent: int | None = None,
    note: str | None = None,
    document_number: str | None = None,
    evidence_url: str | None = None,
    at: datetime | None = None,
    declared_at: datetime | None = None,
    agency_id: int | None = None,
) -> RecordedUpdate:
    """Inside the caller's transaction: append the report, move the status, audit it, mark the directive.

    `at` is when dondoc received the report (default: now); it alone decides timeliness. With
    agency_id, an assignment of another agency is refused exactly like a missing one, so a caller
    cannot learn which assignment numbers exist. The event is emitted when the caller commits.
    """
    at = at or utcnow()
    note, document_number, evidence_url = _clean(note), _clean(document_number), _clean(evidence_url)
    validate_report(
        status=status,
        percent=percent,
        note=note,
        document_number=document_number,
        evidence_url=evidence_url,
        reported_by=reported_by,
    )
    # Locks the row (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock).
    assignment = session.get(Assignment, assignment_id, with_for_update=True)
    if assignment is None or (agency_id is not None and assignment.agency_id != agency_id):
        raise AssignmentNotFound(f"không có việc số {assignment_id}")
    if assignment.status == AssignmentStatus.withdrawn:
        raise StatusConflict(f"việc số {assignment_id} đã được thu hồi, không nhận báo cáo")
    agency_code, directive_number, notice_number, issued_on = session.exec(
        select(col(Agency.code), col(Directive.number), col(Notice.number), col(Notice.issued_on))
        .select_from(Assignment)
        .join(Directive, col(Directive.id) == Assignment.directive_id)
        .join(Notice, col(Notice.id) == Directive.notice_id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(Assignment.id == assignment_id)
    ).one()
    flagged = False
    if declared_at is not None:
        issued_local = datetime.combine(issued_on, datetime.min.time(), tzinfo=VN_TZ)
        flagged = check_declared_date(declared_at, received_at=at, issued_on_local=issued_local)
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
        assignment_id=assignment_id,
        reported_at=at,
        declared_at=declared_at,
        reported_by=reported_by,
        source=source,
        status=status,
        percent=percent,
        note=note,
        document_number=document_number,
        evidence_url=evidence_url,
    )
    session.add(row)
    session.flush()
    details = {
        "from": previous,
        "to": status,
        "percent": percent,
        "document_number": document_number,
        "source": source,
        "update_id": row.id,
    }
    if declared_at is not None:
        details["declared_at"] = declared_at.isoformat()
    session.add(
        AuditEvent(
            at=at,
            actor=reported_by,
            action="assignment.status",
            entity_type="assignment",
            entity_id=assignment_id,
            details=details,
        )
    )
    if flagged:
        session.add(
            AuditEvent(
                at=at,
                actor=reported_by,
                action=FLAG_ACTION,
                entity_type="assignment",
                entity_id=assignment_id,
                details={"update_id": row.id, "declared_at": declared_at.isoformat(), "received_at": at.isoformat()},  # type: ignore[union-attr]  # flagged implies a declared date
            )
        )
    mark_directive_due(assignment.directive_id, at, session=session)
    assert row.id is not None  # flushed above
    result = RecordedUpdate(
        update_id=row.id,
        assignment_id=assignment_id,
        directive_id=assignment.directive_id,
        status=status,
        previous=previous,
        percent=percent,
        source=source,
        agency_code=agency_code,
        directive_number=directive_number,
        notice_number=notice_number,
        at=at,
    )
    announce_after_commit(result, session=session)
    return result
