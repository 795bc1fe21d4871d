"""Prefect tasks around replies: handle one reply, poll a reply mailbox, publish the held replies.

These are the task wrappers that open sessions (`models.db.session_scope`). Handling a reply takes
two short transactions around the one thing that cannot sit inside a transaction: starting the
extension review flow (it commits its own request). The CLI and the intake app, which run outside
any flow, call the plain functions (`.fn`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from sqlmodel import Session, select

from domain.reply_email import parse_mail
from domain.reply_reading import ReplyKind
from domain.safe_text import markdown_text
from domain.workdays import VN_TZ
from models.db import session_scope
from models.intake import PollCursor, PolledItem
from models.types import utcnow
from tasks.extensions import ExtensionUnavailable, StartReview, request_extension
from tasks.replies import (
    ITEM_SOURCE,
    HeldReply,
    Reply,
    ReplyOutcome,
    claim_message,
    decide,
    held_replies,
    record_reply,
)
from tasks.reply_mailbox import Destination, FetchedMessage, MailboxPoll, MailboxSpec, connect, poll_folder
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules
from tasks.status_recording import StatusChangeRefused

logger = logging.getLogger("dondoc.replies")


def _seen(reply: Reply, *, session: Session) -> bool:
    """Whether the message was handled before (read-only)."""
    found = session.exec(
        select(PolledItem.id).where(
            PolledItem.source == ITEM_SOURCE[reply.channel], PolledItem.item_key == reply.item_key
        )
    ).first()
    return found is not None


def _start_extensions(reply: Reply, outcome: ReplyOutcome, start_review: StartReview | None) -> ReplyOutcome:
    """Start the review flow for each extension request; a refusal holds the whole reply with the reason."""
    for target in outcome.targets:
        statement = target.statement
        if statement.kind is not ReplyKind.extension or statement.extension_until is None:
            continue
        try:
            with session_scope() as session:
                request_extension(
                    target.assignment_id,
                    session=session,
                    until=statement.extension_until,
                    reason=statement.extension_reason or "",
                    requested_by=reply.reporter,
                    agency_id=target.agency_id,
                    start=start_review,
                )
        except (StatusChangeRefused, ExtensionUnavailable) as exc:
            return ReplyOutcome("held", [f"đề nghị gia hạn chưa chuyển được: {exc}"], outcome.targets)
        outcome.extensions.append(target)
    return outcome


def handle_reply(
    reply: Reply,
    *,
    rules: FollowUpRules,
    start_review: StartReview | None = None,
    as_of: datetime | None = None,
) -> ReplyOutcome:
    """Decide, start any extension review, then record (or hold) the reply once; announce what changed."""
    as_of = as_of or utcnow()
    with session_scope(read_only=True) as session:
        if _seen(reply, session=session):
            return ReplyOutcome("duplicate")
        outcome = decide(reply, session=session)
    if outcome.state == "recorded":
        outcome = _start_extensions(reply, outcome, start_review)
    # The status updates' events go out when this commits (tasks.status_events), never for a rollback.
    with session_scope() as session:
        if not claim_message(reply, session=session):
            return ReplyOutcome("duplicate")
        try:
            outcome = record_reply(reply, outcome, session=session, rules=rules, as_of=as_of)
        except HeldReply as exc:
            session.rollback()  # nothing of the refused reply stays, nor its queued events
            if not claim_message(reply, session=session):
                return ReplyOutcome("duplicate")
            held = ReplyOutcome("held", [str(exc)], outcome.targets)
            outcome = record_reply(reply, held, session=session, rules=rules, as_of=as_of)
    logger.info("Reply %s from %s: %s", reply.message_id, reply.sender, outcome.line())
    return outcome


@task(name="Ghi nhận tin trả lời", cache_policy=NONE, **IO_RETRIES)
def process_reply(reply: Reply, start_review: StartReview | None = None) -> ReplyOutcome:
    """Handle one reply (task wrapper: loads the follow-up rules at the edge)."""
    return handle_reply(reply, rules=load_follow_up_rules(), start_review=start_review)


def handle_email(
    raw: bytes, *, rules: FollowUpRules, start_review: StartReview | None = None, as_of: datetime | None = None
) -> ReplyOutcome:
    """Handle one raw e-mail (a poll, or `dondoc intake reply FILE.eml`); as_of is when it counts as received."""
    as_of = as_of or utcnow()
    return handle_reply(Reply.from_mail(parse_mail(raw), as_of), rules=rules, start_review=start_review, as_of=as_of)


# --- the mailbox ----------------------------------------------------------------------------------


@dataclass
class ReplyPoll:
    """One poll of one reply mailbox."""

    name: str
    mailbox: MailboxPoll
    outcomes: list[ReplyOutcome]

    def line(self) -> str:
        """One Vietnamese line."""
        recorded = sum(o.state == "recorded" for o in self.outcomes)
        held = sum(o.state == "held" for o in self.outcomes)
        again = sum(o.state == "duplicate" for o in self.outcomes)
        return f"Hộp thư {self.name}: {self.mailbox.read} thư mới, {recorded} ghi nhận, {held} giữ lại, {again} đã xử lý trước đó"


def _cursor_key(name: str) -> str:
    """The PollCursor row of a reply mailbox: the source's own row (`dondoc intake sources` shows it)."""
    return name


