"""Working-day calendar: weekends, holidays (incl. lunar and observed), civil-service overrides.

Every expected date below was worked out by hand from a printed calendar and the schedules cited
in config/calendar.yaml, not from the code's output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.loader import ConfigError, load_model
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.policy import CalendarOverrides, DayOffRange, WorkingDayOverride
from domain.workdays import (
    VN_TZ,
    CalendarRangeError,
    WorkCalendar,
    deadline_end_utc,
    format_date_vi,
    local_date,
    weekday_vi,
)

D = date.fromisoformat


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The calendar built from the packaged config/calendar.yaml."""
    return load_calendar(PACKAGED_CONFIG_DIR)


@pytest.fixture(scope="module")
def bare() -> WorkCalendar:
    """The calendar from the holidays package alone, without the civil-service overrides."""
    return WorkCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2022-09-09", True),  # Friday
        ("2022-09-10", False),  # Saturday
        ("2022-09-11", False),  # Sunday
        ("2022-09-01", False),  # National Day 2022 (1/9–2/9)
        ("2022-09-02", False),
        ("2022-09-05", True),
        ("2023-09-01", False),  # National Day 2023: 1/9–4/9
        ("2023-09-04", False),  # Monday, compensating 2/9 on a Saturday
        ("2023-09-05", True),
        ("2024-09-03", False),  # National Day 2024: 2/9 Mon + 3/9 Tue
        ("2025-09-01", False),  # National Day 2025: 1/9 Mon + 2/9 Tue
        ("2022-04-11", False),  # Hùng Kings 10/4/2022 was a Sunday: Monday off instead
        ("2023-04-28", True),
        ("2023-05-02", False),  # Hùng Kings 29/4/2023 (Saturday) compensated
        ("2023-05-03", False),  # 30/4/2023 (Sunday) compensated
        ("2023-05-04", True),
        ("2024-04-18", False),  # Hùng Kings 2024, a Thursday
        ("2025-04-07", False),  # Hùng Kings 2025, a Monday
        ("2023-01-19", True),
        ("2023-01-20", False),  # Tết 2023: 20/1–26/1
        ("2023-01-26", False),
        ("2023-01-27", True),
        ("2024-04-29", False),  # swapped: Monday off …
        ("2024-05-04", True),  # … worked on Saturday 4/5/2024
        ("2025-05-02", False),  # swapped: Friday off …
        ("2025-04-26", True),  # … worked on Saturday 26/4/2025
        ("2026-01-02", False),  # New Year 2026: Friday off (override only) …
        ("2026-01-10", True),  # … worked on Saturday 10/1/2026 (override only)
        ("2026-08-31", False),  # National Day 2026 swap …
        ("2026-08-22", True),  # … worked on Saturday 22/8/2026
    ],
)
def test_is_working_day(cal: WorkCalendar, day: str, working: bool) -> None:
    assert cal.is_working_day(D(day)) is working


@pytest.mark.parametrize(("day", "working"), [("2026-01-02", True), ("2026-01-10", False)])
def test_new_year_2026_swap_exists_only_through_the_override(bare: WorkCalendar, day: str, working: bool) -> None:
    assert bare.is_working_day(D(day)) is working


def test_an_override_day_off_moves_working_day_arithmetic() -> None:
    overrides = CalendarOverrides(
        days_off=[DayOffRange(start=D("2023-01-27"), reason="nghỉ thử", source="Văn bản thử số 1")]
    )
    with_extra = WorkCalendar(overrides)
    assert with_extra.add_working_days(D("2023-01-19"), 1) == D("2023-01-30")
    assert WorkCalendar().add_working_days(D("2023-01-19"), 1) == D("2023-01-27")
    assert with_extra.day_off_reason(D("2023-01-27")) == "nghỉ thử theo Văn bản thử số 1"


def test_an_override_working_day_beats_a_package_holiday() -> None:
    overrides = CalendarOverrides(
        working_days=[WorkingDayOverride(date=D("2026-11-24"), reason="chưa nghỉ", source="Văn bản thử số 2")]
    )
    assert WorkCalendar().is_working_day(D("2026-11-24")) is False  # Vietnam Cultural Day in the package
    assert WorkCalendar(overrides).is_working_day(D("2026-11-24")) is True


