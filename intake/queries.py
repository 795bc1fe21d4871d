"""What an agency may see of its work: one assignment with its history, or the list of its assignments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from config.policy import load_calendar
from config.settings import get_settings
from domain.labels import ROLE_VI, STATUS_VI
from domain.timeliness import Category, classify
from domain.workdays import VN_TZ, format_date_vi, weekday_vi
from models import Agency, Assignment, AuditEvent, DeadlineChange, Directive, Notice, StatusUpdate, get_engine
from models.intake import LinkRevocation
from notifications.render import period_vi
from tasks.directive_state import read_directive_state
from tasks.extensions import pending_extension
from tasks.rules import load_follow_up_rules


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
    pending_extension: dict | None = None

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
    rows = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.assignment_id == assignment_id)
        .order_by(StatusUpdate.reported_at.desc(), StatusUpdate.id.desc())  # type: ignore[attr-defined,union-attr]
    ).all()
    return [
        HistoryEntry(
            u.id,
            u.reported_at,
            local_time_vi(u.reported_at),
            u.reported_by,
            u.source,
            u.status,  # type: ignore[arg-type]
            STATUS_VI.get(u.status, u.status),
            u.percent,
            u.note,
            u.document_number,
            u.evidence_url,
        )
        for u in rows
    ]


def _deadlines(session: Session, assignment_id: int) -> list[DeadlineEntry]:
    """The deadline history, oldest first."""
    rows = session.exec(
        select(DeadlineChange).where(DeadlineChange.assignment_id == assignment_id).order_by(DeadlineChange.id)
    ).all()
    return [
        DeadlineEntry(c.kind, c.due_date, date_vi(c.due_date), c.reason, c.approved_by, local_time_vi(c.created_at))
        for c in rows
    ]


def assignment_view(assignment_id: int, now: datetime, *, with_history: bool = True) -> AssignmentView | None:
    """One assignment as its agency sees it at `now`, or None if it does not exist."""
    with Session(get_engine()) as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            return None
        directive_id = assignment.directive_id
    with Session(get_engine()) as session:
        state = read_directive_state(directive_id, now, session=session, rules=load_follow_up_rules())
    facts = next(a for a in state.assignments if a.assignment_id == assignment_id)
    judged = classify(facts, load_calendar(get_settings().config_dir), now)
    with Session(get_engine()) as session:
        assignment = session.get(Assignment, assignment_id)
        agency = session.get(Agency, assignment.agency_id)  # type: ignore[union-attr]
        directive = session.get(Directive, directive_id)
        notice = session.get(Notice, directive.notice_id)  # type: ignore[union-attr]
        assert assignment and agency and directive and notice
        view = AssignmentView(
            id=assignment_id,
            agency_id=agency.id,  # type: ignore[arg-type]
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
        view.pending_extension = pending_extension(session, assignment_id)
        if with_history:
            view.history = _history(session, assignment_id)
            view.deadlines = _deadlines(session, assignment_id)
    return view


def agency_assignment_ids(agency_id: int) -> list[int]:
    """The agency's assignments, newest notice first."""
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(Assignment.id)
                .join(Directive, Directive.id == Assignment.directive_id)
                .join(Notice, Notice.id == Directive.notice_id)
                .where(Assignment.agency_id == agency_id)
                .order_by(Notice.issued_on.desc(), Directive.position, Assignment.id)  # type: ignore[attr-defined]
            ).all()
        )


def agency_by_code(code: str) -> Agency | None:
    """An agency by its code."""
    with Session(get_engine()) as session:
        return session.exec(select(Agency).where(Agency.code == code)).first()


def links_revoked_before(agency_id: int) -> datetime | None:
    """Links of this agency issued before this time are revoked (None: no revocation)."""
    with Session(get_engine()) as session:
        return session.exec(select(LinkRevocation.not_before).where(LinkRevocation.agency_id == agency_id)).first()


def revoke_links(agency_code: str, *, revoked_by: str, reason: str | None, now: datetime) -> None:
    """Revoke every link of one agency issued up to now (newer links keep working)."""
    with Session(get_engine()) as session, session.begin():
        agency = session.exec(select(Agency).where(Agency.code == agency_code)).first()
        if agency is None:
            raise LookupError(f"không có cơ quan mã «{agency_code}»")
        row = session.exec(select(LinkRevocation).where(LinkRevocation.agency_id == agency.id)).first()
        if row is None:
            row = LinkRevocation(agency_id=agency.id, not_before=now, reason=reason, revoked_by=revoked_by)  # type: ignore[arg-type]
            session.add(row)
        else:
            row.not_before, row.reason, row.revoked_by, row.updated_at = now, reason, revoked_by, now
        session.add(
            AuditEvent(
                at=now,
                actor=revoked_by,
                action="intake.links_revoked",
                entity_type="agency",
                entity_id=agency.id,
                details={"not_before": now.isoformat(), "reason": reason},
            )
        )
