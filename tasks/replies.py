"""Replies as reports (issue 15): match an agency's e-mail or Zalo reply to its assignment, read it, record it.

A reply is applied only when all of this holds, otherwise it is *held* for a coordinator with the
reason (`dondoc intake held`, the "held replies" artifact), and nothing else changes:

- it is not automatic mail (auto-reply, out-of-office, bounce, bulk);
- it answers a message dondoc sent: e-mail by In-Reply-To/References against the Message-IDs the
  outbox recorded (`Notification.provider_message_id`), Zalo by the last message sent to that user;
- the message it answers went to the assignment's own agency (not a supervisor's copy), and the
  sender is an active registered contact of that agency on that channel;
- the text is understood (domain/reply_reading.py); a reply to a digest that covers several
  assignments names each item by its number in the digest ("1. Đã hoàn thành …").

Applied replies become ordinary status updates (source `email-reply` / `zalo-reply`, the message
id in the note and the audit event), cancel the assignment's pending reminders when it is done,
and queue an acknowledgement to the sender ("Đã ghi nhận báo cáo …" with the link to correct it).
An extension request starts the existing review flow. Each message is handled once: its id is
kept as a `PolledItem` of source `reply:email` / `reply:zalo`, inserted first in the same
transaction, so a second delivery (or a second poll) records nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.planner import PlannedMessage
from domain.reply_email import InboundMail
from domain.reply_reading import AUTOMATIC_VI, AutomaticMail, ReplyKind, ReplyStatement, read_reply
from domain.safe_text import nfc
from domain.timeliness import classify
from domain.workdays import format_date_vi
from models import Agency, AgencyContact, Assignment, AssignmentStatus, AuditEvent, Notification, NotificationState
from models.intake import PolledItem
from tasks.directive_state import read_directive_state
from tasks.outbox_writer import insert_outbox_rows, message_payload
from tasks.rules import FollowUpRules
from tasks.status_events import RecordedUpdate
from tasks.status_recording import StatusChangeRefused, record_status_update

logger = logging.getLogger("dondoc.replies")

Channel = Literal["email", "zalo"]
SOURCE = {"email": "email-reply", "zalo": "zalo-reply"}  # StatusUpdate.source
ITEM_SOURCE = {"email": "reply:email", "zalo": "reply:zalo"}  # PolledItem.source: one id space per channel
CONTACT_CHANNELS = {"email": ("email", "mailbox"), "zalo": ("zalo",)}
ACK_KIND = "reply_ack"
EXCERPT_CHARS = 1500
STATUS_OF = {
    ReplyKind.acknowledged: AssignmentStatus.acknowledged.value,
    ReplyKind.in_progress: AssignmentStatus.in_progress.value,
    ReplyKind.done: AssignmentStatus.done.value,
}


@dataclass(frozen=True)
class Reply:
    """A reply from either channel, as the rules need it."""

    channel: Channel
    message_id: str
    sender: str  # an e-mail address (lowercase) or a Zalo user id
    text: str
    received_at: datetime
    sender_name: str = ""
    subject: str = ""
    answers: tuple[str, ...] = ()  # e-mail: the Message-IDs it answers, nearest first
    automatic: AutomaticMail | None = None

    @staticmethod
    def from_mail(mail: InboundMail, received_at: datetime) -> Reply:
        """An e-mail reply."""
        return Reply(
            "email",
            mail.message_id,
            mail.sender,
            mail.text,
            received_at,
            mail.sender_name,
            mail.subject,
            mail.answers,
            mail.automatic,
        )

    @property
    def item_key(self) -> str:
        """The PolledItem key: the message id, hashed when too long for the column."""
        if len(self.message_id) <= 200:
            return self.message_id
        return "sha256:" + hashlib.sha256(self.message_id.encode()).hexdigest()

    @property
    def reporter(self) -> str:
        """Who reported, for the status update and the audit trail."""
        who = f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender
        via = "thư trả lời" if self.channel == "email" else "tin nhắn Zalo"
        return f"{who} ({via})"[:255]


@dataclass(frozen=True)
class ContactRef:
    """The registered contact who replied (plain values: it outlives the session that found it)."""

    id: int
    channel: str
    address: str


@dataclass(frozen=True)
class Target:
    """One assignment a statement of the reply applies to."""

    statement: ReplyStatement
    assignment_id: int
    agency_id: int
    contact: ContactRef


@dataclass
class ReplyOutcome:
    """What handling one reply did."""

    state: Literal["recorded", "held", "duplicate"]
    reasons: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    updates: list[RecordedUpdate] = field(default_factory=list)
    extensions: list[Target] = field(default_factory=list)
    acknowledgements: int = 0

    def line(self) -> str:
        """One Vietnamese line for the CLI and the logs."""
        if self.state == "duplicate":
            return "Thư này đã được xử lý trước đó; không ghi thêm."
        if self.state == "held":
            return "Giữ lại chờ cán bộ xem xét: " + "; ".join(self.reasons)
        parts = [
            f"việc số {u.assignment_id}: {u.status}" + (f" {u.percent}%" if u.percent is not None else "")
            for u in self.updates
        ]
        parts += [f"việc số {t.assignment_id}: đề nghị gia hạn" for t in self.extensions]
        return "Đã ghi nhận " + ", ".join(parts or ["(không thay đổi)"])


# --- matching -----------------------------------------------------------------------------------

# dondoc's own Message-IDs: "<dondoc." + sha256(idempotency key)[:32] + "@domain>" (notifications/plugins/mime.py),
# the key being the row's, or the digest's for a digest.
DONDOC_MESSAGE_ID = re.compile(r"^<dondoc\.([0-9a-f]{32})@[^<>\s]+>$")


def _key_hex(key: str) -> str:
    """The Message-ID part derived from an idempotency key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _rows_by_derived_id(reply: Reply, wanted: list[str], *, session: Session) -> list[Notification]:
    """Sent e-mail rows to the sender's agencies whose derived Message-ID is one the reply answers.

    For channels that do not report the Message-ID as the provider id (the local mailbox writes a file
    and reports its name), the id is recomputed from the row's key, or from its digest's key.
    """
    agencies = session.exec(
        select(AgencyContact.agency_id).where(
            func.lower(AgencyContact.address) == reply.sender.strip().lower(),
            col(AgencyContact.channel).in_(CONTACT_CHANNELS["email"]),
        )
    ).all()
    if not agencies:
        return []
    rows = session.exec(
        select(Notification)
        .where(col(Notification.recipient_agency_id).in_(agencies), Notification.state == NotificationState.sent)
        .where(col(Notification.channel).in_(CONTACT_CHANNELS["email"]))
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
    ).all()
    for hex_id in wanted:
        digest_rows = [
            r
            for r in rows
            if any(_key_hex(e["digest"]) == hex_id for e in r.error_history if e.get("ok") and e.get("digest"))
        ]
        if digest_rows:
            return digest_rows
        single = [r for r in rows if _key_hex(r.idempotency_key) == hex_id]
        if single:
            return single
    return []


