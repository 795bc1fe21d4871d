"""Deadline rules (JSON-serialisable), due-date computation with Vietnamese explanations, report obligations."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.labels import EVERY_VI
from domain.policy import DeadlinePolicy, ReportingPeriod
from domain.text import match_key
from domain.workdays import WorkCalendar, format_date_vi, weekday_vi

CIVIL_CODE_SHIFT = "Bộ luật Dân sự 2015, Điều 148"
DECREE_09 = "Nghị định 09/2019/NĐ-CP, Điều 12"
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


class _Rule(BaseModel):
    """Base of every rule: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedDateRule(_Rule):
    """A named calendar date ("trước ngày 30/9/2022", "chậm nhất ngày …")."""

    kind: Literal["fixed_date"] = "fixed_date"
    date: date
    year_from_reference: bool = Field(
        default=False, description="The phrase had no year; it came from the notice date."
    )


class WorkingDaysRule(_Rule):
    """N working days from a start date, the start day not counted."""

    kind: Literal["working_days"] = "working_days"
    days: int = Field(ge=1, le=3650)
    since: date | None = Field(default=None, description="Explicit start ('kể từ ngày …'); else the notice date.")


class CalendarDaysRule(_Rule):
    """N calendar days from a start date, the start day not counted."""

    kind: Literal["calendar_days"] = "calendar_days"
    days: int = Field(ge=1, le=3650)
    since: date | None = None


class WithinMonthRule(_Rule):
    """Within month M/YYYY: due on the month's last working day."""

    kind: Literal["within_month"] = "within_month"
    year: int = Field(ge=1995, le=2199)
    month: int = Field(ge=1, le=12)
    year_from_reference: bool = False


class WithinQuarterRule(_Rule):
    """Within quarter Q/YYYY: due on the quarter's last working day."""

    kind: Literal["within_quarter"] = "within_quarter"
    year: int = Field(ge=1995, le=2199)
    quarter: int = Field(ge=1, le=4)
    year_from_reference: bool = False


class WithinHalfYearRule(_Rule):
    """Within the first (1) or second (2) half of a year: due on its last working day."""

    kind: Literal["within_half_year"] = "within_half_year"
    year: int = Field(ge=1995, le=2199)
    half: int = Field(ge=1, le=2)
    year_from_reference: bool = False


class WithinYearRule(_Rule):
    """Within year YYYY: due on the year's last working day."""

    kind: Literal["within_year"] = "within_year"
    year: int = Field(ge=1995, le=2199)


class MeetingRule(_Rule):
    """At a body's regular meeting of month M/YYYY: the configured meeting date, else the month's last working day."""

    kind: Literal["meeting"] = "meeting"
    body: str | None = None
    year: int = Field(ge=1995, le=2199)
    month: int = Field(ge=1, le=12)


class UrgentRule(_Rule):
    """ "Khẩn trương": a number of working days, the policy default when not given."""

    kind: Literal["urgent"] = "urgent"
    working_days: int | None = Field(default=None, ge=1, le=365)


class OngoingRule(_Rule):
    """A standing task ("tiếp tục", "thường xuyên") with no single due date."""

    kind: Literal["ongoing"] = "ongoing"


DeadlineRule = Annotated[
    FixedDateRule
    | WorkingDaysRule
    | CalendarDaysRule
    | WithinMonthRule
    | WithinQuarterRule
    | WithinHalfYearRule
    | WithinYearRule
    | MeetingRule
    | UrgentRule
    | OngoingRule,
    Field(discriminator="kind"),
]
RULE_ADAPTER: TypeAdapter[DeadlineRule] = TypeAdapter(DeadlineRule)

Every = Literal["month", "quarter", "half_year", "year"]
_MONTHS_PER: dict[str, int] = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}


