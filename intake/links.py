"""Signed report links: one assignment, one agency, an expiry, an HMAC; revoked by rotating the key.

A link is `{DONDOC_PUBLIC_URL}/r/{token}` with

    token = "v1." aid "." AGENCY "." issued "." expires "." base64url(HMAC-SHA256(k, "dondoc-link|v1|aid|AGENCY|issued|expires"))

where k is derived from DONDOC_INTAKE_SECRET (DONDOC_INTAKE_SECRET_PREVIOUS is also accepted while
a rotation settles). The fields are readable on purpose: they are not secret, only the MAC is.
Rotating the key revokes every link at once; `LinkRevocation` revokes one agency's older links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from intake.settings import IntakeConfigError, IntakeSettings, get_intake_settings

VERSION = "v1"
TOKEN_MAX_CHARS = 160
_TOKEN_RE = re.compile(
    r"^v1\.([1-9][0-9]{0,11})\.([A-Z][A-Z0-9_]{0,63})\.([0-9]{1,12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$"
)

logger = logging.getLogger("dondoc.intake")


class LinkRefused(Exception):
    """A link that must not be honoured; `reason` is malformed, forged, expired, revoked or unknown."""

    MESSAGES = {
        "malformed": "Liên kết không hợp lệ.",
        "forged": "Liên kết không hợp lệ hoặc đã bị thay đổi.",
        "expired": "Liên kết đã hết hạn.",
        "revoked": "Liên kết đã bị thu hồi.",
        "unknown": "Liên kết không hợp lệ.",
    }

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(self.MESSAGES[reason])

    @property
    def message_vi(self) -> str:
        """What the page tells the official."""
        return self.MESSAGES[self.reason]


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link grants: reporting on one assignment, for one agency, until expires_at."""

    assignment_id: int
    agency_code: str
    issued_at: datetime
    expires_at: datetime

    @property
    def rate_key(self) -> str:
        """One rate-limit bucket per link."""
        return f"link:{self.assignment_id}:{self.agency_code}:{int(self.issued_at.timestamp())}"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A separate key per purpose (links, CSRF), so one MAC can never stand in for another."""
    return hmac.new(secret, f"dondoc/{purpose}".encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, assignment_id: int, agency_code: str, issued: int, expires: int) -> str:
    """The MAC of a link's fields."""
    message = f"dondoc-link|{VERSION}|{assignment_id}|{agency_code}|{issued}|{expires}".encode()
    return _b64(hmac.new(derive_key(key, "link"), message, hashlib.sha256).digest())


def sign_token(assignment_id: int, agency_code: str, issued_at: datetime, expires_at: datetime, key: bytes) -> str:
    """Build a token for one assignment of one agency."""
    issued, expires = int(issued_at.timestamp()), int(expires_at.timestamp())
    return f"{VERSION}.{assignment_id}.{agency_code}.{issued}.{expires}.{_mac(key, assignment_id, agency_code, issued, expires)}"


def verify_token(token: str, keys: list[bytes], now: datetime) -> LinkClaims:
    """Check a token's form, MAC (current or previous key) and expiry; revocation is checked by the caller."""
    if len(token) > TOKEN_MAX_CHARS:
        raise LinkRefused("malformed")
    found = _TOKEN_RE.match(token)
    if not found:
        raise LinkRefused("malformed")
    aid, code, issued, expires, mac = int(found[1]), found[2], int(found[3]), int(found[4]), found[5]
    if not any(hmac.compare_digest(mac, _mac(key, aid, code, issued, expires)) for key in keys):
        raise LinkRefused("forged")
    if now.timestamp() >= expires:
        raise LinkRefused("expired")
    return LinkClaims(aid, code, datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC))


def mask_token(text: str) -> str:
    """Hide the MAC of any token in text (log lines): the link stays recognisable, not usable."""
    return re.sub(r"(v1\.[0-9]+\.[A-Z0-9_]+\.[0-9]+\.[0-9]+\.)[A-Za-z0-9_-]{43}", r"\1…", text)


def report_link(
    assignment_id: int, agency_code: str, *, now: datetime | None = None, settings: IntakeSettings | None = None
) -> str:
    """The signed report link for an assignment; raises IntakeConfigError when the intake is not configured."""
    settings = settings or get_intake_settings()
    now = now or datetime.now(UTC)
    key = settings.keys()[0]
    token = sign_token(assignment_id, agency_code, now, now + timedelta(days=settings.intake_link_days), key)
    return f"{settings.base_url}/r/{token}"


_warned: set[str] = set()


def report_link_or_none(assignment_id: int, agency_code: str, *, now: datetime | None = None) -> str | None:
    """The link for a message payload, or None (logged once) when the intake is not configured."""
    settings = get_intake_settings()
    if not settings.links_enabled:
        return None
    try:
        return report_link(assignment_id, agency_code, now=now, settings=settings)
    except IntakeConfigError as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            logger.warning("Messages go out without a report link: %s", exc)
        return None
