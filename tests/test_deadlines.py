"""Deadline rules: due dates and explanations (Civil Code Art. 147–148), Decree 09/2019 obligations.

Expected dates are worked out by hand from the rules and a printed calendar.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.loader import ConfigError
from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import (
    RULE_ADAPTER,
    CalendarDaysRule,
    FixedDateRule,
    MeetingRule,
    OngoingRule,
    Recurrence,
    UrgentRule,
    WithinHalfYearRule,
    WithinMonthRule,
    WithinQuarterRule,
    WithinYearRule,
    WorkingDaysRule,
    compute_due,
    report_obligations,
    resolve_due,
    rule_from_json,
)
from domain.policy import DeadlinePolicy, Meeting, Reporting, ReportingPeriod
from domain.workdays import WorkCalendar

D = date.fromisoformat
NOTICE_DAY = D("2022-09-09")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The packaged calendar."""
    return load_calendar(PACKAGED_CONFIG_DIR)


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    """The packaged deadline policy."""
    return load_deadline_policy(PACKAGED_CONFIG_DIR)


def test_the_issue_example_is_explained_exactly(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    result = compute_due(WorkingDaysRule(days=10), NOTICE_DAY, cal, policy)
    assert result.due == D("2022-09-23")
    assert result.explanation == "Hạn 23/09/2022 (thứ Sáu): 10 ngày làm việc kể từ 09/09/2022, không tính ngày bắt đầu"


@pytest.mark.parametrize(
    ("rule", "start", "expected", "must_mention"),
    [
        # Working days: first day not counted, weekends and holidays skipped.
        (WorkingDaysRule(days=5), "2022-08-29", "2022-09-07", ["không tính ngày nghỉ lễ 01/09/2022–02/09/2022"]),
        (WorkingDaysRule(days=3), "2023-01-18", "2023-01-30", ["20/01/2023–26/01/2023", "8056/VPCP-KGVX"]),
        (WorkingDaysRule(days=1), "2024-04-26", "2024-05-02", []),  # starts just before the 27/4–1/5 break
        (WorkingDaysRule(days=3), "2024-04-26", "2024-05-04", []),  # lands on the swapped working Saturday
        (WorkingDaysRule(days=2), "2025-12-31", "2026-01-06", ["12729/VPCP-KGVX"]),  # New Year 2026 swap
        (WorkingDaysRule(days=2, since=D("2022-09-01")), "2022-09-09", "2022-09-06", ["kể từ 01/09/2022"]),
        # Calendar days: first day not counted; a last day off moves to the next working day.
        (
            CalendarDaysRule(days=10),
            "2023-04-20",
            "2023-05-04",
            ["30/04/2023 là ngày nghỉ lễ (Ngày Chiến thắng)", "hạn chuyển sang ngày làm việc tiếp theo 04/05/2023"],
        ),
        (CalendarDaysRule(days=7), "2022-09-03", "2022-09-12", ["10/09/2022 là ngày nghỉ hằng tuần (thứ Bảy)"]),
        (CalendarDaysRule(days=15), "2022-09-09", "2022-09-26", ["24/09/2022"]),
        (CalendarDaysRule(days=5, since=D("2022-08-28")), "2022-09-09", "2022-09-05", ["02/09/2022 là ngày nghỉ lễ"]),
        (CalendarDaysRule(days=14), "2022-09-09", "2022-09-23", []),
        # Fixed dates also move off days off, and say so.
        (FixedDateRule(date=D("2022-09-30")), "2022-09-09", "2022-09-30", ["ngày ấn định 30/09/2022"]),
        (
            FixedDateRule(date=D("2022-10-01")),
            "2022-09-09",
            "2022-10-03",
            ["01/10/2022 là ngày nghỉ hằng tuần (thứ Bảy)"],
        ),
        (FixedDateRule(date=D("2023-04-29")), "2023-04-01", "2023-05-04", ["Giỗ Tổ Hùng Vương"]),
        (FixedDateRule(date=D("2024-04-18")), "2024-04-01", "2024-04-19", ["Giỗ Tổ Hùng Vương"]),
        (FixedDateRule(date=D("2023-01-22")), "2022-12-01", "2023-01-27", ["Tết", "8056/VPCP-KGVX"]),
        (FixedDateRule(date=D("2022-09-02")), "2022-08-15", "2022-09-05", ["Quốc khánh"]),
        (FixedDateRule(date=D("2023-09-02")), "2023-08-15", "2023-09-05", ["Quốc khánh"]),
        (FixedDateRule(date=D("2022-09-30"), year_from_reference=True), "2022-09-09", "2022-09-30", ["năm lấy theo"]),
        (FixedDateRule(date=D("2022-09-01")), "2022-09-09", "2022-09-05", ["lưu ý: hạn này trước ngày bắt đầu"]),
        # Within a period: the period's last working day.
        (WithinMonthRule(year=2022, month=10), "2022-09-09", "2022-10-31", ["trong tháng 10/2022"]),
        (WithinMonthRule(year=2022, month=12), "2022-09-09", "2022-12-30", ["31/12/2022 là ngày nghỉ hằng tuần"]),
        (WithinMonthRule(year=2023, month=4), "2023-04-01", "2023-04-28", ["30/04/2023"]),
        (WithinQuarterRule(year=2022, quarter=4), "2022-09-09", "2022-12-30", ["quý IV/2022"]),
        (WithinQuarterRule(year=2022, quarter=3), "2022-09-09", "2022-09-30", ["quý III/2022"]),
        (WithinHalfYearRule(year=2023, half=1), "2022-09-09", "2023-06-30", ["6 tháng đầu năm 2023"]),
        (WithinHalfYearRule(year=2023, half=2), "2022-09-09", "2023-12-29", ["6 tháng cuối năm 2023"]),
        (WithinYearRule(year=2023), "2022-09-09", "2023-12-29", ["năm 2023"]),
        (WithinYearRule(year=2025), "2022-09-09", "2025-12-31", []),
        # Meeting without a configured date: the month's last working day.
        (
            MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=2022, month=9),
            "2022-09-09",
            "2022-09-30",
            ["chưa có ngày họp trong cấu hình", "ngày làm việc cuối cùng của tháng"],
        ),
        (MeetingRule(body=None, year=2022, month=12), "2022-09-09", "2022-12-30", ["không nêu cơ quan"]),
        # Urgent: the policy default (5) or an explicit number of working days.
        (UrgentRule(), "2022-09-09", "2022-09-16", ["khẩn trương", "mặc định"]),
        (UrgentRule(working_days=3), "2022-08-31", "2022-09-07", ["khẩn trương — 3 ngày làm việc"]),
    ],
)
def test_compute_due(
    cal: WorkCalendar, policy: DeadlinePolicy, rule: object, start: str, expected: str, must_mention: list[str]
) -> None:
    result = compute_due(rule, D(start), cal, policy)  # type: ignore[arg-type]
    assert result.due == D(expected)
    assert result.explanation.startswith(f"Hạn {D(expected):%d/%m/%Y} (")
    for part in must_mention:
        assert part in result.explanation


