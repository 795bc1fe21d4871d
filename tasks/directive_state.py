"""A directive's follow-up inputs, read in one short session as plain data, and the task that reads them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from prefect import task
from prefect.cache_policies import NONE
from sqlmodel import Session, col, select

from domain.deadlines import Recurrence, report_obligations
from domain.planner import DirectiveFacts
from domain.timeliness import PROGRESSLESS, AssignmentFacts, Obligation
from domain.workdays import local_date
from models import (
    Agency,
    Assignment,
    DeadlineChange,
    Directive,
    Notice,
    NoticeMonitor,
    Notification,
    StatusUpdate,
)
from models.db import session_scope
from models.types import row_id
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules

OBLIGATION_HORIZON = timedelta(days=800)


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
    tasks: dict[int, str] = field(default_factory=dict)  # each assignment's own task, where imported with one


def _obligations(directive: Directive, start: date, as_of: datetime, rules: FollowUpRules) -> tuple[Obligation, ...]:
    """Report obligations of an ongoing directive, from its notice date to well past as_of."""
    if directive.due_date is not None or not directive.recurrence:
        return ()
    found = report_obligations(
        Recurrence.model_validate(directive.recurrence),
        start,
        local_date(as_of) + OBLIGATION_HORIZON,
        rules.calendar,
        rules.deadline_policy,
    )
    return tuple(Obligation(o.period, o.due) for o in found)


# Ids per IN (...) list: well under SQLite's bound-parameter limit and PostgreSQL's planner sweet spot.
ID_CHUNK = 500


def _chunks(ids: list[int]) -> list[list[int]]:
    """Split ids into lists of at most ID_CHUNK."""
    return [ids[i : i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]


def read_directive_state(
    directive_id: int, as_of: datetime, *, session: Session, rules: FollowUpRules
) -> DirectiveState:
    """Read everything the follow-up of one directive needs."""
    return read_directive_states([directive_id], as_of, session=session, rules=rules)[0]


def read_directive_states(
    directive_ids: list[int], as_of: datetime, *, session: Session, rules: FollowUpRules
) -> list[DirectiveState]:
    """Read what the follow-up of each directive needs, in the given order, with a few queries for all of them."""
    directives: dict[int, Directive] = {}
    for chunk in _chunks(list(dict.fromkeys(directive_ids))):
        directives.update((row_id(d), d) for d in session.exec(select(Directive).where(col(Directive.id).in_(chunk))))
    missing = [d for d in directive_ids if d not in directives]
    if missing:
        raise LookupError(f"directive {missing[0]} does not exist")
    notice_ids = sorted({d.notice_id for d in directives.values()})
    notices = {row_id(n): n for n in session.exec(select(Notice).where(col(Notice.id).in_(notice_ids)))}
    agencies = {a.id: a for a in session.exec(select(Agency)).all()}
    code = {agency_id: a.code for agency_id, a in agencies.items()}
    names = {a.code: a.short_name or a.name for a in agencies.values()}
    monitors: dict[int, list[str]] = defaultdict(list)
    for m in session.exec(
        select(NoticeMonitor)
        .where(col(NoticeMonitor.notice_id).in_(notice_ids))
        .order_by(col(NoticeMonitor.role), col(NoticeMonitor.id))
    ):
        monitors[m.notice_id].append(code[m.agency_id])
    rows: dict[int, list[Assignment]] = defaultdict(list)
    originals: dict[int, date | None] = {}
    updates: dict[int, list[StatusUpdate]] = defaultdict(list)
    sent: dict[int, list[tuple[str, int | None, str]]] = defaultdict(list)
    for chunk in _chunks(list(directives)):
        assignments = session.exec(
            select(Assignment).where(col(Assignment.directive_id).in_(chunk)).order_by(col(Assignment.id))
        ).all()
        for a in assignments:
            rows[a.directive_id].append(a)
        for ids in _chunks([row_id(a) for a in assignments]):
            originals.update(
                (c.assignment_id, c.due_date)
                for c in session.exec(
                    select(DeadlineChange).where(
                        col(DeadlineChange.assignment_id).in_(ids), DeadlineChange.kind == "original"
                    )
                )
            )
            for u in session.exec(
                select(StatusUpdate)
                .where(col(StatusUpdate.assignment_id).in_(ids))
                .order_by(col(StatusUpdate.reported_at), col(StatusUpdate.id))
            ):
                if u.reported_at <= as_of:
                    updates[u.assignment_id].append(u)
        for plan_key, assignment_id, kind, directive_id in session.exec(
            select(
                Notification.plan_key, Notification.assignment_id, Notification.kind, Notification.directive_id
            ).where(col(Notification.directive_id).in_(chunk))
        ):
            if directive_id is not None:
                sent[directive_id].append((plan_key, assignment_id, kind))
    context = _Shared(agencies, code, names, monitors, originals, updates)
    return [
        _state(directives[d], notices[directives[d].notice_id], rows[d], sent[d], as_of, context, rules)
        for d in directive_ids
    ]


@dataclass(frozen=True)
class _Shared:
    """What the directives read together share: the directory and the assignments' histories."""

    agencies: dict[int | None, Agency]
    code: dict[int | None, str]
    names: dict[str, str]
    monitors: dict[int, list[str]]
    originals: dict[int, date | None]
    updates: dict[int, list[StatusUpdate]]


