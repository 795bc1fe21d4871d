"""The one entry point the outbox dispatcher calls to deliver a message on a channel URL.

`send_message()` builds ONE Apprise service for the URL (Apprise retries off, no throttle, no
Apprise-side timeout thread: the plugins' own socket timeouts bound the call), sends, and
classifies the outcome into a `SendResult`. It is `prepare_message()` (an e-mail is built to its
bytes there) followed by `PreparedMessage.send()` (the hand-over), which the outbox calls apart. dondoc's own plugins (e-mail, mailbox, Zalo) are
called directly (`NotifyBase.notify()`, which Apprise supports) and record their classified
result themselves; any other service goes through an Apprise object, whose logs explain a failure:

- `mailto://` / `mailtos://`: SMTP 4xx, refused connections, timeouts → retryable; 5xx → permanent.
- `zalo://` / `zns://`: see notifications.plugins.zalo (−32/−100/−211 retryable, −213/−108/−230 permanent).
- `mailbox://`: write errors → retryable.
- any other Apprise URL: success or a retryable failure carrying Apprise's warnings.

The idempotency key travels as the `X-Dondoc-Key` header (e-mail, mailbox; also the basis of
a stable Message-ID) and as the ZNS `tracking_id`. Zalo OA/ZNS get no subject: the Zalo text
(or the ZNS template_data) is self-contained. Attachments and extra headers go to e-mail and
mailbox only; generic Apprise services get subject + text.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from apprise import Apprise, AppriseAsset, AppriseAttachment, ContentLocation, NotifyFormat
from apprise.attachment.base import AttachBase
from apprise.plugins import N_MGR
from apprise.plugins.base import NotifyBase
from apprise.utils.parse import is_email, parse_emails

from notifications.delivery import (
    IDEMPOTENCY_HEADER,
    DeliveryContext,
    SendResult,
    install_log_masking,
    mask_secrets,
)
from notifications.plugins import NotifyMailbox, NotifyZaloOA, NotifyZaloZNS, register_plugins
from notifications.plugins.base import DondocPlugin
from notifications.plugins.smtp_email import DondocEmail, SmtpConnections, smtp_batch

__all__ = [
    "IDEMPOTENCY_HEADER",
    "PreparedMessage",
    "SendResult",
    "delivery_batch",
    "describe_url",
    "mask_secrets",
    "prepare_message",
    "send_message",
]

logger = logging.getLogger(__name__)
install_log_masking(__name__)

# Synchronous dispatch in the caller's thread (async_mode off, no service timeout), no retries,
# in-memory persistent store: the outbox owns retries, and nothing is written outside DONDOC_HOME.
ASSET = AppriseAsset(async_mode=False, service_timeout=0, storage_mode="memory", default_service_retry=0)

_EMAIL_SCHEMAS = {"mailto", "mailtos"}
_OWN_PLUGINS: tuple[type[NotifyBase], ...] = (NotifyZaloOA, NotifyZaloZNS, NotifyMailbox)
# Apprise's URL parameters that only restate defaults; dropped from descriptions for readability.
_NOISE_PARAMS = {"overflow", "format", "retry", "wait", "optional", "rto", "cto", "emojis", "redirect"}


def _schema_of(url: str) -> str:
    """Return the lower-cased schema of a URL ('' if it has none)."""
    head, sep, _ = url.partition("://")
    return head.strip().lower() if sep else ""


def _instantiate(url: str) -> NotifyBase | None:
    """Build the Apprise service for url (raises on invalid arguments, None if unsupported)."""
    register_plugins()
    schema = _schema_of(url)
    known = N_MGR[schema] if schema in N_MGR else None  # noqa: SIM401  # Apprise's manager has no get()
    plugin: type[NotifyBase] | None = DondocEmail if schema in _EMAIL_SCHEMAS else known
    if plugin is DondocEmail:
        batched = _batched_email(url)
        if batched is not None:
            return batched
    if plugin is DondocEmail or plugin in _OWN_PLUGINS:
        # Parsed here rather than by Apprise.instantiate(), whose TRACE log prints the raw URL.
        results = _parse_email(url) if plugin is DondocEmail else plugin.parse_url(url)
        if not results:
            raise ValueError("the URL could not be parsed")
        results["asset"] = ASSET
        return plugin(**results)
    return Apprise.instantiate(url, asset=ASSET, suppress_exceptions=False)


def _batched_email(url: str) -> DondocEmail | None:
    """Inside a delivery batch, the e-mail service for url from one built per server; None outside one.

    The outbox's URLs differ only by their one to= recipient (notifications.outbox.channel_url);
    parsing the URL and building the service cost about a fifth of a millisecond per message.
    The URL without its to= is parsed and built once per batch; each message gets a shallow copy
    whose recipients are set as NotifyEmail does: the URL's own targets, then the to= address.
    """
    cache = _email_services.get()
    head, _, query = url.partition("?")
    params = [p for p in query.split("&") if p]
    recipients = [p for p in params if p.lower().startswith("to=")]
    if cache is None or len(recipients) != 1 or not recipients[0][3:]:
        return None
    base = f"{head}?{'&'.join(p for p in params if p not in recipients)}"
    if base not in cache:
        parsed = _parse_email(base)
        if not parsed:
            return None  # described and refused by the caller, from the full URL
        cache[base] = (list(parsed["targets"]), DondocEmail(**(parsed | {"asset": ASSET})))  # type: ignore[no-untyped-call]
    targets, prototype = cache[base]
    service = copy.copy(prototype)
    service.targets = _email_targets(service, [*targets, unquote(recipients[0][3:])])
    return service


def _email_targets(service: DondocEmail, addresses: list[str]) -> list[tuple[str | bool, str]]:
    """(name or False, address) for each valid address, as NotifyEmail.__init__ reads its targets."""
    found: list[tuple[str | bool, str]] = []
    for recipient in parse_emails(addresses):  # type: ignore[no-untyped-call]  # Apprise is untyped
        email = is_email(recipient)  # type: ignore[no-untyped-call]
        if email:
            found.append((email["name"] if email["name"] else False, email["full_email"]))
        else:
            service.logger.warning("Dropped invalid To email (%s) specified.", recipient)
    return found


def _parse_email(url: str) -> dict[str, Any] | None:
    """NotifyEmail.parse_url, typed."""
    parsed: dict[str, Any] | None = DondocEmail.parse_url(url)  # type: ignore[no-untyped-call]  # Apprise's parse_url is untyped
    return parsed


def _clean_description(described: str) -> str:
    """Drop default-only query parameters from a privacy URL (urlunsplit would eat mailbox:///)."""
    base, _, query = described.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in _NOISE_PARAMS]
    return f"{base}?{urlencode(kept, safe='*@<>,:/', quote_via=quote)}" if kept else base


