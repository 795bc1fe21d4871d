"""Side effects of one directive's follow-up: read its state, write the outbox, set the next action."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from config.escalation import load_escalation_policy
from config.policy import load_calendar, load_deadline_policy
from config.settings import get_settings
from domain.deadlines import Recurrence, report_obligations
from domain.planner import DirectiveFacts, PlannedMessage, plan
from domain.timeliness import PROGRESSLESS, AssignmentFacts, Obligation, Timeliness, classify
from domain.workdays import format_date_vi, local_date
from models import (
    Agency,
    AgencyContact,
    Assignment,
    DeadlineChange,
    Directive,
    Notice,
    NoticeMonitor,
    Notification,
    NotificationState,
    StatusUpdate,
    get_engine,
)

OBLIGATION_HORIZON = timedelta(days=800)
EXCERPT_CHARS = 240
# Which contacts of the recipient agency a message goes to.
CONTACT_ROLE = {
    "assignee": "office",
    "assignee_head": "head",
    "supervisor": "office",
    "monitor": "office",
    "issuer": "office",
}


@dataclass
class LastUpdate:
    """The latest progress report of an assignment."""

    reported_at: datetime
    status: str
    percent: int | None
    document_number: str | None
    note: str | None


@dataclass
class DirectiveState:
    """A directive's follow-up inputs, read in one short session, as plain data."""

    notice_id: int
    notice_number: str
    notice_title: str
    directive_id: int
    directive_number: str
    directive_text: str
    due_explanation: str | None
    facts: DirectiveFacts
    assignments: list[AssignmentFacts]
    percent: dict[int, int]
    names: dict[str, str]
    sent_keys: set[str]
    next_action_at: datetime | None = None  # as read: a status change since then must not be overwritten
    last_update: dict[int, LastUpdate] = field(default_factory=dict)
    reminders_sent: dict[int, int] = field(default_factory=dict)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Return text cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _obligations(directive: Directive, start: date, as_of: datetime) -> tuple[Obligation, ...]:
    """Report obligations of an ongoing directive, from its notice date to well past as_of."""
    if directive.due_date is not None or not directive.recurrence:
        return ()
    config_dir = get_settings().config_dir
    found = report_obligations(
        Recurrence.model_validate(directive.recurrence),
        start,
        local_date(as_of) + OBLIGATION_HORIZON,
        load_calendar(config_dir),
        load_deadline_policy(config_dir),
    )
    return tuple(Obligation(o.period, o.due) for o in found)


def read_directive_state(directive_id: int, as_of: datetime) -> DirectiveState:
    """Read everything the follow-up of one directive needs, in one short session."""
    with Session(get_engine()) as session:
        directive = session.get(Directive, directive_id)
        if directive is None:
            raise LookupError(f"directive {directive_id} does not exist")
        notice = session.get(Notice, directive.notice_id)
        assert notice is not None
        agencies = {a.id: a for a in session.exec(select(Agency)).all()}
        code = {agency_id: a.code for agency_id, a in agencies.items()}
        monitors = session.exec(
            select(NoticeMonitor)
            .where(NoticeMonitor.notice_id == notice.id)
            .order_by(NoticeMonitor.role, NoticeMonitor.id)
        ).all()
        rows = session.exec(
            select(Assignment).where(Assignment.directive_id == directive_id).order_by(Assignment.id)
        ).all()
        ids = [a.id for a in rows]
        originals = {
            c.assignment_id: c.due_date
            for c in session.exec(
                select(DeadlineChange).where(DeadlineChange.assignment_id.in_(ids), DeadlineChange.kind == "original")  # type: ignore[union-attr]
            ).all()
        }
        updates: dict[int, list[StatusUpdate]] = defaultdict(list)
        for u in session.exec(
            select(StatusUpdate).where(StatusUpdate.assignment_id.in_(ids)).order_by(StatusUpdate.reported_at)  # type: ignore[union-attr]
        ).all():
            if u.reported_at <= as_of:
                updates[u.assignment_id].append(u)
        sent = session.exec(
            select(Notification.plan_key, Notification.assignment_id, Notification.kind).where(
                Notification.directive_id == directive_id
            )
        ).all()
        obligations = _obligations(directive, notice.issued_on, as_of)
        facts = [
            AssignmentFacts(
                assignment_id=a.id,  # type: ignore[arg-type]
                agency_code=code[a.agency_id],
                role=a.role,
                status=a.status,
                created_at=a.created_at,
                original_due=originals.get(a.id, a.due_date),  # type: ignore[arg-type]
                current_due=a.due_date,
                acknowledged_at=a.acknowledged_at,
                completed_at=a.completed_at,
                # Progress reports only: acknowledging is not reporting on the work.
                updates=tuple(u.reported_at for u in updates[a.id] if u.status not in PROGRESSLESS),  # type: ignore[index]
                supervisor_code=code.get(agencies[a.agency_id].escalates_to_id)
                if agencies[a.agency_id].escalates_to_id
                else None,  # type: ignore[arg-type]
                obligations=obligations,
            )
            for a in rows
        ]
        reminders: dict[int, set[str]] = defaultdict(set)
        for plan_key, assignment_id, kind in sent:
            if assignment_id is not None and kind in ("reminder", "due", "overdue", "escalation", "acknowledge"):
                reminders[assignment_id].add(plan_key)
        return DirectiveState(
            notice_id=notice.id,  # type: ignore[arg-type]
            notice_number=notice.number,
            notice_title=notice.title,
            directive_id=directive_id,
            directive_number=directive.number,
            directive_text=directive.text,
            due_explanation=directive.due_explanation,
            facts=DirectiveFacts(
                directive_id=directive_id,
                notice_number=notice.number,
                directive_number=directive.number,
                priority=directive.priority,
                issuer_code=code[notice.issuer_id],
                monitor_codes=tuple(code[m.agency_id] for m in monitors),
            ),
            assignments=facts,
            percent={a.id: a.percent for a in rows},  # type: ignore[misc]
            names={a.code: a.short_name or a.name for a in agencies.values()},
            sent_keys={key for key, _, _ in sent},
            next_action_at=directive.next_action_at,
            last_update={
                aid: LastUpdate(u[-1].reported_at, u[-1].status, u[-1].percent, u[-1].document_number, u[-1].note)
                for aid, u in updates.items()
                if u
            },
            reminders_sent={aid: len(keys) for aid, keys in reminders.items()},
        )