class Recurrence(BaseModel):
    """A periodic obligation ("định kỳ hằng quý báo cáo …"), optionally ending on a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Every
    until: date | None = None


class DueDate(BaseModel):
    """A computed due date (None for standing tasks) and why."""

    model_config = ConfigDict(frozen=True)

    due: date | None
    explanation: str


class ReportObligation(BaseModel):
    """One period of a periodic report: its data window, cut-off and due date."""

    model_config = ConfigDict(frozen=True)

    period: str
    period_start: date
    period_end: date
    data_from: date
    cutoff: date
    due: date
    explanation: str


def rule_from_json(data: object) -> DeadlineRule:
    """Rebuild a rule from its model_dump()/JSON form."""
    return RULE_ADAPTER.validate_python(data)


# --- explanation pieces -------------------------------------------------------------------------


def _head(due: date) -> str:
    """Return 'Hạn DD/MM/YYYY (thứ X)'."""
    return f"Hạn {format_date_vi(due)} ({weekday_vi(due)})"


def _off_words(calendar: WorkCalendar, d: date) -> str:
    """Say what kind of day off d is, with its reason."""
    reason = calendar.day_off_reason(d) or ""
    if calendar.is_holiday(d):
        return f"ngày nghỉ lễ ({reason})"
    return f"ngày nghỉ hằng tuần ({reason})"


def _shift_note(calendar: WorkCalendar, last_day: date, due: date) -> str:
    """Explain a move from a day off to the next working day (empty when there was none)."""
    if last_day == due:
        return ""
    return (
        f"; {format_date_vi(last_day)} là {_off_words(calendar, last_day)}, "
        f"hạn chuyển sang ngày làm việc tiếp theo {format_date_vi(due)} ({CIVIL_CODE_SHIFT})"
    )


def _holiday_runs(calendar: WorkCalendar, days: list[date]) -> list[tuple[date, date]]:
    """Group sorted weekday days off into runs with no working day between them."""
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and calendar.working_days_between(runs[-1][1], d) == 0:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _holidays_note(calendar: WorkCalendar, a: date, b: date) -> str:
    """Name the weekday holidays skipped while counting working days in (a, b] (empty when none)."""
    days = calendar.weekday_days_off_between(a, b)
    if not days:
        return ""
    parts = []
    for first, last in _holiday_runs(calendar, days):
        span = format_date_vi(first) if first == last else f"{format_date_vi(first)}–{format_date_vi(last)}"
        reason = calendar.run_reason(first)
        parts.append(f"{span} ({reason})" if reason else span)
    return f"; không tính ngày nghỉ lễ {', '.join(parts)}"


def _past_note(due: date, start: date) -> str:
    """Warn when a due date lies before the start date."""
    if due < start:
        return f"; lưu ý: hạn này trước ngày bắt đầu {format_date_vi(start)}"
    return ""


def _year_note(flag: bool) -> str:
    """Say that the year was taken from the notice date."""
    return "; văn bản không ghi năm, năm lấy theo ngày ban hành thông báo" if flag else ""


def _last_day_note(calendar: WorkCalendar, period_end: date, due: date) -> str:
    """Explain why the last working day is earlier than the period's last calendar day."""
    if period_end == due:
        return ""
    return f"; {format_date_vi(period_end)} là {_off_words(calendar, period_end)}"


def _month_end(year: int, month: int) -> date:
    """Return the last day of a month."""
    return date(year, month, monthrange(year, month)[1])


def quarter_label_vi(year: int, quarter: int) -> str:
    """Return 'quý IV/2022'."""
    return f"quý {_ROMAN[quarter]}/{year}"


def half_label_vi(year: int, half: int) -> str:
    """Return '6 tháng đầu năm 2023' or '6 tháng cuối năm 2023'."""
    return f"6 tháng {'đầu' if half == 1 else 'cuối'} năm {year}"


# --- compute_due --------------------------------------------------------------------------------


