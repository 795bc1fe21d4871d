"""Per-agency API tokens: created once and shown once, stored only as a SHA-256, revocable."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from domain.safe_text import nfc
from models import Agency, AuditEvent
from models.intake import ApiToken
from models.types import utcnow

TOKEN_PREFIX = "dd_"
_TOKEN_RE = re.compile(r"^dd_[A-Za-z0-9_-]{43}$")
# Writing last_used_at on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token operation that cannot be done; the message is Vietnamese."""


@dataclass(frozen=True)
class Caller:
    """The agency behind a valid token."""

    token_id: int
    agency_id: int
    agency_code: str
    agency_name: str
    last_used_at: datetime | None = None

    def due_for_touch(self, now: datetime) -> bool:
        """Whether last_used_at is stale enough to be written again."""
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the token itself)."""

    id: int
    agency_code: str
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(agency_code: str, *, label: str | None, created_by: str, session: Session) -> tuple[TokenInfo, str]:
    """Create a token for an agency; return its record and the token (the only time it exists in clear)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    agency = session.exec(select(Agency).where(Agency.code == nfc(agency_code).strip())).first()
    if agency is None:
        raise TokenError(f"không có cơ quan mã «{agency_code}» (xem: dondoc agencies list)")
    row = ApiToken(
        agency_id=agency.id,  # type: ignore[arg-type]  # a stored agency has an id
        token_hash=hash_token(token),
        prefix=token[:11],
        label=label,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    session.add(
        AuditEvent(
            actor=created_by,
            action="intake.token_created",
            entity_type="agency",
            entity_id=agency.id,
            details={"token_id": row.id, "prefix": row.prefix, "label": label},
        )
    )
    info = TokenInfo(row.id, agency.code, row.prefix, label, row.created_at, None, None)  # type: ignore[arg-type]  # flushed: id set
    return info, token


def list_tokens(agency_code: str | None = None, *, session: Session) -> list[TokenInfo]:
    """Every token (or one agency's), newest first."""
    query = (
        select(ApiToken, Agency.code)
        .join(Agency, col(Agency.id) == ApiToken.agency_id)
        .order_by(col(ApiToken.id).desc())
    )
    if agency_code:
        query = query.where(Agency.code == nfc(agency_code).strip())
    return [
        TokenInfo(t.id, code, t.prefix, t.label, t.created_at, t.last_used_at, t.revoked_at)  # type: ignore[arg-type]  # stored: id set
        for t, code in session.exec(query).all()
    ]


def revoke_token(ref: str, *, revoked_by: str, session: Session) -> TokenInfo:
    """Revoke a token given by its id or its prefix (dd_xxxxxxxx)."""
    ref = nfc(ref).strip()
    query = (
        select(ApiToken).where(ApiToken.id == int(ref))
        if ref.isascii() and ref.isdigit()
        else select(ApiToken).where(ApiToken.prefix == ref)
    )
    found = session.exec(query).all()
    if len(found) != 1:
        raise TokenError(
            f"không tìm thấy mã truy cập «{ref}»"
            if not found
            else f"nhiều mã truy cập bắt đầu bằng «{ref}»; dùng số thứ tự"
        )
    row = found[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(
            AuditEvent(
                actor=revoked_by,
                action="intake.token_revoked",
                entity_type="agency",
                entity_id=row.agency_id,
                details={"token_id": row.id, "prefix": row.prefix},
            )
        )
    code = session.exec(select(Agency.code).where(Agency.id == row.agency_id)).one()
    return TokenInfo(row.id, code, row.prefix, row.label, row.created_at, row.last_used_at, row.revoked_at)  # type: ignore[arg-type]  # stored: id set


def authenticate(token: str, *, session: Session) -> Caller | None:
    """The agency behind a token, or None for an unknown, malformed or revoked one."""
    if not _TOKEN_RE.match(token):
        return None
    row = session.exec(
        select(ApiToken, Agency)
        .join(Agency, col(Agency.id) == ApiToken.agency_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None or row[0].revoked_at is not None:
        return None
    api_token, agency = row
    return Caller(
        api_token.id,  # type: ignore[arg-type]  # stored: id set
        agency.id,  # type: ignore[arg-type]  # stored: id set
        agency.code,
        agency.short_name or agency.name,
        api_token.last_used_at,
    )


def touch_token(token_id: int, now: datetime, *, session: Session) -> None:
    """Note when a token was last used."""
    session.exec(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now))