def _describe_service(service: NotifyBase) -> str:
    """Masked privacy URL of an instantiated service."""
    return mask_secrets(_clean_description(service.url(privacy=True)))  # type: ignore[no-untyped-call]  # Apprise's URLBase.url is untyped


def describe_url(url: str) -> str:
    """Return a safe, masked description of a channel URL (for logs, CLI and errors)."""
    try:
        service = _instantiate(url)
    except Exception:  # noqa: BLE001  # a URL Apprise cannot build is described from its text below
        service = None
    if service is not None:
        try:
            return _describe_service(service)
        except Exception:  # noqa: BLE001  # a plugin's url() bug must not hide the fallback description
            pass
    schema = _schema_of(url) or "?"
    if schema in _EMAIL_SCHEMAS | {"mailbox", "zalo", "zns"}:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        return mask_secrets(f"{schema}://{host} (invalid)")
    return f"{schema}:// (invalid or unsupported)"


def _failure_from_apprise(result: Any, service: NotifyBase) -> SendResult:
    """Classify a failure our plugins did not record (generic plugins, or a crash before send)."""
    messages: list[str] = []
    for service_result in result:
        messages.extend(entry.message for entry in service_result.logs())
    messages.extend(entry.message for entry in result.call_logs())
    detail = "; ".join(dict.fromkeys(m for m in messages if m)) or f"status {result.status.name}"
    return SendResult.retry_later(f"{service.service_name} delivery failed: {detail[:1000]}")


