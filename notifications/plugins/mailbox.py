"""`mailbox://` — the embedded default channel: one RFC 5322 `.eml` file per message.

URL shape::

    mailbox:///ABSOLUTE/FOLDER?to=ADDR[,ADDR]&cc=ADDR[,ADDR]&from=ADDR&reply=ADDR
    mailbox://RELATIVE/FOLDER?to=…        (relative to DONDOC_HOME, e.g. mailbox://mailbox)
    mailbox://~/FOLDER?to=…               (relative to the user's home)

Addresses may carry a display name (`Sở Tài chính <stc@example.vn>`, URL-encoded).
`to=` is required; `from=` defaults to `dondoc@localhost`; `+Header=value` adds a header.

Each message is written to a hidden temporary file in the same folder, fsynced, then
renamed to `YYYYmmddTHHMMSSffffffZ-<key>-<random>.eml` and the folder fsynced, so a
reader never sees a half-written file and a crash never leaves a visible partial one.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from apprise.common import NotifyFormat, NotifyType
from apprise.exception import AppriseImproperlyConfigured
from apprise.locale import gettext_lazy as _
from apprise.plugins.base import NotifyBase
from apprise.utils.parse import is_email, parse_emails

from config.settings import get_settings
from notifications.delivery import IDEMPOTENCY_HEADER, SendResult
from notifications.plugins.base import DondocPlugin
from notifications.plugins.mime import build_message, email_parts, format_address, from_apprise

DEFAULT_FROM = "dondoc@localhost"
_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


def _parse_addresses(value: str | None, what: str) -> list[tuple[str | None, str]]:
    """Parse a comma list of addresses into (name, addr) pairs; raise on an invalid one."""
    pairs: list[tuple[str | None, str]] = []
    for raw in parse_emails(value or ""):
        found = is_email(raw)
        if not found:
            raise AppriseImproperlyConfigured(f"invalid {what} address: {raw!r}")
        pairs.append((found["name"] or None, found["full_email"]))
    return pairs


def resolve_folder(spec: str) -> Path:
    """Resolve a mailbox folder spec: absolute, ~-relative, or relative to DONDOC_HOME."""
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = get_settings().home / path
    return path


def safe_file_name(idempotency_key: str | None, now: datetime | None = None) -> str:
    """Return a unique, filesystem-safe .eml file name that sorts by time."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    slug = _SLUG_RE.sub("_", idempotency_key or "").strip("._-")[:60] or "message"
    return f"{moment:%Y%m%dT%H%M%S%fZ}-{slug}-{uuid.uuid4().hex[:12]}.eml"


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write data to folder/name via temp file + fsync + rename, then fsync the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    temp = folder / f".{name}.tmp"
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return final


