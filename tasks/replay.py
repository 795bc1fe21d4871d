"""The replay demo's side effects: scripted answers, the next moment that matters, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NONE
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from config.agencies import load_agencies
from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.scenario import Scenario, load_scenario
from config.settings import get_settings
from domain.labels import STATUS_VI
from domain.planner import at_local
from domain.workdays import format_date_vi, local_date
from models import Agency, Assignment, AuditEvent, Directive, Notification, StatusUpdate
from models.db import session_scope
from notifications.plugins.mime import message_id_for
from tasks.directive_state import read_directive_state
from tasks.extensions import apply_extension
from tasks.notice_import import import_notice
from tasks.reply_intake import handle_email
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules
from tasks.status_recording import record_status_update

REPLY_SOURCES = {"email-reply": "trả lời thư nhắc việc", "zalo-reply": "trả lời tin nhắn Zalo"}
REPORT_HOUR = time(10, 0)
ACK_HOUR = time(9, 0)


@dataclass(frozen=True)
class Step:
    """One scripted answer, resolved to an assignment."""

    at: datetime
    assignment_id: int
    actor: str
    status: str | None = None
    percent: int | None = None
    note: str | None = None
    document_number: str | None = None
    extension_until: str | None = None
    extension_reason: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    source: str = "scenario"  # scripted one by one, or "routine"
    reply_text: str | None = None  # answered by e-mail reply instead (tasks/replies.py reads it)


def _assignments(notice_id: int, *, session: Session) -> dict[tuple[str, str], tuple[int, int, str]]:
    """Map (directive number, agency code) to (assignment id, directive id, agency name)."""
    # Six columns: more than sqlmodel's typed select() overloads take, so SQLAlchemy's own select.
    rows = session.execute(
        sa_select(
            col(Directive.number),
            col(Agency.code),
            col(Assignment.id),
            col(Directive.id),
            col(Agency.short_name),
            col(Agency.name),
        )
        .join(Assignment, col(Assignment.directive_id) == Directive.id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(col(Directive.notice_id) == notice_id)
    ).all()
    return {(number, code): (aid, did, short or name) for number, code, aid, did, short, name in rows}


def expand_steps(
    scenario: Scenario, notice_id: int, config_dir: Path, *, session: Session, rules: FollowUpRules
) -> list[Step]:
    """Turn the scenario's routine and events into ordered steps on concrete assignments."""
    directory = load_agencies(config_dir)
    calendar = load_calendar(config_dir)
    assignments = _assignments(notice_id, session=session)
    steps: list[Step] = []
    scripted: set[tuple[str, str]] = set()
    for event in scenario.events:
        codes = directory.resolve(event.agency) or []
        for code in codes:
            key = (event.directive, code)
            if key not in assignments:
                raise LookupError(f"kịch bản: mục {event.directive} không giao cho {event.agency}")
            scripted.add(key)
            aid, _, name = assignments[key]
            if event.extension:
                ext = event.extension
                steps.append(
                    Step(
                        event.at,
                        aid,
                        name,
                        extension_until=ext.until.isoformat(),
                        extension_reason=ext.reason,
                        approved_by=ext.approved_by,
                        approved_at=ext.approved_at,
                    )
                )
            elif event.reply:
                steps.append(Step(event.at, aid, name, reply_text=event.reply))
            else:
                steps.append(Step(event.at, aid, name, event.status, event.percent, event.note, event.document_number))
    routine_codes = {code for name in scenario.routine.agencies for code in (directory.resolve(name) or [])}
    end = local_date(scenario.end)
    seen_directives: dict[int, list[Any]] = {}
    for (number, code), (aid, directive_id, name) in sorted(assignments.items()):
        if code not in routine_codes or (number, code) in scripted:
            continue
        if directive_id not in seen_directives:
            state = read_directive_state(directive_id, scenario.start, session=session, rules=rules)
            facts = next(a for a in state.assignments if a.assignment_id == aid)
            seen_directives[directive_id] = [facts.current_due, facts.obligations]
        due, obligations = seen_directives[directive_id]
        given = local_date(scenario.start)
        steps.append(
            Step(
                at_local(calendar.add_working_days(given, scenario.routine.acknowledge_after), ACK_HOUR),
                aid,
                name,
                "acknowledged",
                source="routine",
            )
        )
        if due is not None:
            day = calendar.add_working_days(due, -scenario.routine.report_before_due)
            steps.append(
                Step(
                    at_local(day, REPORT_HOUR), aid, name, "done", 100, "Đã hoàn thành.", f"{aid}/BC", source="routine"
                )
            )
            continue
        periods = [o for o in obligations if o.due <= end]
        for index, obligation in enumerate(periods, start=1):
            day = calendar.add_working_days(obligation.due, -scenario.routine.report_before_due)
            percent = min(100, round(100 * index / (len(periods) + 1)))
            steps.append(
                Step(
                    at_local(day, REPORT_HOUR),
                    aid,
                    name,
                    "in_progress",
                    percent,
                    f"Báo cáo kết quả thực hiện kỳ {obligation.period}.",
                    f"{index}{aid:03d}/BC",
                    source="routine",
                )
            )
    return sorted(steps, key=lambda s: (s.at, s.assignment_id))


