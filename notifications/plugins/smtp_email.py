"""E-mail over SMTP for `mailto://` / `mailtos://` URLs, with SMTP replies kept for classification.

Apprise's own NotifyEmail parses the URL (host, port, mode=insecure|ssl|starttls, user,
password, from=, to=, cc=, bcc=, reply=, +Header=value, cto=, verify=) and we keep all of
that by subclassing it. Its transport, however, logs SMTP failures at DEBUG and returns
False, which loses the reply code the outbox needs (4xx → retry later, 5xx → give up).
So `send()` here builds the message with the shared builder (our own text/plain part, not
a conversion of the HTML) and talks SMTP through smtplib directly, recording a SendResult.

Unlike Apprise, all To addresses go into ONE message (one Message-ID, one provider id);
the outbox has one row per recipient anyway.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading

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
        if self.secure_mode == SecureMailMode.SSL:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.smtp_host, self.port, timeout=timeout, context=_tls_context(self.verify_certificate)
            )
        else:
            client = smtplib.SMTP(self.smtp_host, self.port, timeout=timeout)
        try:
            if self.secure_mode == SecureMailMode.STARTTLS:
                client.starttls(context=_tls_context(self.verify_certificate))
            if self.user and self.password:
                client.login(self.user, self.password)
        except BaseException:
            client.close()
            raise
        return client

    def _addresses(self) -> tuple[list[str], list[str], list[str], list[str]]:
        """Return (To header values, Cc header values, Reply-To values, envelope recipients)."""
        to_addrs = [addr for _, addr in self.targets]
        cc_addrs = sorted(self.cc - set(to_addrs) - self.bcc)
        to_hdr = [format_address(name, addr) for name, addr in self.targets]
        cc_hdr = [format_address(self.names.get(addr), addr) for addr in cc_addrs]
        reply_hdr = [format_address(self.names.get(addr), addr) for addr in sorted(self.reply_to)]
        envelope = list(dict.fromkeys(to_addrs + cc_addrs + sorted(self.bcc)))
        return to_hdr, cc_hdr, reply_hdr, envelope

    def send(
        self,
        body: str,
        title: str = "",
        notify_type: NotifyType = NotifyType.INFO,
        attach: object = None,
        body_format: NotifyFormat | None = None,
        **kwargs: object,
    ) -> bool:
        """Build one message for all recipients and submit it; record the classified result."""
        text, html, headers = email_parts(self, body, body_format)
        from_name, from_addr = self.from_addr
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
            return self.record_result(SendResult.permanent(f"message could not be built: {exc}"))

        self.throttle()
        try:
            client = self._open_smtp()
            try:
                refused = client.sendmail(from_addr, envelope, message.as_bytes())
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except Exception as exc:  # noqa: BLE001 - classified below (transient or permanent); nothing escapes into Apprise
            result = classify_smtp_error(exc)
            self.logger.warning("E-mail to %s not sent: %s", self.smtp_host, result.error)
            return self.record_result(result)

        message_id = str(message["Message-ID"])
        if refused:
            note = "; ".join(f"{a}: {c} {_reply_text(m)}" for a, (c, m) in refused.items())
            self.logger.warning("E-mail accepted but some recipients refused: %s", note)
            return self.record_result(SendResult.delivered(message_id, f"recipients refused: {note}"))
        self.logger.info("E-mail %s sent to %d recipient(s)", message_id, len(envelope))
        return self.record_result(SendResult.delivered(message_id))
