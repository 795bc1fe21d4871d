"""Tables of the status intake: agency API tokens, per-agency link revocation, polled-source cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class ApiToken(SQLModel, table=True):
    """A per-agency API token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "intake_api_token"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    # SHA-256 hex of the whole token: tokens are 256-bit random, so a fast unsalted hash is enough.
    token_hash: str = Field(sa_type=String(64), unique=True)
    # The token's public beginning ("dd_" + 8 characters), to recognise it in lists and logs.
    prefix: str = Field(sa_type=String(16))
    label: str | None = Field(default=None, sa_type=String(255))
    created_by: str = Field(sa_type=String(255))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LinkRevocation(SQLModel, table=True):
    """Signed links of one agency issued before not_before are refused (short of rotating the key)."""

    __tablename__ = "intake_link_revocation"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", unique=True)
    not_before: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, sa_type=Text)
    revoked_by: str = Field(sa_type=String(255))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PollCursor(SQLModel, table=True):
    """Where a polled status source stands: its cursor, when to poll it next, its last failure."""

    __tablename__ = "intake_poll_cursor"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=String(128), unique=True)
    cursor: str | None = Field(default=None, sa_type=Text)
    # A poll claims the source by moving this forward; it is also the retry time after a failure.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)


class PolledItem(SQLModel, table=True):
    """One item a source delivered (an update id, or a file's hash): read once, never again."""

    __tablename__ = "intake_polled_item"
    __table_args__ = (
        UniqueConstraint("source", "item_key", name="uq_polled_item_source_key"),
        CheckConstraint("outcome IN ('recorded', 'rejected')", name="ck_polled_item_outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_type=String(128))
    item_key: str = Field(sa_type=String(255))
    outcome: str = Field(sa_type=String(16))
    detail: str | None = Field(default=None, sa_type=Text)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