def answered_rows(reply: Reply, *, session: Session) -> list[Notification]:
    """The outbox rows of the one message the reply answers (several for a digest), in digest order."""
    if reply.channel == "email":
        for message_id in reply.answers:
            rows = session.exec(
                select(Notification)
                .where(Notification.provider_message_id == message_id, Notification.state == NotificationState.sent)
                .order_by(col(Notification.next_attempt_at), col(Notification.id))
            ).all()
            if rows:
                return list(rows)
        derived = [m.group(1) for m in map(DONDOC_MESSAGE_ID.match, reply.answers) if m]
        return _rows_by_derived_id(reply, derived, session=session) if derived else []
    last = session.exec(
        select(Notification)
        .where(Notification.channel == "zalo", Notification.address == reply.sender)
        .where(Notification.state == NotificationState.sent, col(Notification.kind) != ACK_KIND)
        .order_by(col(Notification.sent_at).desc(), col(Notification.id).desc())
        .limit(1)
    ).first()
    if last is None:
        return []
    if not last.provider_message_id:
        return [last]
    return list(
        session.exec(
            select(Notification)
            .where(Notification.provider_message_id == last.provider_message_id, Notification.channel == "zalo")
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
        ).all()
    )


def _items(rows: list[Notification]) -> dict[int, Notification]:
    """Digest item number → row: rows come in the dispatcher's digest order (next_attempt_at at the claim, then id;
    a successful send leaves next_attempt_at as it was claimed)."""
    return {number: row for number, row in enumerate(rows, start=1)}