@dataclass
class FollowUpPlan:
    """The planner's answer for one directive, with each assignment's timeliness."""

    messages: list[PlannedMessage]
    next_action_at: datetime | None
    timeliness: dict[int, Timeliness | None]


def plan_directive(state: DirectiveState, as_of: datetime) -> FollowUpPlan:
    """Classify every assignment and plan what is due now (pure, given the loaded state)."""
    config_dir = get_settings().config_dir
    calendar = load_calendar(config_dir)
    result = plan(state.assignments, state.facts, load_escalation_policy(config_dir), calendar, state.sent_keys, as_of)
    judged = {a.assignment_id: classify(a, calendar, as_of) for a in state.assignments}
    return FollowUpPlan(result.due_now, result.next_action_at, judged)


# Recipients who report on the assignment themselves get its signed link; supervisors, monitors
# and the issuer are told about it, but must not report for the agency.
LINK_RECIPIENTS = ("assignee", "assignee_head")


def report_link(facts: AssignmentFacts, recipient: str) -> str | None:
    """The signed report link for the assignment's own agency (None: closed, another recipient, or no intake)."""
    if recipient not in LINK_RECIPIENTS or facts.is_closed:
        return None
    from tasks.report_links import report_link_or_none

    return report_link_or_none(facts.assignment_id, facts.agency_code)


def message_payload(state: DirectiveState, message: PlannedMessage, judged: Timeliness | None) -> dict[str, Any]:
    """Everything a template needs to render one message, as JSON-ready data."""
    facts = next(a for a in state.assignments if a.assignment_id == message.assignment_id)
    return {
        "kind": message.kind,
        "level": message.level,
        "recipient_role": message.recipient,
        "recipient_agency": state.names.get(message.recipient_agency, message.recipient_agency),
        "recipient_agency_code": message.recipient_agency,
        "notice_number": state.notice_number,
        "notice_title": state.notice_title,
        "directive_number": state.directive_number,
        "directive_excerpt": excerpt(state.directive_text),
        "agency": state.names.get(message.subject_agency, message.subject_agency),
        "agency_code": message.subject_agency,
        "role": facts.role,
        "due_date": message.due.isoformat() if message.due else None,
        "due_date_vi": format_date_vi(message.due) if message.due else None,
        "due_explanation": state.due_explanation,
        "period": message.period,
        "offset": message.offset,
        "days_overdue": message.days_overdue,
        "category": judged.category.value if judged else None,
        "category_label": judged.label_vi if judged else None,
        "extended": facts.extended,
        "assignment_id": message.assignment_id,
        "directive_id": state.directive_id,
        "report_link": report_link(facts, message.recipient),
    }