def apply_step(step: Step, *, session: Session) -> str:
    """Apply one scripted answer through the same code paths as a real report or approval."""
    if step.extension_until is not None:
        session.add(
            AuditEvent(
                at=step.at,
                actor=step.actor,
                action="assignment.extension_requested",
                entity_type="assignment",
                entity_id=step.assignment_id,
                details={"until": step.extension_until, "reason": step.extension_reason},
            )
        )
        session.flush()
        apply_extension(
            step.assignment_id,
            session=session,
            until=date.fromisoformat(step.extension_until),
            reason=step.extension_reason or "",
            requested_by=step.actor,
            approved_by=step.approved_by or "",
            at=step.approved_at,
        )
        return f"{step.actor}: gia hạn đến {step.extension_until}"
    record_status_update(
        step.assignment_id,
        session=session,
        status=step.status or "in_progress",
        percent=step.percent,
        note=step.note,
        document_number=step.document_number,
        reported_by=step.actor,
        source=step.source,
        at=step.at,
    )
    return f"{step.actor}: {step.status}"


def next_moment(after: datetime, next_step_at: datetime | None, end: datetime, *, session: Session) -> datetime | None:
    """The next moment that matters: a directive's next action, a held message, or a scripted answer."""
    action = session.exec(select(func.min(Directive.next_action_at))).one()
    held = session.exec(
        select(func.min(Notification.next_attempt_at)).where(col(Notification.state).in_(("pending", "failed")))
    ).one()
    candidates = [c for c in (action, held, next_step_at) if c is not None]
    if not candidates:
        return None
    moment = max(min(candidates), after + timedelta(minutes=1))
    return moment if moment <= end else None


@dataclass(frozen=True)
class TimelineLine:
    """One line of the replay's timeline summary."""

    at: datetime
    text: str


def timeline(notice_id: int, *, session: Session) -> list[TimelineLine]:
    """Key moments of the replay: answers, extensions, and each escalation rung first reached."""
    lines: list[TimelineLine] = []
    names = {a.id: a.short_name or a.name for a in session.exec(select(Agency)).all()}
    numbers = {d.id: d.number for d in session.exec(select(Directive).where(Directive.notice_id == notice_id)).all()}
    assignment_rows = session.exec(select(Assignment).where(col(Assignment.directive_id).in_(list(numbers)))).all()
    assignments = {a.id: a for a in assignment_rows}
    for update in session.exec(
        select(StatusUpdate)
        .where(col(StatusUpdate.assignment_id).in_(list(assignments)))
        .order_by(col(StatusUpdate.reported_at))
    ).all():
        a = assignments[update.assignment_id]
        if update.source in ("scenario", *REPLY_SOURCES) or update.status == "done":
            doc = f" (văn bản số {update.document_number})" if update.document_number else ""
            doc += f" — {REPLY_SOURCES[update.source]}" if update.source in REPLY_SOURCES else ""
            lines.append(
                TimelineLine(
                    update.reported_at,
                    f"Mục {numbers[a.directive_id]}: {names[a.agency_id]} báo cáo «{STATUS_VI[update.status].lower()}»{doc}",
                )
            )
    for event in session.exec(
        select(AuditEvent).where(col(AuditEvent.action).in_(("assignment.extension_requested", "assignment.extended")))
    ).all():
        extended = assignments.get(event.entity_id) if event.entity_id is not None else None
        if extended is None:
            continue
        until = format_date_vi(date.fromisoformat(str(event.details.get("to") or event.details.get("until"))))
        verb = (
            f"đề nghị gia hạn đến {until}"
            if event.action.endswith("requested")
            else f"được gia hạn đến {until} ({event.actor})"
        )
        lines.append(
            TimelineLine(event.at, f"Mục {numbers[extended.directive_id]}: {names[extended.agency_id]} {verb}")
        )
    first_rung: dict[tuple[int, int], Notification] = {}
    for row in session.exec(
        select(Notification)
        .where(Notification.notice_id == notice_id, col(Notification.escalation_level).is_not(None))
        .order_by(col(Notification.planned_at))
    ).all():
        if row.assignment_id is not None and row.escalation_level is not None:
            first_rung.setdefault((row.assignment_id, row.escalation_level), row)
    for (aid, level), row in first_rung.items():
        a = assignments[aid]
        lines.append(
            TimelineLine(
                row.planned_at,
                f"Mục {numbers[a.directive_id]}: {names[a.agency_id]} quá hạn "
                f"{row.payload.get('days_overdue') if row.payload else '?'} ngày làm việc → bậc {level}, "
                f"báo {names.get(row.recipient_agency_id, '?')}",
            )
        )
    return sorted(lines, key=lambda line: line.at)


