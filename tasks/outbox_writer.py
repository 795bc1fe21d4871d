"""Turn a follow-up plan into outbox rows, exactly once per message, contact and channel; the task that writes them."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.exceptions import MissingContextError
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from domain.labels import RECIPIENT_VI
from domain.planner import PlannedMessage
from domain.text import excerpt
from domain.timeliness import AssignmentFacts, Timeliness, classify
from domain.workdays import format_date_vi
from models import Agency, AgencyContact, Assignment, Directive, Notification, NotificationState
from models.db import session_scope
from notifications.dead_letters import kind_label
from tasks.directive_state import DirectiveState, read_directive_state
from tasks.follow_up_events import emit_follow_up_events
from tasks.planning import FollowUpPlan
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules

# Which contacts of the recipient agency a message goes to.
CONTACT_ROLE = {
    "assignee": "office",
    "assignee_head": "head",
    "supervisor": "office",
    "monitor": "office",
    "issuer": "office",
}


# Recipients who report on the assignment themselves get its signed link; supervisors, monitors
# and the issuer are told about it, but must not report for the agency.
LINK_RECIPIENTS = ("assignee", "assignee_head")


def report_link(facts: AssignmentFacts, recipient: str, rules: FollowUpRules, as_of: datetime) -> str | None:
    """The signed report link for the assignment's own agency (None: closed, another recipient, or no intake)."""
    if recipient not in LINK_RECIPIENTS or facts.is_closed:
        return None
    return rules.report_link(facts.assignment_id, facts.agency_code, as_of)


def message_payload(
    state: DirectiveState, message: PlannedMessage, judged: Timeliness | None, rules: FollowUpRules, as_of: datetime
) -> dict[str, Any]:
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
        # The agency's own sentences of the directive; the whole text for rows imported before tasks existed.
        "task": state.tasks.get(facts.assignment_id) or " ".join(state.directive_text.split()),
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
        "acknowledged": facts.acknowledged_at is not None,
        "assignment_id": message.assignment_id,
        "directive_id": state.directive_id,
        "report_link": report_link(facts, message.recipient, rules, as_of),
        **contact_office(state, rules),
    }


def contact_office(state: DirectiveState, rules: FollowUpRules) -> dict[str, str]:
    """The monitoring office agencies call to report (the first monitor with a telephone), if any."""
    for code in state.facts.monitor_codes:
        if code in rules.phones:
            return {"contact_office": state.names.get(code, code), "contact_phone": rules.phones[code]}
    return {}


def insert_outbox_rows(rows: list[dict[str, Any]], *, session: Session) -> list[tuple[str, str]]:
    """Insert outbox rows; a row whose idempotency key exists is skipped, never doubled.

    Returns (plan key, channel) of each row that was new, so callers can say what they queued.
    """
    if not rows:
        return []
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(Notification.plan_key), col(Notification.channel))
    )
    # RETURNING, not rowcount: PostgreSQL reports -1 for a multi-row INSERT … ON CONFLICT.
    return [(key, channel) for key, channel in session.execute(statement).all()]


def _outbox_rows(
    state: DirectiveState,
    messages: list[PlannedMessage],
    timeliness: dict[int, Timeliness | None],
    as_of: datetime,
    extra: dict[str, Any] | None = None,
    *,
    session: Session,
    rules: FollowUpRules,
) -> list[dict[str, Any]]:
    """One outbox row per message, recipient contact and enabled channel."""
    enabled = rules.enabled_channels
    agency_ids = {a.code: a.id for a in session.exec(select(Agency)).all()}
    contacts: dict[int | None, list[AgencyContact]] = defaultdict(list)
    for contact in session.exec(select(AgencyContact).where(AgencyContact.active == True)).all():  # noqa: E712
        contacts[contact.agency_id].append(contact)
    rows: list[dict[str, Any]] = []
    for message in messages:
        agency_id = agency_ids[message.recipient_agency]
        wanted = CONTACT_ROLE[message.recipient]
        targets = [c for c in contacts[agency_id] if c.role == wanted and c.channel in enabled]
        if not targets:  # an agency without that kind of contact still hears through its office
            targets = [c for c in contacts[agency_id] if c.channel in enabled]
        payload = message_payload(state, message, timeliness.get(message.assignment_id), rules, as_of) | (extra or {})
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