def insert_outbox_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; a row whose idempotency key exists is skipped, never doubled. Returns how many were new."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Notification.id)
    )
    # RETURNING, not rowcount: PostgreSQL reports -1 for a multi-row INSERT … ON CONFLICT.
    return len(session.exec(statement).all())  # type: ignore[call-overload]


def _outbox_rows(
    session: Session,
    state: DirectiveState,
    messages: list[PlannedMessage],
    timeliness: dict[int, Timeliness | None],
    as_of: datetime,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One outbox row per message, recipient contact and enabled channel."""
    enabled = get_settings().enabled_channels
    agency_ids = {a.code: a.id for a in session.exec(select(Agency)).all()}
    contacts: dict[int, list[AgencyContact]] = defaultdict(list)
    for contact in session.exec(select(AgencyContact).where(AgencyContact.active == True)).all():  # noqa: E712
        contacts[contact.agency_id].append(contact)
    rows = []
    for message in messages:
        agency_id = agency_ids[message.recipient_agency]
        wanted = CONTACT_ROLE[message.recipient]
        targets = [c for c in contacts[agency_id] if c.role == wanted and c.channel in enabled]
        if not targets:  # an agency without that kind of contact still hears through its office
            targets = [c for c in contacts[agency_id] if c.channel in enabled]
        payload = message_payload(state, message, timeliness.get(message.assignment_id)) | (extra or {})
        for contact in targets:
            rows.append(
                {
                    "idempotency_key": f"{message.key}|{contact.channel}|{contact.address}",
                    "plan_key": message.key,
                    "kind": message.kind,
                    "escalation_level": message.level,
                    "notice_id": state.notice_id,
                    "directive_id": state.directive_id,
                    "assignment_id": message.assignment_id,
                    "recipient_agency_id": agency_id,
                    "contact_id": contact.id,
                    "channel": contact.channel,
                    "address": contact.address,
                    "payload": payload,
                    "state": NotificationState.pending.value,
                    "planned_at": message.send_at,
                    "next_attempt_at": as_of,
                    "attempts": 0,
                    "error_history": [],
                    "created_at": as_of,
                }
            )
    return rows


def write_outbox(state: DirectiveState, planned: FollowUpPlan, as_of: datetime) -> int:
    """In one transaction: cancel what closed assignments no longer need, add the due messages, set next action."""
    closed = [a.assignment_id for a in state.assignments if a.is_closed]
    with Session(get_engine()) as session, session.begin():
        if closed:
            session.exec(
                update(Notification)  # type: ignore[call-overload]
                .where(Notification.assignment_id.in_(closed), Notification.state.in_(("pending", "failed")))  # type: ignore[union-attr]
                .values(state=NotificationState.cancelled, last_error="Đã hủy: việc đã hoàn thành hoặc được thu hồi")
            )
        written = insert_outbox_rows(session, _outbox_rows(session, state, planned.messages, planned.timeliness, as_of))
        # Only if nobody marked the directive since we read it (a status change sets next_action_at to now).
        unchanged = (
            Directive.next_action_at.is_(None)  # type: ignore[union-attr]
            if state.next_action_at is None
            else Directive.next_action_at == state.next_action_at
        )
        session.exec(
            update(Directive)  # type: ignore[call-overload]
            .where(Directive.id == state.directive_id, unchanged)
            .values(next_action_at=planned.next_action_at, last_followed_up_at=as_of)
        )
        return written


def enqueue_for_assignment(assignment_id: int, kind: str, key: str, extra: dict[str, Any], as_of: datetime) -> int:
    """Queue one message to an assignment's agency outside the ladder (e.g. an extension decision)."""
    with Session(get_engine()) as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            raise LookupError(f"assignment {assignment_id} does not exist")
        directive_id = assignment.directive_id
    state = read_directive_state(directive_id, as_of)
    facts = next(a for a in state.assignments if a.assignment_id == assignment_id)
    calendar = load_calendar(get_settings().config_dir)
    message = PlannedMessage(
        f"a{assignment_id}|{key}",
        kind,
        assignment_id,
        facts.agency_code,
        "assignee",
        facts.agency_code,
        as_of,
        facts.current_due,
    )
    with Session(get_engine()) as session, session.begin():
        rows = _outbox_rows(session, state, [message], {assignment_id: classify(facts, calendar, as_of)}, as_of, extra)
        return insert_outbox_rows(session, rows)
