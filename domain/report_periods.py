"""Report periods (2022-Q4, 2022-10, 2022-H2, 2022): their data window, cut-off and send date (Decree 09/2019)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from domain.deadlines import _MONTHS_PER, _period_labels, obligation_for_period
from domain.workdays import WorkCalendar, deadline_end_utc, format_date_vi, local_date

if TYPE_CHECKING:
    from domain.policy import DeadlinePolicy

FREQUENCIES = ("month", "quarter", "half_year", "year")
FREQUENCY_VI = {"month": "tháng", "quarter": "quý", "half_year": "6 tháng", "year": "năm"}
_LABEL = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|\d{1,2}))?$", re.IGNORECASE)
_ONE_MICROSECOND = timedelta(microseconds=1)


class PeriodError(ValueError):
    """A period that cannot be read or is not reportable yet; the message is in Vietnamese."""


@dataclass(frozen=True)
class ReportPeriod:
    """One reporting period: what it covers, when its data is cut off and when the report is due."""

    every: str
    index: int  # periods counted from year 0, as domain.deadlines numbers them
    label: str  # "2022-Q4"
    label_vi: str  # "quý IV/2022"
    period_start: date
    period_end: date
    data_from: date
    cutoff: date
    due: date
    explanation: str

    @property
    def data_as_of(self) -> datetime:
        """The moment the figures are taken at: the last instant of the cut-off day, Vietnam time."""
        return deadline_end_utc(self.cutoff) - _ONE_MICROSECOND

    def window_vi(self) -> str:
        """Say the data window: "từ ngày 15/09/2022 đến ngày 14/12/2022"."""
        return f"từ ngày {format_date_vi(self.data_from)} đến ngày {format_date_vi(self.cutoff)}"


def _index_of(every: str, year: int, month: int) -> int:
    """The index of the period of kind every that contains month/year."""
    return (year * 12 + month - 1) // _MONTHS_PER[every]


def parse_period(text: str) -> tuple[str, int]:
    """Read "2022-Q4", "2022-10", "2022-H2" or "2022" as (frequency, index)."""
    found = _LABEL.match(text.strip())
    if not found:
        raise PeriodError(
            f"kỳ báo cáo không hợp lệ: «{text}» (dạng đúng: 2022-Q4 cho quý, 2022-10 cho tháng, "
            "2022-H2 cho 6 tháng, 2022 cho năm)"
        )
    year, part = int(found.group(1)), (found.group(2) or "").upper()
    if not part:
        return "year", year
    if part.startswith("Q"):
        return "quarter", _index_of("quarter", year, 3 * int(part[1]) - 2)
    if part.startswith("H"):
        return "half_year", _index_of("half_year", year, 1 if part == "H1" else 7)
    month = int(part)
    if not 1 <= month <= 12:
        raise PeriodError(f"kỳ báo cáo không hợp lệ: «{text}» (tháng phải từ 1 đến 12)")
    return "month", _index_of("month", year, month)


def period_of(every: str, index: int, calendar: WorkCalendar, policy: DeadlinePolicy) -> ReportPeriod:
    """Build a period from its frequency and index, with the configured cut-off and due date."""
    ob = obligation_for_period(every, index, calendar, policy)
    first = index * _MONTHS_PER[every]
    _, label_vi = _period_labels(every, first // 12, first % 12 + 1)
    return ReportPeriod(
        every,
        index,
        ob.period,
        label_vi,
        ob.period_start,
        ob.period_end,
        ob.data_from,
        ob.cutoff,
        ob.due,
        ob.explanation,
    )


def named_period(text: str, calendar: WorkCalendar, policy: DeadlinePolicy) -> ReportPeriod:
    """The period a label names."""
    every, index = parse_period(text)
    return period_of(every, index, calendar, policy)


def previous_period(period: ReportPeriod, calendar: WorkCalendar, policy: DeadlinePolicy) -> ReportPeriod:
    """The period of the same kind just before."""
    return period_of(period.every, period.index - 1, calendar, policy)


def latest_closed(every: str, as_of: datetime, calendar: WorkCalendar, policy: DeadlinePolicy) -> ReportPeriod:
    """The latest period of kind every whose data cut-off has passed at as_of."""
    today = local_date(as_of)
    index = _index_of(every, today.year, today.month)
    while True:
        period = period_of(every, index, calendar, policy)
        if period.data_as_of < as_of:
            return period
        index -= 1


def resolve_periods(
    period: str | None, as_of: datetime, frequencies: list[str], calendar: WorkCalendar, policy: DeadlinePolicy
) -> list[ReportPeriod]:
    """The periods a run reports on: a named one; the latest closed of one kind; or of every configured kind."""
    if period is None:
        return [latest_closed(every, as_of, calendar, policy) for every in frequencies]
    if period in FREQUENCIES:
        return [latest_closed(period, as_of, calendar, policy)]
    found = named_period(period, calendar, policy)
    if found.data_as_of >= as_of:
        raise PeriodError(
            f"kỳ {found.label_vi} chưa hết thời gian chốt số liệu (hết ngày {format_date_vi(found.cutoff)}); "
            "chưa lập được báo cáo"
        )
    return [found]


def send_day(period: ReportPeriod, as_of: datetime) -> date:
    """The date the report carries and goes out: its due date, or the day it is made if that is later."""
    return max(period.due, local_date(as_of))


def trend_periods(
    period: ReportPeriod, count: int, calendar: WorkCalendar, policy: DeadlinePolicy
) -> list[ReportPeriod]:
    """The last count periods of the same kind, oldest first, ending with period."""
    return [period_of(period.every, period.index - back, calendar, policy) for back in range(count - 1, -1, -1)]


def period_label_vi(label: str) -> str:
    """A period label as officials write it: "2022-Q4" → "quý IV/2022", "2022-10" → "tháng 10/2022"."""
    every, index = parse_period(label)
    first = index * _MONTHS_PER[every]
    return _period_labels(every, first // 12, first % 12 + 1)[1]


def date_line_vi(place: str, day: date) -> str:
    """The place-and-date line of an administrative document: "Bắc Giang, ngày 05 tháng 01 năm 2023".

    Days below 10 and the months 1 and 2 take a leading zero (the document-format rule).
    """
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"