def _sender_contact(reply: Reply, agency_id: int, *, session: Session) -> ContactRef | None:
    """The sender as an active registered contact of the agency on the reply's channel, or None."""
    contacts = session.exec(
        select(AgencyContact).where(
            AgencyContact.agency_id == agency_id,
            AgencyContact.active == True,  # noqa: E712
            col(AgencyContact.channel).in_(CONTACT_CHANNELS[reply.channel]),
        )
    ).all()
    wanted = reply.sender.strip().lower() if reply.channel == "email" else reply.sender.strip()
    for contact in contacts:
        address = contact.address.strip().lower() if reply.channel == "email" else contact.address.strip()
        if address == wanted and contact.id is not None:
            return ContactRef(contact.id, contact.channel, contact.address)
    return None


def decide(reply: Reply, *, session: Session) -> ReplyOutcome:
    """Read-only: whether the reply can be applied, and to which assignments; else why it is held."""
    if reply.automatic is not None:
        return ReplyOutcome("held", [AUTOMATIC_VI[reply.automatic]])
    rows = [r for r in answered_rows(reply, session=session) if r.assignment_id is not None]
    if not rows:
        return ReplyOutcome("held", ["không khớp với tin nhắc việc nào hệ thống đã gửi"])
    reading = read_reply(reply.text)
    if not reading.understood:
        return ReplyOutcome("held", ["không hiểu nội dung trả lời: " + "; ".join(reading.problems)])
    items = _items(rows)
    several = len({r.assignment_id for r in rows}) > 1
    numbers = [s.item_number for s in reading.statements]
    if several and any(n is None for n in numbers):
        return ReplyOutcome(
            "held",
            [f"thư tổng hợp {len(rows)} việc: cần ghi số thứ tự việc trong thư (ví dụ «1. Đã hoàn thành …»)"],
        )
    if len(set(numbers)) != len(numbers):
        return ReplyOutcome("held", ["một việc được trả lời nhiều lần trong cùng thư"])
    outcome = ReplyOutcome("recorded")
    for statement in reading.statements:
        row = rows[0] if not several else items.get(statement.item_number or 0)
        if row is None:
            return ReplyOutcome("held", [f"thư được trả lời không có việc số thứ tự {statement.item_number}"])
        assignment = session.get(Assignment, row.assignment_id)
        if assignment is None or assignment.id is None:
            return ReplyOutcome("held", ["việc được trả lời không còn trong hệ thống"])
        if row.recipient_agency_id != assignment.agency_id:
            return ReplyOutcome("held", ["tin được trả lời gửi cho cơ quan khác, không phải cơ quan thực hiện việc"])
        contact = _sender_contact(reply, assignment.agency_id, session=session)
        if contact is None:
            agency = session.get(Agency, assignment.agency_id)
            name = agency.name if agency else "cơ quan thực hiện"
            return ReplyOutcome("held", [f"người gửi {reply.sender} không phải đầu mối đã đăng ký của {name}"])
        outcome.targets.append(Target(statement, assignment.id, assignment.agency_id, contact))
    return outcome


