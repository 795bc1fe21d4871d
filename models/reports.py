"""Tables of the periodic reporting: one row per report scope and period, generated and sent once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class ReportRun(SQLModel, table=True):
    """A periodic report that was generated and queued for delivery: what, for when, which files.

    The unique (scope, period) pair is what makes a report go out once per period, however often
    the flow runs: the row is written in the same transaction as the report's outbox rows.
    """

    __table_args__ = (UniqueConstraint("scope", "period", name="uq_reportrun_scope_period"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(sa_type=String(128))  # "notice:<id>" or "all"
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    period: str = Field(sa_type=String(16))  # "2022-Q4", "2022-10", "2022-H2", "2022"
    period_start: date
    period_end: date
    data_from: date
    cutoff: date
    send_on: date  # the date printed on the report and the day it is delivered
    data_as_of: datetime = Field(sa_type=UTCDateTime)  # the end of the cut-off day
    generated_at: datetime = Field(sa_type=UTCDateTime)
    files: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # [{name, path, sha256, bytes}]
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the headline figures, for listings
    content_hash: str = Field(sa_type=String(64))
    recipients: int = 0  # outbox rows queued
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
