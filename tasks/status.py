"""Status changes: progress reports and approved extensions, each audited and marking the directive.

Every path that changes an assignment's status (the CLI, the web form behind a signed link, the
agency API, XLSX imports, polled sources) goes through `apply_status_update`, inside the caller's
transaction, and then announces the change with the Prefect event `dondoc.assignment.updated`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from domain.text import ascii_slug
from domain.workdays import format_date_vi
from models import (
    Agency,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    DeadlineChange,
    Directive,
    Notice,
    StatusUpdate,
    get_engine,
)
from models.types import utcnow

STATUS_VALUES = {s.value for s in AssignmentStatus} - {"withdrawn"}
EVENT_NAME = "dondoc.assignment.updated"
REVIEW_DEPLOYMENT = "review-extension/review-extension"
# Longest texts a report may carry (the columns allow these; longer text is refused, not cut).
NOTE_MAX = 2000
DOCUMENT_NUMBER_MAX = 128
EVIDENCE_URL_MAX = 2048
REPORTED_BY_MAX = 255
REASON_MAX = 1000
# An extension may ask for at most this much more time at once.
EXTENSION_MAX = timedelta(days=366)
# A request nobody decided within the review's own timeout (flows/extension.py) no longer blocks a new one.
REQUEST_PENDING_FOR = timedelta(days=15)

logger = logging.getLogger("dondoc.status")


class StatusChangeRefused(ValueError):
    """A status change that cannot be applied; the message says why, in Vietnamese."""


class AssignmentNotFound(StatusChangeRefused):
    """No such assignment, or not the caller's: both read the same, so nobody learns what exists."""


class StatusConflict(StatusChangeRefused):
    """The assignment's state does not allow it now (withdrawn, finished, a request already waiting)."""


class ExtensionUnavailable(RuntimeError):
    """The extension review flow cannot be started (no Prefect API, or the deployment is not served)."""


@dataclass(frozen=True)
class RecordedUpdate:
    """What a status update changed (enough to announce it without reading the database again)."""

    update_id: int
    assignment_id: int
    directive_id: int
    status: str
    previous: str = ""
    percent: int | None = None
    source: str = ""
    agency_code: str = ""
    directive_number: str = ""
    notice_number: str = ""
    at: datetime | None = None