# --- recording ----------------------------------------------------------------------------------


class HeldReply(Exception):
    """Recording found a reason to hold the reply after all (the assignment was withdrawn meanwhile …)."""


def claim_message(reply: Reply, *, session: Session) -> bool:
    """Insert the message's PolledItem now (held until recorded); False when it was handled before."""
    source = ITEM_SOURCE[reply.channel]
    seen = session.exec(
        select(PolledItem.id).where(PolledItem.source == source, PolledItem.item_key == reply.item_key)
    ).first()
    if seen is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                PolledItem(source=source, item_key=reply.item_key, outcome="rejected", seen_at=reply.received_at)
            )
    except IntegrityError:
        return False  # another process took it between the read and the insert
    return True


def _excerpt(text: str) -> str:
    """The clerk's words kept with the update (bounded)."""
    text = nfc(text).strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _detail(reply: Reply, outcome: ReplyOutcome) -> str:
    """The PolledItem detail: what a coordinator needs to act on a held reply (JSON)."""
    return json.dumps(
        {
            "channel": reply.channel,
            "message_id": reply.message_id,
            "sender": reply.sender,
            "sender_name": reply.sender_name,
            "subject": reply.subject,
            "received_at": reply.received_at.isoformat(),
            "reasons": outcome.reasons,
            "assignments": sorted({t.assignment_id for t in outcome.targets}),
            "text": _excerpt(reply.text)[:500],
        },
        ensure_ascii=False,
    )


def _understood_vi(statement: ReplyStatement) -> str:
    """What dondoc understood, in Vietnamese, for the acknowledgement."""
    if statement.kind is ReplyKind.acknowledged:
        return "đã tiếp nhận nhiệm vụ"
    if statement.kind is ReplyKind.in_progress:
        return "đang thực hiện" + (f", đạt {statement.percent}%" if statement.percent is not None else "")
    if statement.kind is ReplyKind.done:
        return "đã hoàn thành" + (f", văn bản số {statement.document_number}" if statement.document_number else "")
    if statement.kind is ReplyKind.extension and statement.extension_until:
        return f"đề nghị gia hạn đến {format_date_vi(statement.extension_until)} (lý do: {statement.extension_reason}), đã chuyển xét duyệt"
    return "không rõ"


def _cancel_pending(assignment_id: int, *, session: Session) -> None:
    """A finished assignment needs no more reminders: cancel its pending and retrying outbox rows."""
    session.exec(
        update(Notification)
        .where(col(Notification.assignment_id) == assignment_id)
        .where(col(Notification.state).in_((NotificationState.pending.value, NotificationState.failed.value)))
        .values(state=NotificationState.cancelled.value, last_error="Đã hủy: cơ quan báo hoàn thành qua thư trả lời")
    )


def queue_acknowledgement(
    reply: Reply, target: Target, understood: str, *, session: Session, rules: FollowUpRules, as_of: datetime
) -> int:
    """Queue "Đã ghi nhận báo cáo …" to the sender's own contact, with the link to correct it."""
    assignment = session.get(Assignment, target.assignment_id)
    assert assignment is not None
    state = read_directive_state(assignment.directive_id, as_of, session=session, rules=rules)
    facts = next(a for a in state.assignments if a.assignment_id == target.assignment_id)
    key = f"reply-ack|{reply.channel}|{reply.item_key}|{target.assignment_id}"
    message = PlannedMessage(
        key, ACK_KIND, target.assignment_id, facts.agency_code, "assignee", facts.agency_code, as_of, facts.current_due
    )
    payload = message_payload(state, message, classify(facts, rules.calendar, as_of), rules, as_of)
    # A finished assignment still gets its acknowledgement: the report link stays so it can be corrected.
    payload["report_link"] = payload.get("report_link") or rules.report_link(
        target.assignment_id, facts.agency_code, as_of
    )
    payload |= {"understood": understood, "reply_subject": reply.subject, "reply_channel": reply.channel}
    row = {
        "idempotency_key": key[:255],
        "plan_key": key[:255],
        "kind": ACK_KIND,
        "notice_id": state.notice_id,
        "directive_id": state.directive_id,
        # No assignment_id: the dispatcher cancels rows of finished assignments, and this one must go out.
        "assignment_id": None,
        "recipient_agency_id": target.agency_id,
        "contact_id": target.contact.id,
        "channel": target.contact.channel,
        "address": target.contact.address,
        "payload": payload,
        "state": NotificationState.pending.value,
        "planned_at": as_of,
        "next_attempt_at": as_of,
        "attempts": 0,
        "error_history": [],
        "created_at": as_of,
    }
    return len(insert_outbox_rows([row], session=session))