def _run_own(
    service: NotifyBase,
    body: str,
    title: str,
    body_format: NotifyFormat,
    attach: list[str | AttachBase | AppriseAttachment] | None,
) -> SendResult | None:
    """Run one of dondoc's plugins by Apprise's direct plugin call; the result it recorded, if any.

    Apprise's own dispatch (an Apprise object, its locale, the service lookup, the log capture and
    result objects) costs more per message than our plugins need: they record a classified
    SendResult themselves. `NotifyBase.notify()` still applies the payload cap and the format
    conversion exactly as `Apprise.notify()` does; attachments are limited to local files, as there.
    None: nothing recorded (an e-mail kept for later, or a message refused before send()).
    """
    files = AppriseAttachment(attach, asset=ASSET, location=ContentLocation.LOCAL) if attach else None
    try:
        service.notify(body=body, title=title, body_format=body_format, attach=files)
    except Exception as exc:  # noqa: BLE001  # a plugin that raises is a failed send; retrying may help
        return SendResult.retry_later(f"{service.service_name} delivery failed: {type(exc).__name__}: {exc}")
    return service.last_result if isinstance(service, DondocPlugin) else None


def _refused_before_send(service: NotifyBase) -> SendResult:
    """The result of a plugin that recorded none: refused before send(), e.g. an empty body or attachments it cannot take."""
    return SendResult.retry_later(f"{service.service_name} delivery failed before sending")


def _notify_own(
    service: NotifyBase,
    body: str,
    title: str,
    body_format: NotifyFormat,
    attach: list[str | AttachBase | AppriseAttachment] | None,
) -> SendResult:
    """Send through one of dondoc's plugins now; the plugin classifies the outcome."""
    return _run_own(service, body, title, body_format, attach) or _refused_before_send(service)


def _build_email(
    service: DondocEmail,
    body: str,
    title: str,
    body_format: NotifyFormat,
    attach: list[str | AttachBase | AppriseAttachment] | None,
) -> Callable[[], SendResult]:
    """Build an e-mail now (rendering it to bytes is most of its cost); the returned call submits it over SMTP."""
    service.hold_messages()
    built = _run_own(service, body, title, body_format, attach)
    if built is not None or not service.held:  # not built: the reason is already the result
        result = built or _refused_before_send(service)
        return lambda: result
    return lambda: service.submit_held() or _refused_before_send(service)


class PreparedMessage:
    """One message ready to hand to its channel: an e-mail is already built; `send()` hands it over, once."""

    def __init__(
        self, hand_over: Callable[[], SendResult], describe: Callable[[], str] | None, idempotency_key: str
    ) -> None:
        """Keep the hand-over call and the service's description for the outcome's log line (None: no line)."""
        self._hand_over: Callable[[], SendResult] | None = hand_over
        self._describe = describe
        self._key = idempotency_key

    @classmethod
    def failed(cls, result: SendResult, idempotency_key: str) -> PreparedMessage:
        """A message that cannot be sent (e.g. an invalid URL): send() returns result and hands nothing over."""
        return cls(lambda: result, None, idempotency_key)

    def send(self) -> SendResult:
        """Hand the message to its channel and classify the outcome (a second call raises)."""
        if self._hand_over is None:
            raise RuntimeError(f"message {self._key} was already handed over")
        hand_over, self._hand_over = self._hand_over, None
        outcome = hand_over()
        if self._describe is None:
            return outcome
        if outcome.ok:
            # Describing the service rebuilds its URL: only for a line that is kept.
            if logger.isEnabledFor(logging.INFO):
                logger.info("Sent %s via %s (id %s)", self._key, self._describe(), outcome.provider_message_id)
        else:
            logger.warning(
                "Send %s via %s failed (%s): %s",
                self._key,
                self._describe(),
                "retryable" if outcome.retryable else "permanent",
                outcome.error,
            )
        return outcome


_email_services: ContextVar[dict[str, tuple[list[str], DondocEmail]] | None] = ContextVar(
    "dondoc_email_services", default=None
)