def mark_directive_due(session: Session, directive_id: int, at: datetime) -> None:
    """Make the sweep pick the directive up at its next run: next_action_at becomes at, if sooner."""
    session.exec(
        update(Directive)  # type: ignore[call-overload]
        .where(Directive.id == directive_id)
        .where((Directive.next_action_at.is_(None)) | (Directive.next_action_at > at))  # type: ignore[union-attr,operator]
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
    **{label: code for label, code in STATUS_LABELS.items()},
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


def apply_status_update(
    session: Session,
    assignment_id: int,
    *,
    status: str,
    reported_by: str,
    source: str,
    percent: int | None = None,
    note: str | None = None,
    document_number: str | None = None,
    evidence_url: str | None = None,
    at: datetime | None = None,
    agency_id: int | None = None,
) -> RecordedUpdate:
    """Inside the caller's transaction: append the report, move the status, audit it, mark the directive.

    With agency_id, an assignment of another agency is refused exactly like a missing one, so a
    caller cannot learn which assignment numbers exist.
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
    assignment = session.get(Assignment, assignment_id, with_for_update=True)
    if assignment is None or (agency_id is not None and assignment.agency_id != agency_id):
        raise AssignmentNotFound(f"không có việc số {assignment_id}")
    if assignment.status == AssignmentStatus.withdrawn:
        raise StatusConflict(f"việc số {assignment_id} đã được thu hồi, không nhận báo cáo")
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
    session.add(
        AuditEvent(
            at=at,
            actor=reported_by,
            action="assignment.status",
            entity_type="assignment",
            entity_id=assignment_id,
            details={
                "from": previous,
                "to": status,
                "percent": percent,
                "document_number": document_number,
                "source": source,
                "update_id": row.id,
            },
        )
    )
    mark_directive_due(session, assignment.directive_id, at)
    labels = session.exec(
        select(Agency.code, Directive.number, Notice.number)
        .select_from(Assignment)
        .join(Directive, Directive.id == Assignment.directive_id)
        .join(Notice, Notice.id == Directive.notice_id)
        .join(Agency, Agency.id == Assignment.agency_id)
        .where(Assignment.id == assignment_id)
    ).one()
    return RecordedUpdate(
        row.id,
        assignment_id,
        assignment.directive_id,
        status,
        previous,
        percent,
        source,  # type: ignore[arg-type]
        labels[0],
        labels[1],
        labels[2],
        at,
    )


def record_status_update(
    assignment_id: int,
    *,
    status: str,
    reported_by: str,
    source: str,
    percent: int | None = None,
    note: str | None = None,
    document_number: str | None = None,
    evidence_url: str | None = None,
    at: datetime | None = None,
    agency_id: int | None = None,
) -> RecordedUpdate:
    """Append a progress report, move the assignment's status, audit it and mark the directive; announce it."""
    with Session(get_engine()) as session, session.begin():
        result = apply_status_update(
            session,
            assignment_id,
            status=status,
            reported_by=reported_by,
            source=source,
            percent=percent,
            note=note,
            document_number=document_number,
            evidence_url=evidence_url,
            at=at,
            agency_id=agency_id,
        )
    emit_assignment_updated(result)
    return result


def announce(results: Sequence[RecordedUpdate]) -> int:
    """Emit the event for updates committed together (after the commit: never for a rolled-back one)."""
    return sum(emit_assignment_updated(r) for r in results)


# --- the Prefect event ------------------------------------------------------------------------


def prefect_api_available() -> bool:
    """True when emitting an event or starting a run can reach a Prefect API without spawning one.

    Without PREFECT_API_URL, Prefect's emit_event and run_deployment start an ephemeral API server
    in a subprocess (about 15 s here). Outside a run, dondoc does not do that for an event: the
    directive is already marked, and the next sweep follows it up anyway.
    """
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return True
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return True
    from prefect.server.api.server import SubprocessASGIServer

    # `dondoc serve` on the ephemeral server: it is already running in this process.
    return any(server.running for server in SubprocessASGIServer._instances.values())


def emit_assignment_updated(result: RecordedUpdate) -> bool:
    """Emit `dondoc.assignment.updated`; never raises, and returns whether an event was handed over.

    emit_event only queues the event for Prefect's events worker, so an unreachable API costs the
    caller nothing here (the worker logs the failure, and drains for a few seconds at exit).
    """
    try:
        if not prefect_api_available():
            logger.debug(
                "No Prefect API configured: event %s for assignment %s not emitted", EVENT_NAME, result.assignment_id
            )
            return False
        from prefect.events import emit_event

        event = emit_event(
            event=EVENT_NAME,
            resource={
                "prefect.resource.id": f"dondoc.assignment.{result.assignment_id}",
                "prefect.resource.name": f"{result.notice_number} · {result.directive_number} · {result.agency_code}",
                "dondoc.agency": result.agency_code,
                "dondoc.status": result.status,
            },
            related=[
                {
                    "prefect.resource.id": f"dondoc.directive.{result.directive_id}",
                    "prefect.resource.role": "directive",
                    "prefect.resource.name": f"{result.notice_number} · {result.directive_number}",
                },
                {"prefect.resource.id": f"dondoc.agency.{result.agency_code}", "prefect.resource.role": "agency"},
            ],
            payload={
                "update_id": result.update_id,
                "assignment_id": result.assignment_id,
                "directive_id": result.directive_id,
                "status": result.status,
                "previous_status": result.previous,
                "percent": result.percent,
                "source": result.source,
                "reported_at": result.at.isoformat() if result.at else None,
            },
        )
        return event is not None
    except Exception as exc:  # noqa: BLE001  (an event must never undo or fail a recorded update)
        logger.warning("Could not emit %s for assignment %s: %s", EVENT_NAME, result.assignment_id, type(exc).__name__)
        return False


# --- extension requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExtensionRequested:
    """A started extension review."""

    assignment_id: int
    until: date
    run_id: str
    run_name: str


StartReview = Callable[[dict[str, Any]], tuple[str, str]]


def start_review_run(parameters: dict[str, Any]) -> tuple[str, str]:
    """Start the served review-extension deployment without waiting; return the run's id and name."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    if not prefect_api_available():
        raise ExtensionUnavailable(
            "chưa kết nối máy chủ Prefect (đặt PREFECT_API_URL), nên chưa gửi được đề nghị gia hạn"
        )
    try:
        run = run_deployment(REVIEW_DEPLOYMENT, parameters=parameters, timeout=0)
    except ObjectNotFound:
        raise ExtensionUnavailable(
            "quy trình xét gia hạn chưa được phục vụ (chạy: dondoc serve), nên chưa gửi được đề nghị"
        ) from None
    return str(run.id), run.name


def pending_extension(session: Session, assignment_id: int) -> dict[str, Any] | None:
    """The latest extension request not yet decided (approved or rejected), as audited."""
    latest = session.exec(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "assignment", AuditEvent.entity_id == assignment_id)
        .where(
            AuditEvent.action.in_(
                (
                    "assignment.extension_requested",
                    "assignment.extended",  # type: ignore[attr-defined]
                    "assignment.extension_rejected",
                )
            )
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())  # type: ignore[attr-defined]
    ).first()
    if latest is None or latest.action != "assignment.extension_requested":
        return None
    if latest.at < utcnow() - REQUEST_PENDING_FOR:
        return None  # the review timed out undecided
    return dict(latest.details) | {"at": latest.at}


def check_extension_request(
    session: Session, assignment_id: int, *, until: date, reason: str, agency_id: int | None = None
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
    waiting = pending_extension(session, assignment_id)
    if waiting is not None:
        raise StatusConflict(
            f"đã có đề nghị gia hạn đến {format_date_vi(date.fromisoformat(waiting['until']))} đang chờ phê duyệt"
        )
    return assignment


def request_extension(
    assignment_id: int,
    *,
    until: date,
    reason: str,
    requested_by: str,
    agency_id: int | None = None,
    start: StartReview | None = None,
) -> ExtensionRequested:
    """Check an extension request, start the review flow (it waits for a coordinator), and audit the request.

    The one way to ask for more time: `dondoc extension request`, the web form and the API all call it.
    The request is audited at the wall-clock time, like the review's decision: the review waits in
    real time, whatever clock the caller simulates.
    """
    reason = reason.strip()
    check_text(requested_by, "người đề nghị")
    if not requested_by.strip() or len(requested_by) > REPORTED_BY_MAX:
        raise StatusChangeRefused(f"người đề nghị phải có tên, tối đa {REPORTED_BY_MAX} ký tự")
    with Session(get_engine()) as session:
        check_extension_request(session, assignment_id, until=until, reason=reason, agency_id=agency_id)
    parameters = {
        "assignment_id": assignment_id,
        "until": until.isoformat(),
        "reason": reason,
        "requested_by": requested_by,
    }
    run_id, run_name = (start or start_review_run)(parameters)
    with Session(get_engine()) as session, session.begin():
        session.add(
            AuditEvent(
                at=utcnow(),
                actor=requested_by,
                action="assignment.extension_requested",
                entity_type="assignment",
                entity_id=assignment_id,
                details={"until": until.isoformat(), "reason": reason, "run_id": run_id, "run_name": run_name},
            )
        )
    return ExtensionRequested(assignment_id, until, run_id, run_name)


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
        mark_directive_due(session, assignment.directive_id, at)
        return change.id  # type: ignore[return-value]


def record_extension_rejection(
    assignment_id: int,
    *,
    until: date,
    reason: str,
    requested_by: str,
    rejected_by: str,
    note: str,
    at: datetime | None = None,
) -> None:
    """Audit a rejected extension request; the deadline stays."""
    with Session(get_engine()) as session, session.begin():
        session.add(
            AuditEvent(
                at=at or utcnow(),
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
