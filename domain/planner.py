"""The follow-up planner: which reminders and escalations are due, with deterministic keys."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pendulum

from domain.escalation import EscalationPolicy, Ladder, LadderLevel
from domain.timeliness import AssignmentFacts, next_obligation_due, unmet_obligation
from domain.workdays import VN_TZ, WorkCalendar, local_date


@dataclass(frozen=True)
class DirectiveFacts:
    """What the planner needs about the directive and its notice."""

    directive_id: int
    notice_number: str
    directive_number: str
    priority: str
    issuer_code: str
    monitor_codes: tuple[str, ...]


@dataclass(frozen=True)
class PlannedMessage:
    """One message to one recipient agency about one assignment."""

    key: str
    kind: str  # assigned | acknowledge | reminder | due | overdue | escalation
    assignment_id: int
    subject_agency: str  # the agency whose work this is about
    recipient: str  # assignee | assignee_head | supervisor | monitor | issuer
    recipient_agency: str
    send_at: datetime  # UTC; when the message falls due
    due: date | None = None
    level: int | None = None
    offset: int | None = None  # working days before the due date, for reminders
    days_overdue: int = 0
    period: str | None = None


@dataclass(frozen=True)
class Plan:
    """What to send now, and when the directive next needs attention."""

    due_now: list[PlannedMessage]
    next_action_at: datetime | None


def at_local(day: date, clock: time) -> datetime:
    """Return clock o'clock in Vietnam on day, as an aware UTC datetime."""
    moment = pendulum.datetime(day.year, day.month, day.day, clock.hour, clock.minute, tz=VN_TZ)
    return datetime.fromtimestamp(moment.timestamp(), tz=UTC)


def _key(facts: AssignmentFacts, *parts: object) -> str:
    """Build a deterministic idempotency key; the due date in it makes an extension re-plan."""
    return "|".join([f"a{facts.assignment_id}", *(str(p) for p in parts)])


def _recipients(
    rung_notify: Iterable[str], facts: AssignmentFacts, directive: DirectiveFacts
) -> Iterator[tuple[str, str]]:
    """Expand recipient roles into (role, agency code) pairs; an agency named twice on one rung hears once."""
    seen: set[tuple[str, str]] = set()
    for role, agency in _all_recipients(rung_notify, facts, directive):
        # The assignee and its head are different people in one agency; anyone else is one recipient.
        identity = (role if role in ("assignee", "assignee_head") else "other", agency)
        if identity not in seen:
            seen.add(identity)
            yield role, agency


def _all_recipients(
    rung_notify: Iterable[str], facts: AssignmentFacts, directive: DirectiveFacts
) -> Iterator[tuple[str, str]]:
    """Expand recipient roles into (role, agency code) pairs, skipping roles with nobody behind them."""
    for role in rung_notify:
        if role in ("assignee", "assignee_head"):
            yield role, facts.agency_code
        elif role == "supervisor" and facts.supervisor_code:
            yield role, facts.supervisor_code
        elif role == "monitor":
            for code in directive.monitor_codes:
                if code != facts.agency_code:
                    yield role, code
        elif role == "issuer":
            yield role, directive.issuer_code


def _target(facts: AssignmentFacts, today: date) -> tuple[date | None, str | None]:
    """Return the due date the assignment is being chased for now, and its report period if ongoing."""
    if facts.current_due is not None:
        return facts.current_due, None
    missed = unmet_obligation(facts, today)
    if missed is not None:
        return missed.due, missed.period
    upcoming = next_obligation_due(facts, today)
    return (upcoming.due, upcoming.period) if upcoming else (None, None)


def timeline(
    facts: AssignmentFacts, directive: DirectiveFacts, policy: EscalationPolicy, calendar: WorkCalendar, as_of: datetime
) -> list[PlannedMessage]:
    """Every message this assignment will trigger from as_of on if nobody reports anything."""
    if facts.is_closed:
        return []
    ladder = policy.ladder(directive.priority)
    out: list[PlannedMessage] = []
    if facts.role in policy.notify_on_assignment:
        out.append(
            PlannedMessage(
                _key(facts, "assigned"),
                "assigned",
                facts.assignment_id,
                facts.agency_code,
                "assignee",
                facts.agency_code,
                facts.created_at,
                facts.current_due,
            )
        )
    created = local_date(facts.created_at)
    if policy.acknowledge_within and facts.acknowledged_at is None and facts.status == "assigned":
        day = calendar.add_working_days(created, policy.acknowledge_within)
        out.append(
            PlannedMessage(
                _key(facts, "ack"),
                "acknowledge",
                facts.assignment_id,
                facts.agency_code,
                "assignee",
                facts.agency_code,
                at_local(day, policy.send_at),
                facts.current_due,
            )
        )
    due, period = _target(facts, local_date(as_of))
    if due is None:
        return out
    out += _reminders(facts, ladder, policy, calendar, due, period, created)
    if facts.role == "lead":
        out += _ladder(facts, directive, ladder, policy, calendar, due, period)
    else:
        # Supporting agencies hear that they are late, but the ladder climbs only for the lead.
        rung = ladder.overdue[0]
        day = calendar.add_working_days(due, rung.after)
        out.append(
            PlannedMessage(
                _key(facts, "L1", due),
                "overdue",
                facts.assignment_id,
                facts.agency_code,
                "assignee",
                facts.agency_code,
                at_local(day, policy.send_at),
                due,
                1,
                None,
                rung.after,
                period,
            )
        )
    return out


