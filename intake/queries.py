"""What an agency may see of its work: one assignment with its history, or the list of its assignments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from domain.deadlines import period_vi
from domain.labels import ROLE_VI, STATUS_VI
from domain.safe_text import nfc
from domain.timeliness import Category, classify
from domain.workdays import VN_TZ, WorkCalendar, format_date_vi, weekday_vi
from models import Agency, Assignment, DeadlineChange, Directive, Notice, StatusUpdate
from tasks.directive_state import DirectiveState, read_directive_state
from tasks.extensions import pending_extension
from tasks.rules import FollowUpRules


def local_time_vi(moment: datetime) -> str:
    """A timestamp as officials read it: "29/09/2022 10:15" in Vietnam time."""
    local = moment.astimezone(VN_TZ)
    return f"{format_date_vi(local.date())} {local:%H:%M}"


def date_vi(day: date | None) -> str | None:
    """A date with its weekday: "30/09/2022 (Thứ Sáu)"."""
    return f"{format_date_vi(day)} ({weekday_vi(day)})" if day else None


@dataclass
class HistoryEntry:
    """One progress report as shown."""

    id: int
    reported_at: datetime
    reported_at_vi: str
    reported_by: str
    source: str
    status: str
    status_vi: str
    percent: int | None
    note: str | None
    document_number: str | None
    evidence_url: str | None


@dataclass
class DeadlineEntry:
    """One line of the deadline history."""

    kind: str
    due_date: date | None
    due_vi: str | None
    reason: str | None
    approved_by: str | None
    at_vi: str


@dataclass
class AssignmentView:
    """Everything the report page and the API show about one assignment."""

    id: int
    agency_id: int
    agency_code: str
    agency_name: str
    role: str
    role_vi: str
    status: str
    status_vi: str
    percent: int
    notice_number: str
    notice_title: str
    notice_date_vi: str
    directive_id: int
    directive_number: str
    directive_text: str
    due_date: date | None
    due_vi: str | None
    due_explanation: str | None
    extended: bool
    category: str | None
    category_vi: str
    days_overdue: int
    has_deadline: bool = True  # False for ongoing work: its "due" is the next periodic report
    period_vi: str | None = None  # the report period that "due" belongs to, for ongoing work
    history: list[HistoryEntry] = field(default_factory=list)
    deadlines: list[DeadlineEntry] = field(default_factory=list)
    pending_extension: dict[str, Any] | None = None
    task: str = ""  # the agency's own sentences of the directive (the whole text for older rows)

    @property
    def closed(self) -> bool:
        """Done or withdrawn."""
        return self.status in ("done", "withdrawn")

    @property
    def can_extend(self) -> bool:
        """An extension can be asked for: open work with a deadline and no request waiting."""
        return not self.closed and self.has_deadline and self.pending_extension is None


def _history(session: Session, assignment_id: int) -> list[HistoryEntry]:
    """Progress reports, newest first."""
    return [
        HistoryEntry(
            u.id,  # type: ignore[arg-type]  # stored: id set
            u.reported_at,
            local_time_vi(u.reported_at),
            u.reported_by,
            u.source,
            u.status,
            STATUS_VI.get(u.status, u.status),
            u.percent,
            u.note,
            u.document_number,
            u.evidence_url,
        )
        for u in updates_of(assignment_id, session=session)
    ]


def _deadlines(session: Session, assignment_id: int) -> list[DeadlineEntry]:
    """The deadline history, oldest first."""
    rows = session.exec(
        select(DeadlineChange).where(DeadlineChange.assignment_id == assignment_id).order_by(col(DeadlineChange.id))
    ).all()
    return [
        DeadlineEntry(c.kind, c.due_date, date_vi(c.due_date), c.reason, c.approved_by, local_time_vi(c.created_at))
        for c in rows
    ]


def directive_state(
    assignment_id: int, now: datetime, *, session: Session, rules: FollowUpRules
) -> DirectiveState | None:
    """The follow-up state of the assignment's directive at `now`, or None if the assignment does not exist."""
    directive_id = session.exec(select(Assignment.directive_id).where(Assignment.id == assignment_id)).first()
    if directive_id is None:
        return None
    return read_directive_state(directive_id, now, session=session, rules=rules)


