"""Signed report links: one assignment, one agency, an issue time, an expiry, an HMAC. Pure: no database, no settings.

A link is `{DONDOC_PUBLIC_URL}/r/{token}` with

    token = "v1." aid "." AGENCY "." issued "." expires "." base64url(HMAC-SHA256(k, "dondoc-link|v1|aid|AGENCY|issued|expires"))

where k is derived from the intake secret (the previous secret is also accepted while a rotation
settles). The fields are readable on purpose: they are not secret, only the MAC is. Rotating the
key revokes every link at once; a per-agency "not before" time (kept in the database, checked by
the caller with `LinkClaims.issued_at`) revokes one agency's older links. Because that check
trusts the issue time, `verify_token` refuses an issue time in the future (beyond a small clock
skew) and a lifetime longer than the configured one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

VERSION = "v1"
TOKEN_MAX_CHARS = 160
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
_TOKEN_RE = re.compile(
    r"^v1\.([1-9][0-9]{0,11})\.([A-Z][A-Z0-9_]{0,63})\.([0-9]{1,12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$"
)
_MAC_IN_TEXT = re.compile(r"(v1\.[0-9]+\.[A-Z0-9_]+\.[0-9]+\.[0-9]+\.)[A-Za-z0-9_-]{43}")


class LinkRefused(Exception):
    """A link that must not be honoured; `reason` is malformed, forged, expired, revoked or unknown."""

    MESSAGES: ClassVar[dict[str, str]] = {
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
    mac = _mac(key, assignment_id, agency_code, issued, expires)
    return f"{VERSION}.{assignment_id}.{agency_code}.{issued}.{expires}.{mac}"


def verify_token(
    token: str,
    keys: list[bytes],
    now: datetime,
    *,
    max_lifetime: timedelta,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> LinkClaims:
    """Check a token's form, MAC (any of keys), issue time, lifetime and expiry; revocation is the caller's.

    An issue time later than now + clock_skew, or an expiry more than max_lifetime after the
    issue time, is refused as forged: no link this system signs looks like that, and such a link
    would outlive a revocation that compares against its issue time.
    """
    if len(token) > TOKEN_MAX_CHARS:
        raise LinkRefused("malformed")
    found = _TOKEN_RE.match(token)
    if not found:
        raise LinkRefused("malformed")
    aid, code, issued, expires, mac = int(found[1]), found[2], int(found[3]), int(found[4]), found[5]
    if not any(hmac.compare_digest(mac, _mac(key, aid, code, issued, expires)) for key in keys):
        raise LinkRefused("forged")
    if (
        issued > now.timestamp() + clock_skew.total_seconds()
        or not 0 < expires - issued <= max_lifetime.total_seconds()
    ):
        raise LinkRefused("forged")
    if now.timestamp() >= expires:
        raise LinkRefused("expired")
    return LinkClaims(aid, code, datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC))


def mask_token(text: str) -> str:
    """Hide the MAC of any token in text (log lines): the link stays recognisable, not usable."""
    return _MAC_IN_TEXT.sub(r"\1…", text)


def link_url(
    base_url: str, assignment_id: int, agency_code: str, now: datetime, lifetime: timedelta, key: bytes
) -> str:
    """The full report link: base URL, /r/, a token issued now that lives `lifetime`."""
    return f"{base_url.rstrip('/')}/r/{sign_token(assignment_id, agency_code, now, now + lifetime, key)}"