def test_ongoing_has_no_due_date(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    result = compute_due(OngoingRule(), NOTICE_DAY, cal, policy)
    assert result.due is None
    assert "không có một hạn" in result.explanation


def test_configured_meeting_date_is_used_and_bodies_match_loosely(cal: WorkCalendar) -> None:
    policy = DeadlinePolicy(meetings=[Meeting(body="Ban thường vụ Tỉnh uỷ", date=D("2022-09-28"), note="lịch thử")])
    result = compute_due(MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=2022, month=9), NOTICE_DAY, cal, policy)
    assert result.due == D("2022-09-28")
    assert "theo lịch họp đã cấu hình" in result.explanation and "lịch thử" in result.explanation
    other = compute_due(MeetingRule(body="Ban Chấp hành Đảng bộ tỉnh", year=2022, month=9), NOTICE_DAY, cal, policy)
    assert other.due == D("2022-09-30")


def test_urgent_default_follows_the_policy(cal: WorkCalendar) -> None:
    policy = DeadlinePolicy(urgent_working_days=10)
    assert compute_due(UrgentRule(), NOTICE_DAY, cal, policy).due == D("2022-09-23")


def test_policy_refuses_two_dates_for_one_meeting() -> None:
    with pytest.raises(ValidationError, match="trùng lịch họp"):
        DeadlinePolicy(
            meetings=[
                Meeting(body="Ban Thường vụ Tỉnh ủy", date=D("2022-09-28")),
                Meeting(body="ban thường vụ tỉnh ủy", date=D("2022-09-29")),
            ]
        )


