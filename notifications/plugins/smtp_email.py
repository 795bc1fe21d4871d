"""E-mail over SMTP for `mailto://` / `mailtos://` URLs, with SMTP replies kept for classification.

Apprise's own NotifyEmail parses the URL (host, port, mode=insecure|ssl|starttls, user,
password, from=, to=, cc=, bcc=, reply=, +Header=value, cto=, verify=) and we keep all of
that by subclassing it. Its transport, however, logs SMTP failures at DEBUG and returns
False, which loses the reply code the outbox needs (4xx → retry later, 5xx → give up).
So `send()` here builds the message with the shared builder (our own text/plain part, not
a conversion of the HTML) and talks SMTP through smtplib directly, recording a SendResult.

After `hold_messages()`, `send()` only builds the message and keeps it; `submit_held()` hands it
over later (the outbox builds the next message while the database commits that it is in flight).

Unlike Apprise, all To addresses go into ONE message (one Message-ID, one provider id);
the outbox has one row per recipient anyway.

Inside `smtp_batch()` (the outbox opens one per delivery batch) connections stay open and are
reused across messages, one per server and login; outside it each message has its own
connection, as before. Connecting, EHLO, STARTTLS and AUTH cost several round trips, more than
sending a message on an open connection. A kept connection the server has dropped meanwhile
(idle timeout, 421 "too many messages") is noticed before the message was handed over, so that
one message is sent again on a fresh connection; an error once DATA has begun is classified as
always, never resent here (the message may have arrived).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from apprise.common import NotifyFormat, NotifyType
from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.common import SecureMailMode

from config.settings import get_settings
from notifications.delivery import IDEMPOTENCY_HEADER, SendResult
from notifications.plugins.base import DondocPlugin
from notifications.plugins.mime import build_message, email_parts, format_address, from_apprise


def _reply_text(raw: bytes | str) -> str:
    """Decode an SMTP reply text for an error message."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())


_tls_lock = threading.Lock()
_tls_contexts: dict[bool, ssl.SSLContext] = {}


def _tls_context(verify: bool) -> ssl.SSLContext:
    """Shared client TLS context (loading the CA store costs ~25 ms, so do it once per process)."""
    with _tls_lock:
        context = _tls_contexts.get(verify)
        if context is None:
            context = ssl.create_default_context()
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            _tls_contexts[verify] = context
        return context


class _TracksData:
    """Remembers whether the DATA phase of the current message began (after it, resending could double)."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        """Mark the DATA phase, then send the message as smtplib does."""
        self.data_started = True
        return super().data(msg)  # type: ignore[misc, no-any-return]  # smtplib.SMTP.data, next in the MRO


class _SMTP(_TracksData, smtplib.SMTP):
    """smtplib.SMTP that tracks the DATA phase."""


class _SMTPSSL(_TracksData, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL that tracks the DATA phase."""


ConnectionKey = tuple[object, ...]


@dataclass(frozen=True)
class BuiltMessage:
    """One message ready for SMTP: envelope sender and recipients, the bytes, its Message-ID."""

    from_addr: str
    envelope: list[str]
    payload: bytes
    message_id: str


class SmtpConnections:
    """The SMTP connections of one delivery batch: one per server and login, reused across messages."""

    def __init__(self) -> None:
        """Start with none open."""
        self._open: dict[ConnectionKey, smtplib.SMTP] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections made in this batch (the benchmark reports it)

    def take(self, key: ConnectionKey) -> smtplib.SMTP | None:
        """Take the open connection for key, if any (it is the caller's until it gives it back)."""
        with self._lock:
            return self._open.pop(key, None)

    def give_back(self, key: ConnectionKey, client: smtplib.SMTP) -> None:
        """Keep client open for the next message to the same server."""
        with self._lock:
            previous = self._open.pop(key, None)
            self._open[key] = client
        if previous is not None:
            _quit(previous)

    def close(self) -> None:
        """Say goodbye on every open connection."""
        with self._lock:
            clients, self._open = list(self._open.values()), {}
        for client in clients:
            _quit(client)


_batch: ContextVar[SmtpConnections | None] = ContextVar("dondoc_smtp_batch", default=None)


