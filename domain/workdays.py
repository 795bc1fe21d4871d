"""Vietnamese working-day calendar: weekends, public holidays, civil-service overrides; fast lookups."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import NoReturn

import holidays
import pendulum

from domain.policy import CalendarOverrides

VN_TZ = pendulum.timezone("Asia/Ho_Chi_Minh")

MIN_YEAR = 1995  # the holidays package applies Vietnamese observed-day rules from 1995
MAX_YEAR = 2199
_WINDOW = 6  # years loaded around a requested date, so neighbouring look-ups need no rebuild

_WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def weekday_vi(d: date) -> str:
    """Return the Vietnamese weekday name: 'thứ Hai' … 'thứ Bảy', 'Chủ nhật'."""
    return _WEEKDAYS_VI[d.weekday()]


def format_date_vi(d: date) -> str:
    """Return d as DD/MM/YYYY, the way Vietnamese documents write dates."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def deadline_end_utc(due: date) -> datetime:
    """Return 24:00 local time of the due day (Civil Code Art. 148) as an aware UTC datetime."""
    next_midnight = pendulum.datetime(due.year, due.month, due.day, tz=VN_TZ).add(days=1)
    return datetime.fromtimestamp(next_midnight.timestamp(), tz=UTC)


def local_date(dt_utc: datetime) -> date:
    """Return the calendar date in Vietnam of an instant (a naive datetime is taken as UTC)."""
    if dt_utc.tzinfo is None:
        dt_utc = dt_utc.replace(tzinfo=UTC)
    return dt_utc.astimezone(VN_TZ).date()


class CalendarRangeError(ValueError):
    """A date outside the years the calendar can compute."""


class _Span:
    """Immutable snapshot of the loaded years: sorted working-day ordinals and reasons for days off."""

    __slots__ = ("first_year", "hi", "last_year", "lo", "weekday_off", "working", "working_set")

    def __init__(self, first_year: int, last_year: int, working: list[int], weekday_off: list[int]):
        self.first_year = first_year
        self.last_year = last_year
        self.lo = date(first_year, 1, 1).toordinal()
        self.hi = date(last_year, 12, 31).toordinal()
        self.working = working
        self.working_set = frozenset(working)
        self.weekday_off = weekday_off  # Monday–Friday days that are not worked, sorted


