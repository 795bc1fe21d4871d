"""Property tests (hypothesis) for working-day arithmetic and deadline rules."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadline_phrases import parse_deadline
from domain.deadlines import (
    CalendarDaysRule,
    FixedDateRule,
    UrgentRule,
    WithinMonthRule,
    WorkingDaysRule,
    compute_due,
    rule_from_json,
)
from domain.policy import DeadlinePolicy

CAL = load_calendar(PACKAGED_CONFIG_DIR)
POLICY = DeadlinePolicy()

days = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 12, 31))
counts = st.integers(min_value=1, max_value=300)


def _naive_add(d: date, n: int) -> date:
    """Add n working days one day at a time: the slow, obviously right reference."""
    step = timedelta(days=1 if n > 0 else -1)
    left = abs(n)
    while left:
        d += step
        if CAL.is_working_day(d):
            left -= 1
    return d


@given(days, counts)
def test_working_day_rule_due_is_a_working_day(start: date, n: int) -> None:
    due = compute_due(WorkingDaysRule(days=n), start, CAL, POLICY).due
    assert due is not None and CAL.is_working_day(due)
    assert due > start


@given(days, st.integers(min_value=1, max_value=400))
def test_calendar_day_and_fixed_date_rules_land_on_working_days(start: date, n: int) -> None:
    for rule in (
        CalendarDaysRule(days=n),
        FixedDateRule(date=start + timedelta(days=n)),
        UrgentRule(working_days=min(n, 365)),
    ):
        due = compute_due(rule, start, CAL, POLICY).due
        assert due is not None and CAL.is_working_day(due)


@given(days, counts)
def test_adding_then_counting_back_gives_n(start: date, n: int) -> None:
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end) == n
    assert CAL.working_days_between(end, start) == -n
    assert CAL.add_working_days(end, -n) == (start if CAL.is_working_day(start) else CAL.previous_working_day(start))


@given(days, st.integers(min_value=-120, max_value=120).filter(lambda n: n != 0))
def test_fast_arithmetic_matches_day_by_day_counting(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n) == _naive_add(start, n)


@given(days, st.integers(min_value=1, max_value=299))
def test_due_date_never_moves_earlier_as_n_grows(start: date, n: int) -> None:
    for make in (
        lambda k: WorkingDaysRule(days=k),
        lambda k: CalendarDaysRule(days=k),
        lambda k: UrgentRule(working_days=k),
    ):
        a = compute_due(make(n), start, CAL, POLICY).due
        b = compute_due(make(n + 1), start, CAL, POLICY).due
        assert a is not None and b is not None and a <= b
    wa = compute_due(WorkingDaysRule(days=n), start, CAL, POLICY).due
    wb = compute_due(WorkingDaysRule(days=n + 1), start, CAL, POLICY).due
    assert wa is not None and wb is not None and wa < wb  # one more working day is strictly later


@given(days, days)
def test_between_is_antisymmetric_and_additive(a: date, b: date) -> None:
    mid = a + (b - a) // 2
    assert CAL.working_days_between(a, b) == -CAL.working_days_between(b, a)
    assert CAL.working_days_between(a, b) == CAL.working_days_between(a, mid) + CAL.working_days_between(mid, b)


@given(st.integers(min_value=2022, max_value=2026), st.integers(min_value=1, max_value=12))
def test_within_month_is_the_last_working_day_of_the_month(year: int, month: int) -> None:
    due = compute_due(WithinMonthRule(year=year, month=month), date(year, 1, 1), CAL, POLICY).due
    assert due is not None and due.month == month and CAL.is_working_day(due)
    nxt = due + timedelta(days=1)
    while nxt.month == month:
        assert not CAL.is_working_day(nxt)
        nxt += timedelta(days=1)


@settings(max_examples=200)
@given(
    days, st.sampled_from(["/", "-", "."]), st.sampled_from(["trước ngày", "chậm nhất ngày", "hoàn thành trước ngày"])
)
def test_written_dates_parse_back(day: date, sep: str, cue: str) -> None:
    phrase = f"{cue} {day.day}{sep}{day.month}{sep}{day.year}"
    parsed = parse_deadline(phrase)
    assert parsed.rule == FixedDateRule(date=day)
    assert rule_from_json(parsed.rule.model_dump(mode="json")) == parsed.rule  # type: ignore[union-attr]