def _reminders(
    facts: AssignmentFacts,
    ladder: Ladder,
    policy: EscalationPolicy,
    calendar: WorkCalendar,
    due: date,
    period: str | None,
    created: date,
) -> list[PlannedMessage]:
    """Reminders at −N working days; a progress update pushes the next routine one back."""
    last_update = local_date(facts.updates[-1]) if facts.updates else None
    quiet_until = calendar.add_working_days(last_update, policy.quiet_after_update) if last_update else None
    days = [
        (offset, calendar.add_working_days(due, -offset) if offset else due) for offset in ladder.reminders_before_due
    ]
    out = []
    for index, (offset, day) in enumerate(days):
        if day <= created:
            continue  # the assignment message itself covers anything before or on the day it was given
        if offset and quiet_until and day <= quiet_until:
            following = days[index + 1][1] if index + 1 < len(days) else due
            if quiet_until >= following:
                continue  # pushed onto the next reminder: that one covers it
            day = quiet_until
        kind = "reminder" if offset else "due"
        out.append(
            PlannedMessage(
                _key(facts, "R", offset, due),
                kind,
                facts.assignment_id,
                facts.agency_code,
                "assignee",
                facts.agency_code,
                at_local(day, policy.send_at),
                due,
                None,
                offset,
                0,
                period,
            )
        )
    return out


def _ladder(
    facts: AssignmentFacts,
    directive: DirectiveFacts,
    ladder: Ladder,
    policy: EscalationPolicy,
    calendar: WorkCalendar,
    due: date,
    period: str | None,
) -> list[PlannedMessage]:
    """The overdue ladder for a lead assignment, with the top rung repeated up to its cap."""
    out = []
    rungs: list[tuple[LadderLevel, date, int | None]] = [
        (rung, calendar.add_working_days(due, rung.after), None) for rung in ladder.overdue
    ]
    top, top_day, _ = rungs[-1]
    for count in range(1, ladder.repeat_top.max + 1):
        rungs.append((top, calendar.add_working_days(top_day, count * ladder.repeat_top.every), count))
    for rung, day, repeat in rungs:
        kind = "overdue" if rung.level == 1 else "escalation"
        tag = f"L{rung.level}" + (f"r{repeat}" if repeat else "")
        overdue_days = calendar.working_days_between(due, day)
        for recipient, agency in _recipients(rung.notify, facts, directive):
            out.append(
                PlannedMessage(
                    _key(facts, tag, due, recipient, agency),
                    kind,
                    facts.assignment_id,
                    facts.agency_code,
                    recipient,
                    agency,
                    at_local(day, policy.send_at),
                    due,
                    rung.level,
                    None,
                    overdue_days,
                    period,
                )
            )
    return out


def _collapse_catch_up(messages: list[PlannedMessage]) -> list[PlannedMessage]:
    """When several rungs or reminders fell due at once (a late start or an outage), send only the latest of each."""
    latest: dict[tuple[int, str, str, str], PlannedMessage] = {}
    for message in messages:
        group = "ladder" if message.kind in ("overdue", "escalation") else message.kind
        if group == "due":
            group = "reminder"
        slot = (message.assignment_id, group, message.recipient, message.recipient_agency)
        current = latest.get(slot)
        if current is None or message.send_at > current.send_at:
            latest[slot] = message
    kept = set(id(m) for m in latest.values())
    return [m for m in messages if id(m) in kept or m.kind in ("assigned", "acknowledge")]


def plan(
    assignments: Iterable[AssignmentFacts],
    directive: DirectiveFacts,
    policy: EscalationPolicy,
    calendar: WorkCalendar,
    already_sent: set[str],
    as_of: datetime,
) -> Plan:
    """Return the messages due at as_of that were not sent before, and the next action time."""
    due_now: list[PlannedMessage] = []
    upcoming: list[datetime] = []
    for facts in assignments:
        reached = []
        for message in timeline(facts, directive, policy, calendar, as_of):
            if message.send_at > as_of:
                upcoming.append(message.send_at)
            else:
                reached.append(message)
        # Collapse before filtering: once the latest is sent, an older skipped one must stay skipped.
        due_now += [m for m in _collapse_catch_up(reached) if m.key not in already_sent]
    return Plan(due_now, min(upcoming) if upcoming else None)


def dry_run(
    assignments: Iterable[AssignmentFacts],
    directive: DirectiveFacts,
    policy: EscalationPolicy,
    calendar: WorkCalendar,
    as_of: datetime,
) -> list[PlannedMessage]:
    """Every reminder and escalation from as_of on, if nobody reports anything, in time order."""
    out: list[PlannedMessage] = []
    for facts in assignments:
        out += [
            m for m in timeline(facts, directive, policy, calendar, as_of) if m.send_at >= as_of or m.kind == "assigned"
        ]
    return sorted(out, key=lambda m: (m.send_at, m.assignment_id))


__all__ = ["DirectiveFacts", "Plan", "PlannedMessage", "at_local", "dry_run", "plan", "timeline"]