@contextmanager
def smtp_batch() -> Iterator[SmtpConnections]:
    """Keep SMTP connections open across the sends inside the block; close them when it ends."""
    connections = SmtpConnections()
    token = _batch.set(connections)
    try:
        yield connections
    finally:
        _batch.reset(token)
        connections.close()


def _quit(client: smtplib.SMTP) -> None:
    """QUIT politely; close the socket whatever happens."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _dropped_before_data(client: smtplib.SMTP, exc: BaseException) -> bool:
    """True when a kept connection failed before the message was handed over (safe to send it again)."""
    if getattr(client, "data_started", True):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421  # "service closing": the server ended the session, not the message
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError))


def classify_smtp_error(exc: BaseException) -> SendResult:
    """Map an smtplib/socket exception to a SendResult (4xx/network → retry, 5xx → permanent)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {_reply_text(msg)}" for addr, (code, msg) in exc.recipients.items())
        if any(400 <= code < 500 for code in codes):
            return SendResult.retry_later(f"SMTP recipients refused (temporary): {detail}")
        return SendResult.permanent(f"SMTP recipients refused: {detail}")
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, _reply_text(exc.smtp_error)
        stage = type(exc).__name__.removeprefix("SMTP")
        if 500 <= code < 600:
            return SendResult.permanent(f"SMTP {code} {text} ({stage})")
        return SendResult.retry_later(f"SMTP {code} {text} ({stage})")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendResult.permanent(f"SMTP server lacks a required feature: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendResult.permanent(f"SMTP TLS certificate rejected: {exc.verify_message or exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendResult.retry_later(f"SMTP server disconnected: {exc}")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return SendResult.retry_later("SMTP connection timed out")
    if isinstance(exc, ConnectionRefusedError):
        return SendResult.retry_later("SMTP connection refused")
    if isinstance(exc, socket.gaierror):
        return SendResult.retry_later(f"SMTP host name lookup failed: {exc}")
    if isinstance(exc, (OSError, smtplib.SMTPException)):
        return SendResult.retry_later(f"SMTP error: {type(exc).__name__}: {exc}")
    return SendResult.retry_later(f"unexpected error: {type(exc).__name__}: {exc}")


class DondocEmail(DondocPlugin, NotifyEmail):
    """NotifyEmail with dondoc's message builder and a classified SMTP transport."""

    service_name = "E-Mail (dondoc)"
    # One Apprise object per message: Apprise's 5.5 s throttle would only slow retries down.
    request_rate_per_sec = 0

    def _open_smtp(self) -> smtplib.SMTP:
        """Connect, secure and authenticate according to the URL's mode."""
        timeout = float(self.socket_connect_timeout)
        port = int(self.port or 0)  # 0: smtplib's default port for the mode
        if self.secure_mode == SecureMailMode.SSL:
            client: smtplib.SMTP = _SMTPSSL(
                self.smtp_host, port, timeout=timeout, context=_tls_context(self.verify_certificate)
            )
        else:
            client = _SMTP(self.smtp_host, port, timeout=timeout)
        try:
            if self.secure_mode == SecureMailMode.STARTTLS:
                client.starttls(context=_tls_context(self.verify_certificate))
            if self.user and self.password:
                client.login(self.user, self.password)
        except BaseException:
            client.close()
            raise
        return client

    def _connection_key(self) -> ConnectionKey:
        """Messages with the same key can share a connection: same server, mode, login and certificate check."""
        return (self.secure_mode, self.smtp_host, self.port, self.user, self.password, self.verify_certificate)

    def _submit(self, from_addr: str, envelope: list[str], payload: bytes) -> dict[str, tuple[int, bytes]]:
        """Send one message, on the batch's open connection when there is one; return the refused recipients."""
        batch = _batch.get()
        key = self._connection_key()
        kept = batch.take(key) if batch is not None else None
        if kept is not None and batch is not None:
            kept.data_started = False  # type: ignore[attr-defined]  # our _SMTP/_SMTPSSL
            try:
                refused = kept.sendmail(from_addr, envelope, payload)
            except Exception as exc:
                kept.close()
                if not _dropped_before_data(kept, exc):
                    raise
                self.logger.info("SMTP connection to %s was closed by the server; reconnecting", self.smtp_host)
            else:
                batch.give_back(key, kept)
                return refused
        client = self._open_smtp()
        if batch is not None:
            batch.opened += 1
        try:
            refused = client.sendmail(from_addr, envelope, payload)
        except BaseException:
            _quit(client)
            raise
        if batch is not None:
            batch.give_back(key, client)
        else:
            _quit(client)
        return refused

    def _addresses(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """Return (To header values, Cc header values, Reply-To values, envelope recipients)."""
        to_addrs = [addr for _, addr in self.targets]
        cc_addrs = sorted(self.cc - set(to_addrs) - self.bcc)
        to_hdr = [format_address(name, addr) for name, addr in self.targets]
        cc_hdr = [format_address(self.names.get(addr), addr) for addr in cc_addrs]
        reply_hdr = [format_address(self.names.get(addr), addr) for addr in sorted(self.reply_to)]
        envelope = list(dict.fromkeys(to_addrs + cc_addrs + sorted(self.bcc)))
        return to_hdr, cc_hdr, reply_hdr, envelope

    held: list[BuiltMessage] | None = None  # while a list, send() builds messages and keeps them here

    def hold_messages(self) -> None:
        """From now on send() builds each message and keeps it for submit_held() instead of sending it."""
        self.held = []

    def submit_held(self) -> SendResult | None:
        """Hand the messages send() kept to the server; the last classified result (None if none was kept)."""
        held, self.held = self.held or [], None
        for message in held:
            self._deliver(message)
        return self.last_result if held else None

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        attach: object = None,
        body_format: NotifyFormat | None = None,
        **kwargs: object,
    ) -> bool:
        """Build one message for all recipients and submit it (or keep it, see hold_messages); record the result."""
        message = self._build(body, title, attach, body_format)
        if message is None:
            return False
        if self.held is not None:
            self.held.append(message)
            return True
        return self._deliver(message)

    def _build(self, body: str, title: str, attach: object, body_format: NotifyFormat | None) -> BuiltMessage | None:
        """The message as bytes with its envelope; None (the failure recorded) if it cannot be built."""
        text, html, headers = email_parts(self, body, body_format)
        raw_name, raw_addr = self.from_addr
        from_name = raw_name if isinstance(raw_name, (str, bool)) else None  # Apprise keeps False for "no name"
        from_addr = str(raw_addr or "")
        to_hdr, cc_hdr, reply_hdr, envelope = self._addresses()
        try:
            message = build_message(
                subject=title,
                text=text,
                html=html,
                from_addr=format_address(None if from_name == self.app_id else from_name, from_addr),
                to=to_hdr,
                cc=cc_hdr,
                reply_to=reply_hdr,
                headers=headers,
                attachments=from_apprise(attach),  # type: ignore[arg-type]
                idempotency_key=headers.get(IDEMPOTENCY_HEADER),
                timezone=get_settings().timezone,
            )
        except (ValueError, OSError) as exc:
            self.logger.warning("E-mail could not be built: %s", exc)
            self.record_result(SendResult.permanent(f"message could not be built: {exc}"))
            return None
        return BuiltMessage(from_addr, envelope, message.as_bytes(), str(message["Message-ID"]))

    def _deliver(self, message: BuiltMessage) -> bool:
        """Submit one built message; record the classified result."""
        try:
            refused = self._submit(message.from_addr, message.envelope, message.payload)
        except Exception as exc:  # noqa: BLE001 - classified below (transient or permanent); nothing escapes into Apprise
            result = classify_smtp_error(exc)
            self.logger.warning("E-mail to %s not sent: %s", self.smtp_host, result.error)
            return self.record_result(result)
        if refused:
            note = "; ".join(f"{a}: {c} {_reply_text(m)}" for a, (c, m) in refused.items())
            self.logger.warning("E-mail accepted but some recipients refused: %s", note)
            return self.record_result(SendResult.delivered(message.message_id, f"recipients refused: {note}"))
        self.logger.info("E-mail %s sent to %d recipient(s)", message.message_id, len(message.envelope))
        return self.record_result(SendResult.delivered(message.message_id))