ALL_RULES = [
    FixedDateRule(date=D("2022-09-30"), year_from_reference=True),
    WorkingDaysRule(days=10, since=D("2022-09-09")),
    CalendarDaysRule(days=15),
    WithinMonthRule(year=2022, month=10),
    WithinQuarterRule(year=2022, quarter=4),
    WithinHalfYearRule(year=2023, half=1),
    WithinYearRule(year=2023),
    MeetingRule(body="Ban Thường vụ Tỉnh ủy", year=2022, month=9),
    UrgentRule(),
    UrgentRule(working_days=3),
    OngoingRule(),
]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.kind)
def test_rules_round_trip_through_json(rule: object) -> None:
    dumped = rule.model_dump(mode="json")  # type: ignore[attr-defined]
    assert rule_from_json(dumped) == rule
    assert RULE_ADAPTER.validate_json(json.dumps(dumped, ensure_ascii=False)) == rule
    assert dumped["kind"] == rule.kind  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "someday"},
        {"kind": "within_quarter", "year": 2022, "quarter": 5},
        {"kind": "working_days", "days": 0},
        {"kind": "ongoing", "extra": 1},
    ],
)
def test_invalid_rules_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        rule_from_json(data)


def test_recurrence_round_trips() -> None:
    rec = Recurrence(every="quarter", until=D("2025-12-31"))
    assert Recurrence.model_validate(rec.model_dump(mode="json")) == rec
    with pytest.raises(ValidationError):
        Recurrence.model_validate({"every": "week"})


# --- Decree 09/2019 report obligations ------------------------------------------------------------


def _summary(obligations: list) -> list[tuple[str, str, str, str]]:  # type: ignore[type-arg]
    """(period, data_from, cutoff, due) as ISO strings."""
    return [(o.period, o.data_from.isoformat(), o.cutoff.isoformat(), o.due.isoformat()) for o in obligations]


@pytest.mark.parametrize(
    ("every", "start", "end", "expected"),
    [
        (
            "month",
            "2022-09-09",
            "2022-11-30",
            [
                ("2022-09", "2022-08-15", "2022-09-14", "2022-09-20"),
                ("2022-10", "2022-09-15", "2022-10-14", "2022-10-20"),
                ("2022-11", "2022-10-15", "2022-11-14", "2022-11-21"),  # 20/11/2022 is a Sunday
            ],
        ),
        (
            "quarter",
            "2022-09-09",
            "2022-12-31",
            [
                ("2022-Q3", "2022-06-15", "2022-09-14", "2022-09-20"),
                ("2022-Q4", "2022-09-15", "2022-12-14", "2022-12-20"),
            ],
        ),
        ("quarter", "2022-09-21", "2022-12-31", [("2022-Q4", "2022-09-15", "2022-12-14", "2022-12-20")]),
        (
            "half_year",
            "2023-01-01",
            "2023-12-31",
            [
                ("2023-H1", "2022-12-15", "2023-06-14", "2023-06-20"),
                ("2023-H2", "2023-06-15", "2023-12-14", "2023-12-20"),
            ],
        ),
        (
            "year",
            "2022-09-09",
            "2024-12-31",
            [
                ("2022", "2021-12-15", "2022-12-14", "2022-12-20"),
                ("2023", "2022-12-15", "2023-12-14", "2023-12-20"),
                ("2024", "2023-12-15", "2024-12-14", "2024-12-20"),
            ],
        ),
        ("month", "2023-01-01", "2023-01-31", [("2023-01", "2022-12-15", "2023-01-14", "2023-01-27")]),  # 20/1 Tết
    ],
)
def test_report_obligations(
    cal: WorkCalendar, policy: DeadlinePolicy, every: str, start: str, end: str, expected: list[tuple[str, ...]]
) -> None:
    got = report_obligations(Recurrence(every=every), D(start), D(end), cal, policy)  # type: ignore[arg-type]
    assert _summary(got) == expected
    for ob in got:
        assert ob.period_start <= ob.cutoff <= ob.period_end
        assert "Nghị định 09/2019/NĐ-CP" in ob.explanation
        assert cal.working_days_between(ob.cutoff, ob.due) >= 2  # ≥ 1 working day strictly between