def message_counts(notice_id: int, *, session: Session) -> dict[str, int]:
    """How many messages of each kind the outbox sent for a notice."""
    rows = session.exec(
        select(Notification.kind, func.count())
        .where(Notification.notice_id == notice_id, Notification.state == "sent")
        .group_by(Notification.kind)
    ).all()
    return {kind: count for kind, count in rows}


def step_trigger(step: Step) -> datetime:
    """When a step takes effect: an extension when it is approved, anything else when it is sent."""
    return step.approved_at or step.at


@task(name="Nhập thông báo", cache_policy=NONE, **IO_RETRIES)
def import_at(notice_path: str, at: datetime) -> int:
    """Import the scenario's notice as if it arrived at the scenario's start."""
    config_dir = get_settings().config_dir
    return import_notice(Path(notice_path), config_dir, at=at, actor="Văn phòng Tỉnh ủy").notice_id


@task(name="Lập kịch bản", cache_policy=NONE, **IO_RETRIES)
def script(scenario_path: str, notice_id: int) -> list[Step]:
    """Resolve the scenario's routine and events to ordered steps."""
    config_dir = get_settings().config_dir
    with session_scope(read_only=True) as session:
        scenario = load_scenario(Path(scenario_path))
        return expand_steps(scenario, notice_id, config_dir, session=session, rules=load_follow_up_rules())


@task(name="Cơ quan trả lời", cache_policy=NONE, **IO_RETRIES)
def answer(steps: list[Step]) -> list[str]:
    """Apply the agencies' scripted answers that are due now."""
    lines = []
    for step in steps:
        if step.reply_text is not None:
            lines.append(reply_by_email(step))
            continue
        with session_scope() as session:
            lines.append(apply_step(step, session=session))
    return lines


def clerk_reply(step: Step, *, session: Session, mailbox_domain: str) -> bytes | None:
    """The agency's e-mail reply to the last message dondoc sent its office about the assignment, or None."""
    assignment = session.get(Assignment, step.assignment_id)
    if assignment is None:
        return None
    sent = session.exec(
        select(Notification)
        .where(Notification.assignment_id == step.assignment_id, Notification.state == "sent")
        .where(
            Notification.recipient_agency_id == assignment.agency_id,
            col(Notification.channel).in_(("email", "mailbox")),
        )
        .order_by(col(Notification.sent_at).desc(), col(Notification.id).desc())
    ).first()
    if sent is None:
        return None
    digest = next((e["digest"] for e in reversed(sent.error_history) if e.get("ok") and e.get("digest")), None)
    if sent.provider_message_id and sent.provider_message_id.startswith("<"):
        message_id = sent.provider_message_id
    else:  # the local mailbox channel reports a file name; the clerk's client sees the derived Message-ID
        message_id = message_id_for(digest or sent.idempotency_key, mailbox_domain)
    text = step.reply_text or ""
    if digest:
        members = session.exec(
            select(Notification.id, Notification.assignment_id, Notification.error_history)
            .where(Notification.address == sent.address, Notification.state == "sent")
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
        ).all()
        in_digest = [m for m in members if any(e.get("digest") == digest for e in m[2])]
        if len({m[1] for m in in_digest}) > 1:
            number = next(i for i, m in enumerate(in_digest, start=1) if m[0] == sent.id)
            text = f"{number}. {text}"
    reply = EmailMessage()
    reply["From"] = f"Văn thư {step.actor} <{sent.address}>"
    reply["To"] = f"dondoc@{mailbox_domain}"
    reply["Subject"] = f"Re: {sent.subject}" if sent.subject else "Re: nhắc việc"
    reply["Date"] = format_datetime(step.at)
    reply["Message-ID"] = make_msgid(domain=sent.address.rpartition("@")[2] or "localhost")
    reply["In-Reply-To"] = message_id
    reply["References"] = message_id
    reply.set_content(f"{text}\n\nTrân trọng,\nVăn thư {step.actor}\n")
    return bytes(reply)


def reply_by_email(step: Step) -> str:
    """Play the agency answering by e-mail reply; dondoc reads it like any reply (tasks/reply_intake.py)."""
    settings = get_settings()
    domain = load_notification_policy(settings.config_dir).mailbox_from.rpartition("@")[2] or "localhost"
    with session_scope(read_only=True) as session:
        raw = clerk_reply(step, session=session, mailbox_domain=domain)
    if raw is None:
        return f"{step.actor}: chưa nhận thư nào để trả lời"
    outcome = handle_email(raw, rules=load_follow_up_rules(settings), as_of=step.at)
    return f"{step.actor} (trả lời thư): {outcome.line()}"


@task(name="Thời điểm tiếp theo", cache_policy=NONE, **IO_RETRIES)
def next_moment_after(after: datetime, upcoming: list[Step], end: datetime) -> datetime | None:
    """The next moment at which anything happens, or None when the replay is over."""
    with session_scope(read_only=True) as session:
        return next_moment(after, min((step_trigger(s) for s in upcoming), default=None), end, session=session)