def _within(calendar: WorkCalendar, first: date, last: date, label: str, unit: str, start: date) -> DueDate:
    """Due on the last working day of [first, last], explained."""
    due = calendar.last_working_day_in(first, last)
    text = (
        f"{_head(due)}: trong {label}, lấy ngày làm việc cuối cùng của {unit}"
        f"{_last_day_note(calendar, last, due)}{_past_note(due, start)}"
    )
    return DueDate(due=due, explanation=text)


def _find_meeting_date(rule: MeetingRule, policy: DeadlinePolicy) -> tuple[date, str | None] | None:
    """Return the configured meeting (date, note) for the rule's body and month, if any."""
    if rule.body is None:
        return None
    key = match_key(rule.body)
    for m in policy.meetings:
        if m.date.year == rule.year and m.date.month == rule.month and match_key(m.body) == key:
            return m.date, m.note
    return None


def compute_due(rule: DeadlineRule, start: date, calendar: WorkCalendar, policy: DeadlinePolicy) -> DueDate:
    """Compute a rule's due date from start (usually the notice date) and explain it in Vietnamese."""
    if isinstance(rule, WorkingDaysRule):
        base = rule.since or start
        due = calendar.add_working_days(base, rule.days)
        text = (
            f"{_head(due)}: {rule.days} ngày làm việc kể từ {format_date_vi(base)}, không tính ngày bắt đầu"
            f"{_holidays_note(calendar, base, due)}"
        )
        return DueDate(due=due, explanation=text)
    if isinstance(rule, UrgentRule):
        n = rule.working_days or policy.urgent_working_days
        due = calendar.add_working_days(start, n)
        source = "" if rule.working_days else " (số ngày mặc định theo cấu hình)"
        text = (
            f"{_head(due)}: khẩn trương — {n} ngày làm việc kể từ {format_date_vi(start)}{source}, "
            f"không tính ngày bắt đầu{_holidays_note(calendar, start, due)}"
        )
        return DueDate(due=due, explanation=text)
    if isinstance(rule, CalendarDaysRule):
        base = rule.since or start
        last_day = base + timedelta(days=rule.days)
        due = calendar.roll_forward(last_day)
        text = (
            f"{_head(due)}: {rule.days} ngày kể từ {format_date_vi(base)}, không tính ngày bắt đầu"
            f"{_shift_note(calendar, last_day, due)}"
        )
        return DueDate(due=due, explanation=text)
    if isinstance(rule, FixedDateRule):
        due = calendar.roll_forward(rule.date)
        text = (
            f"{_head(due)}: ngày ấn định {format_date_vi(rule.date)}{_year_note(rule.year_from_reference)}"
            f"{_shift_note(calendar, rule.date, due)}{_past_note(due, start)}"
        )
        return DueDate(due=due, explanation=text)
    if isinstance(rule, WithinMonthRule):
        first, last = date(rule.year, rule.month, 1), _month_end(rule.year, rule.month)
        result = _within(calendar, first, last, f"tháng {rule.month}/{rule.year}", "tháng", start)
        return _with_year_note(result, rule.year_from_reference)
    if isinstance(rule, WithinQuarterRule):
        m0 = 3 * rule.quarter - 2
        first, last = date(rule.year, m0, 1), _month_end(rule.year, m0 + 2)
        result = _within(calendar, first, last, quarter_label_vi(rule.year, rule.quarter), "quý", start)
        return _with_year_note(result, rule.year_from_reference)
    if isinstance(rule, WithinHalfYearRule):
        first = date(rule.year, 1 if rule.half == 1 else 7, 1)
        last = date(rule.year, 6, 30) if rule.half == 1 else date(rule.year, 12, 31)
        result = _within(calendar, first, last, half_label_vi(rule.year, rule.half), "kỳ", start)
        return _with_year_note(result, rule.year_from_reference)
    if isinstance(rule, WithinYearRule):
        return _within(calendar, date(rule.year, 1, 1), date(rule.year, 12, 31), f"năm {rule.year}", "năm", start)
    if isinstance(rule, MeetingRule):
        return _meeting_due(rule, start, calendar, policy)
    if isinstance(rule, OngoingRule):
        return DueDate(
            due=None, explanation="Nhiệm vụ thường xuyên, tiếp tục thực hiện; không có một hạn hoàn thành cụ thể"
        )
    raise TypeError(f"unknown deadline rule: {rule!r}")