def test_obligation_period_bounds(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    (q4,) = report_obligations(Recurrence(every="quarter"), D("2022-10-01"), D("2022-12-31"), cal, policy)
    assert (q4.period, q4.period_start, q4.period_end) == ("2022-Q4", D("2022-10-01"), D("2022-12-31"))


def test_obligations_stop_at_until(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    rec = Recurrence(every="month", until=D("2022-10-05"))
    got = report_obligations(rec, NOTICE_DAY, D("2022-12-31"), cal, policy)
    assert [o.period for o in got] == ["2022-09", "2022-10"]


def test_tet_shift_is_explained(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    (jan,) = report_obligations(Recurrence(every="month"), D("2023-01-01"), D("2023-01-31"), cal, policy)
    assert "20/01/2023 là ngày nghỉ lễ" in jan.explanation
    assert "hạn chuyển sang ngày làm việc tiếp theo 27/01/2023" in jan.explanation


def _tight_policy() -> DeadlinePolicy:
    """Monthly reports due on the 16th, two days after a cut-off on the 14th."""
    return DeadlinePolicy(reporting=Reporting(monthly=ReportingPeriod(cutoff_day=14, due_day=16)))


def test_due_date_is_pushed_to_keep_a_working_day_after_cutoff(cal: WorkCalendar) -> None:
    # Cut-off Friday 14/10/2022; the 16th is a Sunday, so Monday 17/10 — no working day in between,
    # so the due date is pushed to Tuesday 18/10/2022.
    (oct_,) = report_obligations(Recurrence(every="month"), D("2022-10-01"), D("2022-10-31"), cal, _tight_policy())
    assert oct_.due == D("2022-10-18")
    assert "lùi đến 18/10/2022" in oct_.explanation


def test_no_push_when_a_working_day_lies_between(cal: WorkCalendar) -> None:
    # Cut-off Sunday 14/8/2022, due Tuesday 16/8: Monday 15/8 lies between.
    (aug,) = report_obligations(Recurrence(every="month"), D("2022-08-01"), D("2022-08-31"), cal, _tight_policy())
    assert aug.due == D("2022-08-16")
    assert "lùi" not in aug.explanation


def test_reporting_period_refuses_due_right_after_cutoff() -> None:
    with pytest.raises(ValidationError, match="ít nhất 2 ngày"):
        ReportingPeriod(cutoff_day=14, due_day=15)


def test_resolve_due_uses_the_next_period_for_a_bare_recurrence(cal: WorkCalendar, policy: DeadlinePolicy) -> None:
    result = resolve_due(None, Recurrence(every="quarter"), NOTICE_DAY, cal, policy)
    assert result.due == D("2022-09-20")
    assert "quý III/2022" in result.explanation


def test_packaged_deadline_policy() -> None:
    policy = load_deadline_policy(PACKAGED_CONFIG_DIR)
    assert policy.urgent_working_days == 5
    assert policy.meetings == []  # the example meeting is commented out until the office confirms it
    assert (policy.reporting.quarterly.cutoff_day, policy.reporting.quarterly.due_day) == (14, 20)


def test_deadline_policy_errors_name_the_field(tmp_path: Path) -> None:
    (tmp_path / "deadlines.yaml").write_text("urgent_working_days: 5\nurgent_days: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_deadline_policy(tmp_path)
    assert "urgent_days" in str(info.value) and ":2:" in str(info.value)