def record_reply(
    reply: Reply, outcome: ReplyOutcome, *, session: Session, rules: FollowUpRules, as_of: datetime
) -> ReplyOutcome:
    """In the caller's transaction (the message already claimed): apply the statements, audit, acknowledge."""
    if outcome.state == "recorded":
        for target in outcome.targets:
            statement = target.statement
            if statement.kind is ReplyKind.extension:
                continue  # started by the caller before this transaction; acknowledged below
            assignment = session.get(Assignment, target.assignment_id)
            if (
                statement.kind is ReplyKind.acknowledged
                and assignment
                and assignment.status != AssignmentStatus.assigned
            ):
                continue  # already acknowledged or further along: an "đã nhận" must not move it back
            try:
                result = record_status_update(
                    target.assignment_id,
                    session=session,
                    status=STATUS_OF[statement.kind],
                    reported_by=reply.reporter,
                    source=SOURCE[reply.channel],
                    percent=statement.percent,
                    # The clerk's words only: the note is what leaders read in the report. The message id is
                    # kept in the reply.recorded audit event below, with the ids of the updates it made.
                    note=_excerpt(statement.text),
                    document_number=statement.document_number,
                    at=as_of,
                    agency_id=target.agency_id,
                )
            except StatusChangeRefused as exc:
                raise HeldReply(str(exc)) from exc
            outcome.updates.append(result)
            if statement.kind is ReplyKind.done:
                _cancel_pending(target.assignment_id, session=session)
        for target in outcome.targets:
            outcome.acknowledgements += queue_acknowledgement(
                reply, target, _understood_vi(target.statement), session=session, rules=rules, as_of=as_of
            )
    item = session.exec(
        select(PolledItem).where(PolledItem.source == ITEM_SOURCE[reply.channel], PolledItem.item_key == reply.item_key)
    ).one()
    item.outcome = "recorded" if outcome.state == "recorded" else "rejected"
    item.detail = _detail(reply, outcome)
    session.add(
        AuditEvent(
            at=as_of,
            actor=reply.reporter,
            action="reply.recorded" if outcome.state == "recorded" else "reply.held",
            entity_type="reply",
            entity_id=item.id,
            details={
                "channel": reply.channel,
                "message_id": reply.message_id,
                "sender": reply.sender,
                "reasons": outcome.reasons,
                "assignments": [t.assignment_id for t in outcome.targets],
                "update_ids": [u.update_id for u in outcome.updates],
            },
        )
    )
    return outcome


def held_replies(*, session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """Held replies, newest first, for `dondoc intake held` and the artifact."""
    rows = session.exec(
        select(PolledItem)
        .where(col(PolledItem.source).in_(list(ITEM_SOURCE.values())), PolledItem.outcome == "rejected")
        .order_by(col(PolledItem.seen_at).desc(), col(PolledItem.id).desc())
        .limit(limit)
    ).all()
    out = []
    for row in rows:
        try:
            detail = json.loads(row.detail or "{}")
        except ValueError:
            detail = {}
        out.append({"id": row.id, "seen_at": row.seen_at, **detail})
    return out
