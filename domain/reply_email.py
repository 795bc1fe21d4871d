"""An inbound e-mail reply as dondoc needs it: who sent it, what it answers, its text, whether a person wrote it.

Pure parsing of the raw RFC 5322 bytes with the standard library (no I/O): the Message-ID (or a
content hash when a broken client sent none), the sender's address, the Message-IDs it answers
(In-Reply-To first, then References from the newest), the plain-text body (text/plain preferred,
HTML reduced to text otherwise, quoted <blockquote> parts dropped) and the automatic-mail verdict.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

from domain.reply_reading import AutomaticMail, classify_automatic
from domain.safe_text import nfc

MESSAGE_ID_RE = re.compile(r"<[^<>\s]{1,250}>")
MAX_TEXT_CHARS = 50_000


@dataclass(frozen=True)
class InboundMail:
    """One received message, reduced to what matching and reading need."""

    message_id: str
    sender: str
    sender_name: str
    subject: str
    answers: tuple[str, ...]
    text: str
    automatic: AutomaticMail | None
    sent_at: datetime | None = None


def message_ids(value: str | None) -> list[str]:
    """The <…> Message-IDs in a header value, in order."""
    return MESSAGE_ID_RE.findall(value or "")


def _html_to_text(markup: str) -> str:
    """Plain text from a reply's HTML: quoted blocks and Gmail quote divs dropped, tags removed."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", markup)
    markup = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "\n", markup)
    markup = re.sub(r"(?is)<div[^>]*class=\"?[^\">]*gmail_quote.*", "\n", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6])>", "\n", markup)
    markup = re.sub(r"(?s)<[^>]+>", "", markup)
    return html.unescape(markup)


def _part_text(part: Message) -> str:
    """A text part's content, decoded (an unknown charset falls back to UTF-8 with replacement)."""
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeDecodeError, AssertionError):
        pass
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def body_text(message: EmailMessage) -> str:
    """The reply's own text: the text/plain body, else the HTML body as text, else nothing."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = _html_to_text(text)
    return nfc(text)[:MAX_TEXT_CHARS]


def parse_mail(raw: bytes) -> InboundMail:
    """Read raw message bytes into an InboundMail (never raises on odd mail: missing parts become empty)."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default always builds EmailMessage
    headers = [(str(name), str(value)) for name, value in message.items()]
    ids = message_ids(message.get("Message-ID"))
    message_id = ids[0] if ids else f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@dondoc.invalid>"
    addresses = getaddresses([str(v) for v in message.get_all("From", [])])
    sender_name, sender = addresses[0] if addresses else ("", "")
    answers = message_ids(message.get("In-Reply-To")) + list(reversed(message_ids(message.get("References"))))
    unique_answers = tuple(dict.fromkeys(answers))
    try:
        sent_at = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent_at = None
    return InboundMail(
        message_id=message_id,
        sender=sender.strip().lower(),
        sender_name=nfc(sender_name.strip()),
        subject=nfc(str(message.get("Subject", "")).strip()),
        answers=unique_answers,
        text=body_text(message),
        automatic=classify_automatic(headers),
        sent_at=sent_at,
    )