class WorkCalendar:
    """Working days in Vietnam: Monday–Friday minus holidays, adjusted by the civil-service overrides."""

    def __init__(self, overrides: CalendarOverrides | None = None):
        self._extra_off: dict[date, str] = {}
        self._extra_working: dict[date, str] = {}
        if overrides is not None:
            for entry in overrides.days_off:
                for d in entry.days():
                    self._extra_off.setdefault(d, f"{entry.reason} theo {entry.source}")
            for w in overrides.working_days:
                self._extra_working[w.date] = f"{w.reason} theo {w.source}"
        self._holiday_names: dict[date, str] = {}
        self._package_workdays: set[date] = set()
        self._lock = threading.Lock()
        self._span: _Span | None = None

    # --- loading --------------------------------------------------------------------------

    def _load_years(self, first: int, last: int) -> None:
        """Make sure years first..last are loaded (rebuilding the sorted arrays once if needed)."""
        span = self._span
        if span is not None and span.first_year <= first and last <= span.last_year:
            return
        if first < MIN_YEAR or last > MAX_YEAR:
            raise CalendarRangeError(f"lịch ngày làm việc chỉ tính được từ năm {MIN_YEAR} đến năm {MAX_YEAR}")
        with self._lock:
            span = self._span
            if span is not None:
                first, last = min(first, span.first_year), max(last, span.last_year)
            first, last = max(MIN_YEAR, first - _WINDOW), min(MAX_YEAR, last + _WINDOW)
            package = holidays.country_holidays("VN", years=range(first, last + 1), language="vi")
            self._holiday_names = {d: str(name) for d, name in package.items()}
            self._package_workdays = set(getattr(package, "weekend_workdays", ()) or ())
            working: list[int] = []
            weekday_off: list[int] = []
            day = date(first, 1, 1)
            end = date(last, 12, 31)
            one = timedelta(days=1)
            while day <= end:
                if self._compute_is_working(day):
                    working.append(day.toordinal())
                elif day.weekday() < 5:
                    weekday_off.append(day.toordinal())
                day += one
            self._span = _Span(first, last, working, weekday_off)

    def _compute_is_working(self, d: date) -> bool:
        """Decide one day: overrides first, then the package's swapped days and holidays, then weekends."""
        if d in self._extra_working:
            return True
        if d in self._extra_off:
            return False
        if d in self._package_workdays:
            return True
        if d in self._holiday_names:
            return False
        return d.weekday() < 5

    def _span_for(self, *days: date) -> _Span:
        """Return a span covering every given day."""
        span = self._span
        if span is not None:
            lo, hi = span.lo, span.hi
            if all(lo <= d.toordinal() <= hi for d in days):
                return span
        self._load_years(min(d.year for d in days), max(d.year for d in days))
        assert self._span is not None
        return self._span

    # --- single days ----------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """Return True if d is a working day for civil servants."""
        span = self._span
        if span is None or not (span.lo <= d.toordinal() <= span.hi):
            span = self._span_for(d)
        return d.toordinal() in span.working_set

    def day_off_reason(self, d: date) -> str | None:
        """Return why d is not a working day (Vietnamese), or None if it is one."""
        if self.is_working_day(d):
            return None
        name = self._holiday_names.get(d)
        extra = self._extra_off.get(d)
        if name and extra:
            return f"{name}, {extra}"
        if name or extra:
            return name or extra
        return weekday_vi(d)

    def run_reason(self, d: date) -> str | None:
        """Return the announced reason for a day off (with its source), else the holiday's name, else None."""
        self._span_for(d)
        return self._extra_off.get(d) or self._holiday_names.get(d)

    def is_holiday(self, d: date) -> bool:
        """Return True if d is off because of a holiday or an announced day off (not just a weekend)."""
        self._span_for(d)
        return not self.is_working_day(d) and (d in self._holiday_names or d in self._extra_off)

    def working_day_reason(self, d: date) -> str | None:
        """Return why a weekend day or holiday is worked (a swapped Saturday), or None."""
        if not self.is_working_day(d):
            return None
        if d in self._extra_working:
            return self._extra_working[d]
        if d in self._package_workdays:
            return "ngày làm bù (hoán đổi ngày làm việc)"
        return None

    # --- arithmetic -----------------------------------------------------------------------

    def add_working_days(self, d: date, n: int) -> date:
        """Return the n-th working day after d (before d if n < 0); d itself is not counted; n=0 gives d."""
        if n == 0:
            return d
        span = self._span_for(d)
        o = d.toordinal()
        while True:
            arr = span.working
            if n > 0:
                i = bisect_right(arr, o) + n - 1
                if i < len(arr):
                    return date.fromordinal(arr[i])
                if span.last_year >= MAX_YEAR:
                    _too_far()
                # About 245 working days a year: load enough further years in one go.
                span = self._span_for(date(min(MAX_YEAR, span.last_year + (i - len(arr)) // 240 + 1), 12, 31))
            else:
                i = bisect_left(arr, o) + n
                if i >= 0:
                    return date.fromordinal(arr[i])
                if span.first_year <= MIN_YEAR:
                    _too_far()
                span = self._span_for(date(max(MIN_YEAR, span.first_year - (-i) // 240 - 1), 1, 1))

    def working_days_between(self, a: date, b: date) -> int:
        """Return the number of working days in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        span = self._span_for(a, b)
        arr = span.working
        return bisect_right(arr, b.toordinal()) - bisect_right(arr, a.toordinal())

    def next_working_day(self, d: date) -> date:
        """Return the first working day strictly after d."""
        return self.add_working_days(d, 1)

    def previous_working_day(self, d: date) -> date:
        """Return the last working day strictly before d."""
        return self.add_working_days(d, -1)

    def roll_forward(self, d: date) -> date:
        """Return d if it is a working day, else the next working day."""
        return d if self.is_working_day(d) else self.next_working_day(d)

    def roll_back(self, d: date) -> date:
        """Return d if it is a working day, else the previous working day."""
        return d if self.is_working_day(d) else self.previous_working_day(d)

    def last_working_day_in(self, start: date, end: date) -> date:
        """Return the last working day in [start, end]; ValueError if there is none."""
        if end < start:
            raise ValueError("khoảng thời gian không hợp lệ: ngày kết thúc trước ngày bắt đầu")
        last = self.roll_back(end)
        if last < start:
            raise ValueError(f"không có ngày làm việc nào từ {format_date_vi(start)} đến {format_date_vi(end)}")
        return last

    def weekday_days_off_between(self, a: date, b: date) -> list[date]:
        """Return the Monday–Friday days off (holidays, announced days off) in (a, b], sorted."""
        if b <= a:
            return []
        span = self._span_for(a, b)
        arr = span.weekday_off
        lo, hi = bisect_right(arr, a.toordinal()), bisect_right(arr, b.toordinal())
        return [date.fromordinal(o) for o in arr[lo:hi]]

    def days_off_in(self, start: date, end: date) -> list[tuple[date, str]]:
        """Return every day off in [start, end] with its reason (for reports and debugging)."""
        out: list[tuple[date, str]] = []
        day = start
        while day <= end:
            reason = self.day_off_reason(day)
            if reason is not None:
                out.append((day, reason))
            day += timedelta(days=1)
        return out


def _too_far() -> NoReturn:
    """Raise for arithmetic that runs past the supported years."""
    raise CalendarRangeError(f"lịch ngày làm việc chỉ tính được từ năm {MIN_YEAR} đến năm {MAX_YEAR}")