def write_outbox(
    state: DirectiveState, planned: FollowUpPlan, as_of: datetime, *, session: Session, rules: FollowUpRules
) -> list[tuple[str, str]]:
    """Cancel what closed assignments no longer need, add the due messages, set next action (one transaction).

    Returns (plan key, channel) of every outbox row added.
    """
    closed = [a.assignment_id for a in state.assignments if a.is_closed]
    if closed:
        session.exec(
            update(Notification)
            .where(col(Notification.assignment_id).in_(closed), col(Notification.state).in_(("pending", "failed")))
            .values(state=NotificationState.cancelled, last_error="Đã hủy: việc đã hoàn thành hoặc được thu hồi")
        )
    rows = _outbox_rows(state, planned.messages, planned.timeliness, as_of, session=session, rules=rules)
    written = insert_outbox_rows(rows, session=session)
    # Only if nobody marked the directive since we read it (a status change sets next_action_at to now).
    unchanged = (
        col(Directive.next_action_at).is_(None)
        if state.next_action_at is None
        else col(Directive.next_action_at) == state.next_action_at
    )
    session.exec(
        update(Directive)
        .where(col(Directive.id) == state.directive_id, unchanged)
        .values(next_action_at=planned.next_action_at, last_followed_up_at=as_of)
    )
    return written


def enqueue_for_assignment(
    assignment_id: int,
    kind: str,
    key: str,
    extra: dict[str, Any],
    as_of: datetime,
    *,
    session: Session,
    rules: FollowUpRules,
) -> int:
    """Queue one message to an assignment's agency outside the ladder (e.g. an extension decision)."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise LookupError(f"assignment {assignment_id} does not exist")
    state = read_directive_state(assignment.directive_id, as_of, session=session, rules=rules)
    facts = next(a for a in state.assignments if a.assignment_id == assignment_id)
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
    judged = {assignment_id: classify(facts, rules.calendar, as_of)}
    rows = _outbox_rows(state, [message], judged, as_of, extra, session=session, rules=rules)
    return len(insert_outbox_rows(rows, session=session))


def queued_lines(state: DirectiveState, planned: FollowUpPlan, added: list[tuple[str, str]]) -> list[str]:
    """One Vietnamese line per message newly queued, e.g. "Báo cáo vượt cấp mức 4 → Thường trực Tỉnh ủy (email): …"."""
    channels: dict[str, list[str]] = defaultdict(list)
    for key, channel in added:
        channels[key].append(channel)
    lines = []
    for message in planned.messages:
        if message.key not in channels:
            continue
        recipient = state.names.get(message.recipient_agency, message.recipient_agency)
        subject = state.names.get(message.subject_agency, message.subject_agency)
        role = RECIPIENT_VI.get(message.recipient, message.recipient)
        about = f": việc của {subject}" if message.recipient not in LINK_RECIPIENTS else ""
        late = f", quá hạn {message.days_overdue} ngày làm việc" if message.days_overdue else ""
        lines.append(
            f"{kind_label(message.kind, message.level)} → {recipient} ({role}; "
            f"{', '.join(sorted(set(channels[message.key])))}){about}{late}"
        )
    return lines


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run's logger inside Prefect (lines show in the UI); the module's when the task is called plainly."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(name="Ghi hộp thư đi", cache_policy=NONE, **IO_RETRIES)
def record_outbox(state: DirectiveState, planned: FollowUpPlan, as_of: datetime) -> int:
    """Write the due messages and the next action time in one transaction; log and announce what was queued."""
    rules = load_follow_up_rules()
    with session_scope() as session:
        added = write_outbox(state, planned, as_of, session=session, rules=rules)
    logger = _logger()
    for line in queued_lines(state, planned, added):
        logger.info(line)
    emit_follow_up_events(state, planned, {key for key, _ in added})
    return len(added)