@contextmanager
def delivery_batch() -> Iterator[SmtpConnections]:
    """Sends inside the block share connections (one per SMTP server and login) and URL parses; closed when it ends."""
    token = _email_services.set({})
    try:
        with smtp_batch() as connections:
            yield connections
    finally:
        _email_services.reset(token)


def prepare_message(
    url: str,
    *,
    subject: str,
    text: str,
    html: str | None,
    headers: Mapping[str, str] | None,
    attachments: list[Path] | None,
    idempotency_key: str,
    template_data: Mapping[str, Any] | None = None,
) -> PreparedMessage:
    """Get one message ready for one Apprise service; nothing is handed over until its send().

    An e-mail is built here, to its bytes; other channels do all their work in send(). The outbox
    builds the next message while the database commits that it is in flight (notifications/dispatcher.py).
    For `zns://`, `template_data` is the ZNS template_data; when it is None, `text` must
    already be a JSON object of template_data.
    """
    if not idempotency_key:
        raise ValueError("idempotency_key is required")
    try:
        service = _instantiate(url)
    except Exception as exc:  # noqa: BLE001  # Apprise raises many types for bad URLs; all are permanent
        return PreparedMessage.failed(
            SendResult.permanent(f"invalid channel URL {describe_url(url)}: {exc}"), idempotency_key
        )
    if service is None:
        return PreparedMessage.failed(
            SendResult.permanent(f"unsupported or invalid channel URL {describe_url(url)}"), idempotency_key
        )
    service.retry = 0
    service.request_rate_per_sec = 0

    context = DeliveryContext(idempotency_key=idempotency_key, text=text, html=html, headers=dict(headers or {}))
    if isinstance(service, DondocPlugin):
        service.prepare_delivery(context)

    title, body, body_format = subject, text, NotifyFormat.TEXT
    if isinstance(service, NotifyZaloZNS):
        title = ""
        body = json.dumps(dict(template_data), ensure_ascii=False) if template_data is not None else text
    elif isinstance(service, NotifyZaloOA):
        title = ""
    elif isinstance(service, (DondocEmail, NotifyMailbox)) and html is not None:
        body, body_format = html, NotifyFormat.HTML
    if not (body or "").strip():
        return PreparedMessage.failed(SendResult.permanent("empty message: nothing to send"), idempotency_key)

    attach: list[str | AttachBase | AppriseAttachment] | None = [str(p) for p in attachments] if attachments else None
    if attach and not service.attachment_support:
        logger.info("%s does not take attachments; %d file(s) left out", service.service_name, len(attach))
        attach = None

    hand_over: Callable[[], SendResult]
    if isinstance(service, DondocEmail):
        hand_over = _build_email(service, body, title, body_format, attach)
    elif isinstance(service, DondocPlugin):
        hand_over = partial(_notify_own, service, body, title, body_format, attach)
    else:
        hand_over = partial(_notify_apprise, service, body, title, body_format, attach)
    return PreparedMessage(hand_over, partial(_describe_service, service), idempotency_key)


def _notify_apprise(
    service: NotifyBase,
    body: str,
    title: str,
    body_format: NotifyFormat,
    attach: list[str | AttachBase | AppriseAttachment] | None,
) -> SendResult:
    """Send through an Apprise object (services that are not dondoc's); Apprise's logs explain a failure."""
    apobj = Apprise(asset=ASSET)
    apobj.add(service)
    with apobj.notify(body=body, title=title, body_format=body_format, attach=attach) as result:
        return SendResult.delivered(None) if result else _failure_from_apprise(result, service)


def send_message(
    url: str,
    *,
    subject: str,
    text: str,
    html: str | None,
    headers: Mapping[str, str] | None,
    attachments: list[Path] | None,
    idempotency_key: str,
    template_data: Mapping[str, Any] | None = None,
) -> SendResult:
    """Send one message through one Apprise service and classify the outcome (prepare_message, then send)."""
    return prepare_message(
        url,
        subject=subject,
        text=text,
        html=html,
        headers=headers,
        attachments=attachments,
        idempotency_key=idempotency_key,
        template_data=template_data,
    ).send()
