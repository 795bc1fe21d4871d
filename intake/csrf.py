"""CSRF protection of the forms: a random cookie, and a hidden field that is its MAC for this link.

The hidden field is `issued.mac` with mac = HMAC(k_csrf, "csrf|" nonce "|" sha256(link token) "|" issued).
A form posted from another site has neither the cookie (it is SameSite=Lax: browsers do not send
it with a cross-site POST) nor a field that matches it; a field copied from one link's page does
not work on another link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Literal

from domain.signed_links import derive_key

COOKIE_NAME = "dondoc_csrf"
# Lax, not Strict: officials open the page from a link in an e-mail or in Zalo, a cross-site
# navigation. Strict would withhold the cookie there, so every page opened from a message would
# set a new cookie and break the forms of pages already open in other tabs. Lax still withholds it
# from cross-site POSTs, which is what CSRF protection needs; the MAC-bound field is the second lock.
SAME_SITE: Literal["lax"] = "lax"
FIELD_NAME = "csrf_token"
MAX_AGE = timedelta(hours=12)
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_TOKEN_RE = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def new_nonce() -> str:
    """A fresh random cookie value."""
    return secrets.token_urlsafe(32)


def valid_nonce(nonce: str | None) -> bool:
    """The cookie looks like one we set."""
    return bool(nonce and _NONCE_RE.match(nonce))


def _mac(key: bytes, nonce: str, link_token: str, issued: int) -> str:
    """The MAC binding a cookie to a link and a time."""
    link_digest = hashlib.sha256(link_token.encode()).hexdigest()
    message = f"csrf|{nonce}|{link_digest}|{issued}".encode()
    digest = hmac.new(derive_key(key, "csrf"), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def form_token(key: bytes, nonce: str, link_token: str, now: datetime) -> str:
    """The hidden field for a page served to the browser holding `nonce`."""
    issued = int(now.timestamp())
    return f"{issued}.{_mac(key, nonce, link_token, issued)}"


def check(keys: list[bytes], nonce: str | None, link_token: str, submitted: str | None, now: datetime) -> bool:
    """True when the form field matches the cookie and the link, and is recent."""
    if not valid_nonce(nonce) or not submitted:
        return False
    found = _TOKEN_RE.match(submitted)
    if not found:
        return False
    issued = int(found[1])
    age = now.timestamp() - issued
    if age < -60 or age > MAX_AGE.total_seconds():
        return False
    return any(hmac.compare_digest(found[2], _mac(key, nonce, link_token, issued)) for key in keys)  # type: ignore[arg-type]  # found[2] is str once the regex matched
