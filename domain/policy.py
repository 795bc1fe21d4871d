"""Policy types (calendar overrides, deadline policy, reporting periods): validated, immutable, pure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.text import match_key


class StrictModel(BaseModel):
    """Base for policy models: unknown keys are errors (a typo gets a line, not a default), instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- calendar.yaml ----------------------------------------------------------------------------


class DayOffRange(StrictModel):
    """A run of days off announced for civil servants (both ends included)."""

    start: date
    end: date | None = Field(default=None, description="Last day off; defaults to start.")
    reason: str = Field(min_length=1, description="Vietnamese, e.g. 'nghỉ Tết Nguyên đán Quý Mão'.")
    source: str = Field(min_length=1, description="Number and date of the document that announced it.")

    @model_validator(mode="after")
    def _end_not_before_start(self) -> DayOffRange:
        """Refuse a range that ends before it starts."""
        if self.end is not None and self.end < self.start:
            raise ValueError(f"ngày kết thúc {self.end:%d/%m/%Y} trước ngày bắt đầu {self.start:%d/%m/%Y}")
        return self

    @property
    def last(self) -> date:
        """Return the last day of the range."""
        return self.end or self.start

    def days(self) -> list[date]:
        """Return every day of the range."""
        return [self.start + timedelta(days=i) for i in range((self.last - self.start).days + 1)]


class WorkingDayOverride(StrictModel):
    """A day that is worked although it is a weekend or a holiday (a swapped working Saturday)."""

    date: date
    reason: str = Field(min_length=1, description="Vietnamese, e.g. 'làm bù cho thứ Hai 29/04/2024'.")
    source: str = Field(min_length=1)


class CalendarOverrides(StrictModel):
    """The civil-service schedule on top of the `holidays` package: extra days off, swapped working days."""

    days_off: list[DayOffRange] = Field(default_factory=list)
    working_days: list[WorkingDayOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_day_both_off_and_working(self) -> CalendarOverrides:
        """Refuse a date listed both as a day off and as a working day."""
        off = {d for r in self.days_off for d in r.days()}
        clash = sorted(w.date for w in self.working_days if w.date in off)
        if clash:
            shown = ", ".join(f"{d:%d/%m/%Y}" for d in clash)
            raise ValueError(f"ngày vừa là ngày nghỉ vừa là ngày làm việc: {shown}")
        return self


# --- deadlines.yaml ---------------------------------------------------------------------------


class Meeting(StrictModel):
    """A configured date of a body's regular meeting (phiên họp thường kỳ)."""

    body: str = Field(min_length=1, description="e.g. 'Ban Thường vụ Tỉnh ủy'.")
    date: date
    note: str | None = None


class ReportingPeriod(StrictModel):
    """Cut-off and due day of one kind of periodic report, as days of the period's last month."""

    cutoff_day: int = Field(default=14, ge=1, le=28, description="Data cut-off day (Decree 09/2019, Art. 12).")
    due_day: int = Field(default=20, ge=1, le=28, description="Day the report is due.")
    due_month_offset: Literal[0, 1] = Field(
        default=0, description="0: due in the period's last month; 1: in the month after the period."
    )

    @model_validator(mode="after")
    def _room_between_cutoff_and_due(self) -> ReportingPeriod:
        """Require at least one calendar day between cut-off and due date (working days are checked later)."""
        if self.due_month_offset == 0 and self.due_day - self.cutoff_day < 2:
            raise ValueError(
                f"hạn gửi (ngày {self.due_day}) phải sau ngày chốt số liệu (ngày {self.cutoff_day}) ít nhất 2 ngày"
            )
        return self


class Reporting(StrictModel):
    """Periodic report timing per Decree 09/2019/NĐ-CP, one entry per frequency."""

    monthly: ReportingPeriod = Field(default_factory=ReportingPeriod)
    quarterly: ReportingPeriod = Field(default_factory=ReportingPeriod)
    half_year: ReportingPeriod = Field(default_factory=ReportingPeriod)
    annual: ReportingPeriod = Field(default_factory=ReportingPeriod)
    min_working_days_between: int = Field(
        default=1, ge=0, le=20, description="Working days that must lie strictly between cut-off and due date."
    )


class DeadlinePolicy(StrictModel):
    """Deadline policy: urgent default, configured meeting dates, periodic report timing."""

    urgent_working_days: int = Field(default=5, ge=1, le=60)
    meetings: list[Meeting] = Field(default_factory=list)
    reporting: Reporting = Field(default_factory=Reporting)

    @field_validator("meetings")
    @classmethod
    def _one_meeting_per_body_and_month(cls, meetings: list[Meeting]) -> list[Meeting]:
        """Refuse two dates for the same body in the same month."""
        seen: set[tuple[str, int, int]] = set()
        for m in meetings:
            key = (match_key(m.body), m.date.year, m.date.month)
            if key in seen:
                raise ValueError(f"trùng lịch họp của {m.body} trong tháng {m.date.month}/{m.date.year}")
            seen.add(key)
        return meetings


__all__ = [
    "CalendarOverrides",
    "DayOffRange",
    "DeadlinePolicy",
    "Meeting",
    "Reporting",
    "ReportingPeriod",
    "StrictModel",
    "WorkingDayOverride",
]
