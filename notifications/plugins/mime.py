"""One RFC 5322 message builder shared by the SMTP and mailbox channels.

Both channels produce the same bytes for the same message: multipart/alternative
(text/plain + text/html) wrapped in multipart/mixed when there are attachments,
an RFC 2047 UTF-8 subject, Message-ID, Date, From/To/Cc and custom headers.
The body parts are 7-bit clean (quoted-printable/base64) so any relay accepts them.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from apprise.common import NotifyFormat
from apprise.conversion import convert_between

from notifications.delivery import IDEMPOTENCY_HEADER

#: SMTP policy (CRLF, 78-column folding) that never emits 8-bit body parts.
# Python 3.11's header folder drops the space between two RFC 2047 encoded-words where it folds a
# long subject ("cần xử" arrives as "cầnxử"). Folding only at RFC 5322's hard limit of 998
# characters avoids the fold, and with it the lost space, for any subject we write.
MESSAGE_POLICY = policy.SMTP.clone(cte_type="7bit", max_line_length=998)

_HEADER_NAME_RE = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
    )
)


@dataclass(frozen=True)
class Attachment:
    """One file to attach: its display name, MIME type and content."""

    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"

    @classmethod
    def guess(cls, filename: str, content: bytes, mimetype: str | None = None) -> Attachment:
        """Build an attachment, guessing the MIME type from the file name if none is given."""
        guessed = mimetype or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return cls(filename=filename, content=content, mimetype=guessed)


def message_id_for(idempotency_key: str | None, domain: str) -> str:
    """Return a Message-ID, stable per idempotency key so duplicate deliveries share it."""
    if not idempotency_key:
        return make_msgid(domain=domain)
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<dondoc.{digest}@{domain}>"


def format_address(name: str | bool | None, addr: str) -> str:
    """Render 'Name <addr>' (or the bare address) as a unicode header value."""
    local, _, domain = addr.rpartition("@")
    display = name if isinstance(name, str) else ""
    return str(Address(display_name=display, username=local, domain=domain))


def _domain_of(address: str) -> str:
    """Return the domain part of an address, or 'localhost' when it has none."""
    _, _, domain = address.rpartition("@")
    domain = domain.strip(" >")
    return domain if re.fullmatch(r"[A-Za-z0-9.-]+", domain or "") else "localhost"


def _validated_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Reject header names/values that could inject or replace structural headers."""
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not _HEADER_NAME_RE.match(name) or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"header name not allowed: {name!r}")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} contains a line break")
        clean[name] = value
    return clean


def build_message(
    *,
    subject: str,
    text: str,
    html: str | None,
    from_addr: str,
    to: Sequence[str],
    cc: Iterable[str] = (),
    reply_to: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    attachments: Iterable[Attachment] = (),
    idempotency_key: str | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    now: datetime | None = None,
) -> EmailMessage:
    """Build the complete RFC 5322 message (addresses may carry display names)."""
    if not to:
        raise ValueError("a message needs at least one To recipient")
    extra = _validated_headers(dict(headers or {}))
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = from_addr
    message["To"] = ", ".join(to)
    cc_list = list(cc)
    if cc_list:
        message["Cc"] = ", ".join(cc_list)
    reply_list = list(reply_to)
    if reply_list:
        message["Reply-To"] = ", ".join(reply_list)
    # Subjects are one logical line (RFC 5322 §2.2.3); the policy folds and RFC 2047-encodes it.
    message["Subject"] = " ".join(subject.split())
    moment = now or datetime.now(ZoneInfo(timezone))
    message["Date"] = format_datetime(moment)
    message["Message-ID"] = message_id_for(idempotency_key, _domain_of(from_addr))
    if idempotency_key and IDEMPOTENCY_HEADER not in extra:
        extra[IDEMPOTENCY_HEADER] = idempotency_key
    for name, value in extra.items():
        message[name] = value

    message.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    for item in attachments:
        maintype, _, subtype = item.mimetype.partition("/")
        message.add_attachment(
            item.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return message


def from_apprise(attach: Iterable[object] | None) -> list[Attachment]:
    """Read Apprise attachment objects into Attachments (OSError if one is unreadable)."""
    items: list[Attachment] = []
    for number, item in enumerate(attach or (), start=1):
        if not item:  # AttachBase is falsy when its file cannot be accessed
            raise OSError(f"attachment not readable: {item.url(privacy=True)}")  # type: ignore[attr-defined]  # Apprise's attachment base is untyped
        with item.open() as handle:  # type: ignore[attr-defined]  # Apprise's attachment base is untyped
            content = handle.read()
        name = getattr(item, "name", None) or f"file{number:03}.dat"
        items.append(Attachment.guess(name, content, getattr(item, "mimetype", None)))
    return items


def email_parts(plugin: Any, body: str, body_format: NotifyFormat | None) -> tuple[str, str | None, dict[str, str]]:
    """Text, HTML and headers of an e-mail plugin's next message: the outbox's own, else Apprise's body."""
    context = plugin.delivery_context
    if context is not None and context.text is not None:
        text, html = context.text, context.html
    elif plugin.resolve_format(body_format) == NotifyFormat.HTML:
        text, html = convert_between(NotifyFormat.HTML, NotifyFormat.TEXT, body), body
    else:
        text, html = body, None
    headers = dict(plugin.headers)
    if context is not None:
        headers.update(context.headers)
        headers[IDEMPOTENCY_HEADER] = context.idempotency_key
    return text, html, headers
