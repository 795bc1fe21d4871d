"""Delivery vocabulary shared by the channel entry point and the Apprise plugins.

`SendResult` is what the outbox dispatcher gets back for one message; `DeliveryContext`
carries what Apprise's `notify(body, title)` cannot (the hand-written plain-text part,
extra headers, the idempotency key) to dondoc's own plugins (their base class is
notifications.plugins.base.DondocPlugin); `mask_secrets` keeps tokens and passwords out
of log lines and error texts.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Header that carries the outbox idempotency key in every e-mail.
IDEMPOTENCY_HEADER = "X-Dondoc-Key"

_MASK = "***"
# Secrets shorter than this are not registered: masking them would mangle ordinary words.
_MIN_SECRET_LEN = 6
_MAX_REGISTERED = 512


@dataclass(frozen=True)
class SendResult:
    """Outcome of one send: delivered, or failed and whether retrying can help."""

    ok: bool
    retryable: bool
    provider_message_id: str | None = None
    error: str | None = None

    @classmethod
    def delivered(cls, provider_message_id: str | None, note: str | None = None) -> SendResult:
        """Return a success result (a note may carry a non-fatal warning)."""
        return cls(True, False, provider_message_id, mask_secrets(note) if note else None)

    @classmethod
    def retry_later(cls, error: str) -> SendResult:
        """Return a transient failure: the outbox should try again later."""
        return cls(False, True, None, mask_secrets(error))

    @classmethod
    def permanent(cls, error: str) -> SendResult:
        """Return a permanent failure: retrying the same message cannot succeed."""
        return cls(False, False, None, mask_secrets(error))


@dataclass(frozen=True)
class DeliveryContext:
    """Per-message data handed to dondoc plugins beside Apprise's body and title."""

    idempotency_key: str
    text: str | None = None
    html: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


# --- secret masking -------------------------------------------------------------------

_registry_lock = threading.Lock()
_registered: OrderedDict[str, None] = OrderedDict()

_SECRET_NAMES = (
    r"secret|app_secret|secret_key|refresh|refresh_token|access_token|token|"
    r"password|passwd|pass|pwd|apikey|api_key"
)
# ?secret=…, &refresh_token=… in URLs and form bodies.
_QUERY_RE = re.compile(rf"(?i)([?&;](?:{_SECRET_NAMES})=)[^&#\s'\"]+")
# "access_token": "…", access_token: …, secret_key=… in JSON, headers and reprs.
_KEYVALUE_RE = re.compile(
    r"(?i)((?:access_token|refresh_token|secret_key|app_secret|password)['\"]?\s*[:=]\s*['\"]?)"
    r"[^'\"\s,&}]+"
)
# scheme://user:password@host
_USERINFO_RE = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)


def register_secret(value: str | None) -> None:
    """Remember a secret value so mask_secrets() hides it wherever it appears."""
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _registry_lock:
        _registered[value] = None
        _registered.move_to_end(value)
        while len(_registered) > _MAX_REGISTERED:
            _registered.popitem(last=False)


def mask_secrets(text: str) -> str:
    """Return text with registered secrets, URL passwords and token-like parameters masked."""
    if not text:
        return text
    with _registry_lock:
        known = sorted(_registered, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, _MASK)
    text = _USERINFO_RE.sub(rf"\g<1>{_MASK}@", text)
    text = _QUERY_RE.sub(rf"\g<1>{_MASK}", text)
    return _KEYVALUE_RE.sub(rf"\g<1>{_MASK}", text)


class SecretMaskingFilter(logging.Filter):
    """Logging filter that masks secrets in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its masked rendering; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  # a broken format string is the logging module's business
            return True
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_filter_lock = threading.Lock()


def install_log_masking(*logger_names: str) -> None:
    """Attach one SecretMaskingFilter to each named logger (idempotent)."""
    with _filter_lock:
        for name in logger_names:
            target = logging.getLogger(name)
            if not any(isinstance(f, SecretMaskingFilter) for f in target.filters):
                target.addFilter(SecretMaskingFilter())