def _state(
    directive: Directive,
    notice: Notice,
    rows: list[Assignment],
    sent: list[tuple[str, int | None, str]],
    as_of: datetime,
    shared: _Shared,
    rules: FollowUpRules,
) -> DirectiveState:
    """One directive's state from the rows read for it."""
    directive_id = row_id(directive)
    code, agencies, updates = shared.code, shared.agencies, shared.updates
    obligations = _obligations(directive, notice.issued_on, as_of, rules)
    facts = [
        AssignmentFacts(
            assignment_id=row_id(a),
            agency_code=code[a.agency_id],
            role=a.role,
            status=a.status,
            created_at=a.created_at,
            original_due=shared.originals.get(row_id(a), a.due_date),
            current_due=a.due_date,
            acknowledged_at=a.acknowledged_at,
            completed_at=a.completed_at,
            # Progress reports only: acknowledging is not reporting on the work.
            updates=tuple(u.reported_at for u in updates[row_id(a)] if u.status not in PROGRESSLESS),
            supervisor_code=code.get(agencies[a.agency_id].escalates_to_id)
            if agencies[a.agency_id].escalates_to_id
            else None,
            obligations=obligations,
        )
        for a in rows
    ]
    reminders: dict[int, set[str]] = defaultdict(set)
    for plan_key, assignment_id, kind in sent:
        if assignment_id is not None and kind in ("reminder", "due", "overdue", "escalation", "acknowledge"):
            reminders[assignment_id].add(plan_key)
    return DirectiveState(
        notice_id=row_id(notice),
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
            monitor_codes=tuple(shared.monitors.get(row_id(notice), ())),
        ),
        assignments=facts,
        percent={row_id(a): a.percent for a in rows},
        names=shared.names,
        sent_keys={key for key, _, _ in sent},
        next_action_at=directive.next_action_at,
        last_update={
            row_id(a): LastUpdate(u[-1].reported_at, u[-1].status, u[-1].percent, u[-1].document_number, u[-1].note)
            for a in rows
            if (u := updates.get(row_id(a)))
        },
        reminders_sent={aid: len(keys) for aid, keys in reminders.items()},
        tasks={a.id: a.task for a in rows if a.id is not None and a.task},
    )


@task(name="Đọc trạng thái mục", cache_policy=NONE, **IO_RETRIES)
def load_directive_state(directive_id: int, as_of: datetime) -> DirectiveState:
    """Read the directive, its assignments, deadlines, updates and what was already sent."""
    rules = load_follow_up_rules()
    with session_scope(read_only=True) as session:
        return read_directive_state(directive_id, as_of, session=session, rules=rules)