@pytest.mark.parametrize(
    ("day", "expected_parts"),
    [
        ("2022-09-09", None),
        ("2022-09-10", ["thứ Bảy"]),
        ("2022-09-11", ["Chủ nhật"]),
        ("2022-09-02", ["Quốc khánh", "245/VPCP-KGVX"]),
        ("2023-01-23", ["Tết Nguyên", "8056/VPCP-KGVX"]),
        ("2024-02-08", ["Tết Nguyên", "5015/TB-LĐTBXH"]),
        ("2026-01-02", ["Tết Dương lịch", "12729/VPCP-KGVX"]),
        ("2022-04-11", ["Giỗ Tổ Hùng Vương"]),
    ],
)
def test_day_off_reason(cal: WorkCalendar, day: str, expected_parts: list[str] | None) -> None:
    reason = cal.day_off_reason(D(day))
    if expected_parts is None:
        assert reason is None
    else:
        assert reason is not None
        for part in expected_parts:
            assert part in reason


def test_plain_weekend_reason_is_exact(cal: WorkCalendar) -> None:
    assert cal.day_off_reason(D("2022-09-11")) == "Chủ nhật"
    assert cal.day_off_reason(D("2022-09-10")) == "thứ Bảy"


def test_swapped_saturday_says_why_it_is_worked(cal: WorkCalendar) -> None:
    assert "2450/VPCP-KGVX" in (cal.working_day_reason(D("2024-05-04")) or "")
    assert cal.working_day_reason(D("2024-05-06")) is None


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2022-09-09", 10, "2022-09-23"),  # the example
        ("2022-08-31", 1, "2022-09-05"),  # across National Day 2022 and a weekend
        ("2022-08-30", 2, "2022-09-05"),
        ("2023-01-19", 1, "2023-01-27"),  # across Tết 2023
        ("2023-01-18", 5, "2023-02-01"),  # 19/1, 27/1, 30/1, 31/1, 1/2
        ("2023-04-28", 1, "2023-05-04"),  # across Hùng Kings + 30/4–1/5 2023
        ("2024-04-26", 1, "2024-05-02"),  # across the 27/4–1/5/2024 break
        ("2024-04-26", 3, "2024-05-04"),  # … the third is the swapped working Saturday
        ("2025-12-31", 1, "2026-01-05"),  # 1/1 holiday, 2/1 swapped off, weekend
        ("2026-01-09", 1, "2026-01-10"),  # swapped working Saturday
        ("2022-09-10", 1, "2022-09-12"),  # from a Saturday
        ("2022-09-12", -1, "2022-09-09"),
        ("2022-09-05", -1, "2022-08-31"),  # back across National Day 2022
        ("2023-01-27", -1, "2023-01-19"),  # back across Tết 2023
        ("2022-09-10", -1, "2022-09-09"),
        ("2022-09-10", 0, "2022-09-10"),  # zero days: the day itself
    ],
)
def test_add_working_days(cal: WorkCalendar, start: str, n: int, expected: str) -> None:
    assert cal.add_working_days(D(start), n) == D(expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2022-09-09", "2022-09-23", 10),
        ("2022-09-23", "2022-09-09", -10),
        ("2022-08-31", "2022-09-05", 1),
        ("2023-01-19", "2023-01-27", 1),
        ("2022-09-10", "2022-09-11", 0),
        ("2022-09-09", "2022-09-09", 0),
        ("2022-09-08", "2022-09-09", 1),
        ("2024-04-26", "2024-05-04", 3),
    ],
)
def test_working_days_between(cal: WorkCalendar, a: str, b: str, expected: int) -> None:
    assert cal.working_days_between(D(a), D(b)) == expected


def test_next_previous_and_roll(cal: WorkCalendar) -> None:
    assert cal.next_working_day(D("2022-09-01")) == D("2022-09-05")
    assert cal.next_working_day(D("2022-09-09")) == D("2022-09-12")  # strictly after
    assert cal.previous_working_day(D("2023-01-27")) == D("2023-01-19")
    assert cal.previous_working_day(D("2022-09-12")) == D("2022-09-09")
    assert cal.roll_forward(D("2022-09-09")) == D("2022-09-09")
    assert cal.roll_forward(D("2022-09-03")) == D("2022-09-05")


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2022-12-01", "2022-12-31", "2022-12-30"),  # 31/12/2022 is a Saturday
        ("2023-04-01", "2023-04-30", "2023-04-28"),  # 29/4 Hùng Kings (Sat), 30/4 Sunday
        ("2022-09-01", "2022-09-30", "2022-09-30"),
        ("2023-01-01", "2023-01-31", "2023-01-31"),
    ],
)
def test_last_working_day_in(cal: WorkCalendar, start: str, end: str, expected: str) -> None:
    assert cal.last_working_day_in(D(start), D(end)) == D(expected)