def _with_year_note(result: DueDate, flag: bool) -> DueDate:
    """Append the year-from-reference note to an explanation when needed."""
    if not flag:
        return result
    return DueDate(due=result.due, explanation=result.explanation + _year_note(True))


def _meeting_due(rule: MeetingRule, start: date, calendar: WorkCalendar, policy: DeadlinePolicy) -> DueDate:
    """Due at the configured meeting, else on the month's last working day."""
    who = f" của {rule.body}" if rule.body else ""
    label = f"phiên họp thường kỳ tháng {rule.month}/{rule.year}{who}"
    found = _find_meeting_date(rule, policy)
    if found is not None:
        due, note = found
        text = f"{_head(due)}: {label}, theo lịch họp đã cấu hình"
        if note:
            text += f" ({note})"
        if not calendar.is_working_day(due):
            text += f"; lưu ý: {format_date_vi(due)} là {_off_words(calendar, due)}"
        return DueDate(due=due, explanation=text + _past_note(due, start))
    last = _month_end(rule.year, rule.month)
    due = calendar.last_working_day_in(date(rule.year, rule.month, 1), last)
    missing = "chưa có ngày họp trong cấu hình" if rule.body else "văn bản không nêu cơ quan họp"
    text = (
        f"{_head(due)}: {label} — {missing}, lấy ngày làm việc cuối cùng của tháng"
        f"{_last_day_note(calendar, last, due)}{_past_note(due, start)}"
    )
    return DueDate(due=due, explanation=text)


# --- periodic reports (Decree 09/2019) ----------------------------------------------------------


def _period_conf(every: str, policy: DeadlinePolicy) -> ReportingPeriod:
    """Return the configured cut-off/due days for a frequency."""
    r = policy.reporting
    return {"month": r.monthly, "quarter": r.quarterly, "half_year": r.half_year, "year": r.annual}[every]


def _period_labels(every: str, year: int, first_month: int) -> tuple[str, str]:
    """Return (machine label, Vietnamese label) of the period starting in first_month."""
    if every == "month":
        return f"{year}-{first_month:02d}", f"tháng {first_month}/{year}"
    if every == "quarter":
        q = (first_month - 1) // 3 + 1
        return f"{year}-Q{q}", quarter_label_vi(year, q)
    if every == "half_year":
        h = 1 if first_month == 1 else 2
        return f"{year}-H{h}", half_label_vi(year, h)
    return f"{year}", f"năm {year}"


def _month_of(index: int) -> tuple[int, int]:
    """Turn a month index (year*12 + month-1) into (year, month)."""
    return index // 12, index % 12 + 1