class NotifyMailbox(DondocPlugin, NotifyBase):
    """Apprise plugin that delivers e-mail messages into a local folder as .eml files."""

    service_name = _("dondoc mailbox folder")
    protocol = "mailbox"
    setup_url = "https://www.rfc-editor.org/rfc/rfc5322"
    notify_format = (NotifyFormat.HTML, NotifyFormat.TEXT)
    attachment_support = True
    request_rate_per_sec = 0
    title_maxlen = 998  # one RFC 5322 header line

    templates = ("{schema}://{folder}",)
    template_tokens = dict(
        NotifyBase.template_tokens,
        **{"folder": {"name": _("Folder"), "type": "string", "required": True}},
    )
    template_args = dict(
        NotifyBase.template_args,
        **{
            "to": {"name": _("To Email"), "type": "string", "map_to": "targets"},
            "cc": {"name": _("Carbon Copy"), "type": "list:string"},
            "from": {"name": _("From Email"), "type": "string", "map_to": "from_addr"},
            "reply": {"name": _("Reply To"), "type": "list:string", "map_to": "reply_to"},
        },
    )
    template_kwargs = {"headers": {"name": _("Email Header"), "prefix": "+"}}

    def __init__(
        self,
        folder: str,
        targets: str | None = None,
        cc: str | None = None,
        from_addr: str | None = None,
        reply_to: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        """Validate the folder spec and the addresses."""
        super().__init__(**kwargs)
        if not folder or "\x00" in folder:
            raise AppriseImproperlyConfigured("a mailbox folder is required")
        self.folder_spec = folder
        self.targets = _parse_addresses(targets, "To")
        if not self.targets:
            raise AppriseImproperlyConfigured("a mailbox URL needs to=ADDRESS")
        self.cc = _parse_addresses(cc, "Cc")
        self.reply_to = _parse_addresses(reply_to, "Reply-To")
        senders = _parse_addresses(from_addr or DEFAULT_FROM, "From")
        if len(senders) != 1:
            raise AppriseImproperlyConfigured("a mailbox URL takes exactly one from= address")
        self.from_addr = senders[0]
        self.headers = dict(headers or {})

    @property
    def folder(self) -> Path:
        """The resolved folder the .eml files go into."""
        return resolve_folder(self.folder_spec)

    @property
    def url_identifier(self) -> tuple[str, str]:
        """Identify the URL by its folder only (recipients are not part of the identity)."""
        return (self.protocol, self.folder_spec)

    def url(self, privacy: bool = False, *args: object, **kwargs: object) -> str:
        """Rebuild the URL (nothing in it is secret)."""
        params: dict[str, str] = {
            "to": ",".join(format_address(n, a) for n, a in self.targets),
            "from": format_address(*self.from_addr),
        }
        if self.cc:
            params["cc"] = ",".join(format_address(n, a) for n, a in self.cc)
        if self.reply_to:
            params["reply"] = ",".join(format_address(n, a) for n, a in self.reply_to)
        params.update({f"+{k}": v for k, v in self.headers.items()})
        params.update(self.url_parameters(privacy=privacy, *args, **kwargs))
        folder = NotifyMailbox.quote(self.folder_spec, safe="/~")
        return f"{self.protocol}://{folder}?{NotifyMailbox.urlencode(params)}"

    def __len__(self) -> int:
        """One file per message, whatever the number of recipients."""
        return 1

    @staticmethod
    def parse_url(url: str) -> dict[str, Any] | None:
        """Split a mailbox:// URL into constructor arguments (the folder is read verbatim)."""
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        # Apprise's parser folds mailbox:///abs/path into host+path; take the raw path instead.
        parts = urlsplit(url)
        results["folder"] = unquote(parts.netloc + parts.path)
        qsd = results["qsd"]
        results["targets"] = qsd.get("to")
        results["cc"] = qsd.get("cc")
        results["from_addr"] = qsd.get("from")
        results["reply_to"] = qsd.get("reply")
        results["headers"] = {NotifyMailbox.unquote(k): NotifyMailbox.unquote(v) for k, v in results["qsd+"].items()}
        return results

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        attach: object = None,
        body_format: NotifyFormat | None = None,
        **kwargs: object,
    ) -> bool:
        """Write the message as one .eml file; record the file name as provider id."""
        text, html, headers = email_parts(self, body, body_format)
        key = headers.get(IDEMPOTENCY_HEADER)
        try:
            message = build_message(
                subject=title,
                text=text,
                html=html,
                from_addr=format_address(*self.from_addr),
                to=[format_address(n, a) for n, a in self.targets],
                cc=[format_address(n, a) for n, a in self.cc],
                reply_to=[format_address(n, a) for n, a in self.reply_to],
                headers=headers,
                attachments=from_apprise(attach),  # type: ignore[arg-type]  # Apprise's AppriseAttachment is untyped
                idempotency_key=key,
                timezone=get_settings().timezone,
            )
        except (ValueError, OSError) as exc:
            self.logger.warning("Mailbox message could not be built: %s", exc)
            return self.record_result(SendResult.permanent(f"message could not be built: {exc}"))
        try:
            path = write_atomically(self.folder, safe_file_name(key), message.as_bytes())
        except OSError as exc:
            self.logger.warning("Mailbox write to %s failed: %s", self.folder, exc)
            return self.record_result(SendResult.retry_later(f"mailbox write failed: {exc}"))
        self.logger.info("Mailbox message written to %s", path)
        return self.record_result(SendResult.delivered(path.name))