def test_last_working_day_in_a_holiday_only_range_is_an_error(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="không có ngày làm việc"):
        cal.last_working_day_in(D("2023-01-20"), D("2023-01-26"))


def test_dates_outside_the_supported_years_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarRangeError):
        cal.is_working_day(D("2200-01-01"))
    with pytest.raises(CalendarRangeError):
        cal.add_working_days(D("2199-12-01"), 100)


def test_far_arithmetic_loads_more_years(cal: WorkCalendar) -> None:
    far = cal.add_working_days(D("2022-01-01"), 2500)
    assert far.year >= 2031
    assert cal.working_days_between(D("2022-01-01"), far) == 2500
    assert cal.add_working_days(far, -2500) == D("2021-12-31")  # 1/1/2022 Sat, so back to Friday 31/12/2021


@pytest.mark.parametrize(
    ("day", "name"),
    [
        ("2022-09-19", "thứ Hai"),
        ("2022-09-20", "thứ Ba"),
        ("2022-09-21", "thứ Tư"),
        ("2022-09-22", "thứ Năm"),
        ("2022-09-23", "thứ Sáu"),
        ("2022-09-24", "thứ Bảy"),
        ("2022-09-25", "Chủ nhật"),
    ],
)
def test_weekday_vi(day: str, name: str) -> None:
    assert weekday_vi(D(day)) == name


def test_format_date_vi() -> None:
    assert format_date_vi(D("2022-09-23")) == "23/09/2022"
    assert format_date_vi(D("2023-01-05")) == "05/01/2023"


def test_deadline_ends_at_local_midnight() -> None:
    end = deadline_end_utc(D("2022-09-23"))
    assert end == datetime(2022, 9, 23, 17, 0, tzinfo=UTC)  # 24:00 at UTC+7
    assert end.tzinfo is not None and end.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_local_date() -> None:
    assert local_date(datetime(2022, 9, 23, 17, 0, tzinfo=UTC)) == D("2022-09-24")
    assert local_date(datetime(2022, 9, 23, 16, 59, tzinfo=UTC)) == D("2022-09-23")
    assert local_date(datetime(2022, 9, 23, 16, 59)) == D("2022-09-23")  # naive is UTC
    assert datetime(2022, 9, 23, tzinfo=VN_TZ).utcoffset().total_seconds() == 7 * 3600  # type: ignore[union-attr]


# --- the override file ---------------------------------------------------------------------------


def test_calendar_yaml_covers_tet_2023_and_national_day_2022() -> None:
    overrides = load_model(PACKAGED_CONFIG_DIR / "calendar.yaml", CalendarOverrides)
    off = {d for r in overrides.days_off for d in r.days()}
    assert {D("2023-01-20"), D("2023-01-23"), D("2023-01-26")} <= off
    assert {D("2022-09-01"), D("2022-09-02")} <= off
    assert all(r.source.strip() for r in overrides.days_off)
    assert all(w.source.strip() for w in overrides.working_days)
    assert all(w.date.weekday() >= 5 for w in overrides.working_days)  # swapped days are weekend days


def test_overrides_refuse_a_day_both_off_and_working() -> None:
    with pytest.raises(ValidationError, match="vừa là ngày nghỉ vừa là ngày làm việc"):
        CalendarOverrides(
            days_off=[DayOffRange(start=D("2024-05-03"), end=D("2024-05-05"), reason="x", source="y")],
            working_days=[WorkingDayOverride(date=D("2024-05-04"), reason="x", source="y")],
        )


def test_overrides_refuse_a_range_ending_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="trước ngày bắt đầu"):
        DayOffRange(start=D("2024-05-03"), end=D("2024-05-01"), reason="x", source="y")


def test_calendar_yaml_without_source_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text("days_off:\n  - start: 2023-01-20\n    reason: nghỉ Tết\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_model(path, CalendarOverrides)
    message = str(info.value)
    assert "days_off[0].source" in message and ":2:" in message and "thiếu trường bắt buộc" in message


def test_load_calendar_is_cached_per_directory() -> None:
    assert load_calendar(PACKAGED_CONFIG_DIR) is load_calendar(Path(str(PACKAGED_CONFIG_DIR)))