def obligation_for_period(
    every: str, period_index: int, calendar: WorkCalendar, policy: DeadlinePolicy
) -> ReportObligation:
    """Build the obligation of one period (period_index counts periods from year 0)."""
    mp = _MONTHS_PER[every]
    conf = _period_conf(every, policy)
    first_mi = period_index * mp
    last_mi = first_mi + mp - 1
    fy, fm = _month_of(first_mi)
    ly, lm = _month_of(last_mi)
    py, pm = _month_of(first_mi - 1)
    dy, dm = _month_of(last_mi + conf.due_month_offset)
    period_start, period_end = date(fy, fm, 1), _month_end(ly, lm)
    cutoff = date(ly, lm, conf.cutoff_day)
    data_from = date(py, pm, conf.cutoff_day) + timedelta(days=1)
    nominal = date(dy, dm, conf.due_day)
    due = calendar.roll_forward(nominal)
    label, label_vi = _period_labels(every, fy, fm)
    text_tail = _shift_note(calendar, nominal, due)
    gap = policy.reporting.min_working_days_between
    earliest = calendar.add_working_days(cutoff, gap + 1)
    if due < earliest:
        text_tail += (
            f"; lùi đến {format_date_vi(earliest)} để giữa ngày chốt số liệu và hạn gửi có ít nhất {gap} ngày làm việc"
        )
        due = earliest
    text = (
        f"{_head(due)}: báo cáo {label_vi}, số liệu từ {format_date_vi(data_from)} đến {format_date_vi(cutoff)} "
        f"({DECREE_09}); hạn gửi ngày {conf.due_day}"
        f"{' tháng sau kỳ' if conf.due_month_offset else ' tháng cuối kỳ'} theo cấu hình{text_tail}"
    )
    return ReportObligation(
        period=label,
        period_start=period_start,
        period_end=period_end,
        data_from=data_from,
        cutoff=cutoff,
        due=due,
        explanation=text,
    )


def report_obligations(
    recurrence: Recurrence, start: date, end: date, calendar: WorkCalendar, policy: DeadlinePolicy
) -> list[ReportObligation]:
    """List the periods whose due date is after start and which begin on or before end (and until)."""
    mp = _MONTHS_PER[recurrence.every]
    stop = min(end, recurrence.until) if recurrence.until else end
    # A period's due date can fall after the next period starts, so begin two periods back.
    p = (start.year * 12 + start.month - 1) // mp - 2
    out: list[ReportObligation] = []
    while True:
        fy, fm = _month_of(p * mp)
        if date(fy, fm, 1) > stop:
            return out
        ob = obligation_for_period(recurrence.every, p, calendar, policy)
        if ob.due > start:
            out.append(ob)
        p += 1


def next_obligation(
    recurrence: Recurrence, start: date, calendar: WorkCalendar, policy: DeadlinePolicy
) -> ReportObligation | None:
    """Return the first obligation due after start, or None when the recurrence has ended."""
    horizon = start + timedelta(days=800)
    found = report_obligations(recurrence, start, horizon, calendar, policy)
    return found[0] if found else None


def resolve_due(
    rule: DeadlineRule | None,
    recurrence: Recurrence | None,
    start: date,
    calendar: WorkCalendar,
    policy: DeadlinePolicy,
) -> DueDate:
    """Due date of a parsed phrase: the rule's, else the recurrence's next period."""
    if rule is not None:
        result = compute_due(rule, start, calendar, policy)
        if recurrence is not None:
            return DueDate(due=result.due, explanation=f"{result.explanation}; lặp lại {EVERY_VI[recurrence.every]}")
        return result
    if recurrence is not None:
        ob = next_obligation(recurrence, start, calendar, policy)
        if ob is None:
            return DueDate(
                due=None, explanation=f"Báo cáo {EVERY_VI[recurrence.every]} đã kết thúc trước {format_date_vi(start)}"
            )
        return DueDate(due=ob.due, explanation=f"Kỳ gần nhất — {ob.explanation}; báo cáo {EVERY_VI[recurrence.every]}")
    raise ValueError("cần ít nhất một quy tắc hạn hoặc một chu kỳ báo cáo")


_PERIOD_RE = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?$")


def period_vi(label: str | None) -> str | None:
    """A report period as officials write it: '2022-Q3' → 'quý III/2022', '2022-09' → 'tháng 9/2022'."""
    found = _PERIOD_RE.match(label or "")
    if not found:
        return label
    year, part = int(found.group(1)), found.group(2)
    if part is None:
        return f"năm {year}"
    if part.startswith("Q"):
        return quarter_label_vi(year, int(part[1]))
    if part.startswith("H"):
        return half_label_vi(year, int(part[1]))
    return f"tháng {int(part)}/{year}"