def _load_cursor(name: str) -> str | None:
    """The saved UID cursor of a mailbox."""
    with session_scope(read_only=True) as session:
        row = session.exec(select(PollCursor).where(PollCursor.source == _cursor_key(name))).first()
        return row.cursor if row else None


def _save_cursor(name: str, cursor: str) -> None:
    """Save the UID cursor right after a message is handled (so it is never read again)."""
    with session_scope() as session:
        row = session.exec(select(PollCursor).where(PollCursor.source == _cursor_key(name))).first()
        now = utcnow()
        if row is None:
            row = PollCursor(source=_cursor_key(name), failures=0)
        row.cursor, row.last_success_at, row.last_attempt_at = cursor, now, now
        session.add(row)


def poll_reply_mailbox(
    name: str,
    spec: MailboxSpec,
    *,
    rules: FollowUpRules,
    start_review: StartReview | None = None,
    as_of: datetime | None = None,
) -> ReplyPoll:
    """Read the mailbox's new messages, handle each, move it to the processed or held folder."""
    outcomes: list[ReplyOutcome] = []

    def handle(message: FetchedMessage) -> Destination:
        if message.too_large:
            logger.warning("Reply mailbox %s: message UID %s is too large to read; held", name, message.uid)
            return "held"
        outcome = handle_email(message.raw, rules=rules, start_review=start_review, as_of=as_of)
        outcomes.append(outcome)
        return "held" if outcome.state == "held" else "processed"

    with connect(spec) as client:
        polled = poll_folder(client, spec, _load_cursor(name), handle, lambda cursor: _save_cursor(name, cursor))
    result = ReplyPoll(name, polled, outcomes)
    logger.info(result.line())
    return result


@task(name="Đọc hộp thư trả lời", cache_policy=NONE, **IO_RETRIES)
def poll_reply_mailbox_task(name: str, spec: MailboxSpec, start_review: StartReview | None = None) -> ReplyPoll:
    """Poll one reply mailbox (task wrapper), then publish the held replies."""
    result = poll_reply_mailbox(name, spec, rules=load_follow_up_rules(), start_review=start_review)
    publish_held_replies()
    return result


# --- held replies ---------------------------------------------------------------------------------


def held_reply_lines(held: list[dict[str, Any]]) -> list[str]:
    """Markdown rows of held replies (every outside text escaped)."""
    lines = ["| Nhận lúc | Kênh | Người gửi | Lý do giữ lại | Nội dung |", "|---|---|---|---|---|"]
    for item in held:
        seen: datetime = item["seen_at"]
        when = seen.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")
        channel = "Thư điện tử" if item.get("channel") == "email" else "Zalo"
        reasons = "; ".join(item.get("reasons") or [])
        lines.append(
            f"| {when} | {channel} | {markdown_text(str(item.get('sender', '')))} | {markdown_text(reasons)} "
            f"| {markdown_text(str(item.get('text', ''))[:200])} |"
        )
    return lines


def publish_held_replies(create: Callable[..., Any] = create_markdown_artifact) -> int:
    """Publish the held replies as a Prefect markdown artifact (key held-replies); return how many."""
    with session_scope(read_only=True) as session:
        held = held_replies(session=session)
    body = "# Tin trả lời chờ cán bộ xem xét\n\n"
    body += "\n".join(held_reply_lines(held)) if held else "Không có tin trả lời nào đang chờ xem xét."
    create(key="held-replies", markdown=body, description="Tin trả lời của cơ quan chưa được ghi nhận, kèm lý do")
    return len(held)