def assignment_view(
    state: DirectiveState,
    assignment_id: int,
    now: datetime,
    *,
    calendar: WorkCalendar,
    session: Session,
    with_history: bool = True,
) -> AssignmentView:
    """One assignment of the directive `state` as its agency sees it at `now`."""
    directive_id = state.directive_id
    facts = next(a for a in state.assignments if a.assignment_id == assignment_id)
    judged = classify(facts, calendar, now)
    assignment = session.get(Assignment, assignment_id)
    assert assignment is not None
    agency = session.get(Agency, assignment.agency_id)
    directive = session.get(Directive, directive_id)
    assert agency and directive
    notice = session.get(Notice, directive.notice_id)
    assert notice
    view = AssignmentView(
        id=assignment_id,
        agency_id=agency.id,  # type: ignore[arg-type]  # stored: id set
        agency_code=agency.code,
        agency_name=agency.short_name or agency.name,
        role=assignment.role,
        role_vi=ROLE_VI.get(assignment.role, assignment.role),
        status=assignment.status,
        status_vi=STATUS_VI.get(assignment.status, assignment.status),
        percent=assignment.percent,
        notice_number=notice.number,
        notice_title=notice.title,
        notice_date_vi=format_date_vi(notice.issued_on),
        directive_id=directive_id,
        directive_number=directive.number,
        directive_text=directive.text,
        task=assignment.task or directive.text,
        due_date=judged.due if judged else assignment.due_date,
        due_vi=date_vi(judged.due if judged else assignment.due_date),
        due_explanation=directive.due_explanation,
        extended=facts.extended,
        category=judged.category.value if judged else None,
        category_vi=judged.label_vi if judged else "Đã thu hồi",
        days_overdue=judged.days_overdue if judged and judged.category in (Category.overdue, Category.late) else 0,
        has_deadline=assignment.due_date is not None,
        period_vi=period_vi(judged.period) if judged and judged.period else None,
    )
    view.pending_extension = pending_extension(assignment_id, session=session)
    if with_history:
        view.history = _history(session, assignment_id)
        view.deadlines = _deadlines(session, assignment_id)
    return view


def agency_assignment_ids(agency_id: int, *, session: Session) -> list[int]:
    """The agency's assignments, newest notice first."""
    ids = session.exec(
        select(col(Assignment.id))
        .join(Directive, col(Directive.id) == Assignment.directive_id)
        .join(Notice, col(Notice.id) == Directive.notice_id)
        .where(Assignment.agency_id == agency_id)
        .order_by(col(Notice.issued_on).desc(), col(Directive.position), col(Assignment.id))
    ).all()
    return [i for i in ids if i is not None]


def agency_by_code(code: str, *, session: Session) -> Agency | None:
    """An agency by its code (compared in NFC, like everything dondoc stores)."""
    return session.exec(select(Agency).where(Agency.code == nfc(code))).first()


def latest_update(assignment_id: int, *, session: Session) -> StatusUpdate | None:
    """The assignment's most recent progress report."""
    return session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.assignment_id == assignment_id)
        .order_by(col(StatusUpdate.reported_at).desc(), col(StatusUpdate.id).desc())
    ).first()


def updates_of(assignment_id: int, *, session: Session) -> list[StatusUpdate]:
    """The assignment's progress reports, newest first."""
    return list(
        session.exec(
            select(StatusUpdate)
            .where(StatusUpdate.assignment_id == assignment_id)
            .order_by(col(StatusUpdate.reported_at).desc(), col(StatusUpdate.id).desc())
        ).all()
    )
