"""The situation a follow-up run is named by: overdue, due soon, on track (pure rules)."""

from __future__ import annotations

from datetime import date

import pytest

from config.escalation import load_escalation_policy
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.situation import SITUATION_TAGS, JudgedAssignment, Situation, judge_situation, level_reached
from domain.timeliness import Category, Timeliness

CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
LADDER = load_escalation_policy(PACKAGED_CONFIG_DIR).ladder("normal")
TODAY = date(2022, 10, 11)  # a Tuesday


def judged(agency: str, category: Category, days: int = 0, due: date | None = date(2022, 9, 20)) -> JudgedAssignment:
    return JudgedAssignment(agency, Timeliness(category, days, due))


@pytest.mark.parametrize(
    ("days", "level"),
    [(0, None), (1, 1), (2, 1), (3, 2), (6, 2), (7, 3), (14, 3), (15, 4), (40, 4)],
)
def test_the_rung_reached_follows_the_configured_ladder(days: int, level: int | None) -> None:
    # config/escalation.yaml: 1 → agency and head, 3 → supervisor, 7 → monitors, 15 → issuer.
    assert level_reached(LADDER, days) == level


def test_any_overdue_assignment_makes_the_directive_overdue_and_names_the_worst_first() -> None:
    found = judge_situation(
        [
            judged("Sở Tài chính", Category.on_time),
            judged("Sở Công Thương", Category.overdue, 15),
            judged("Hội Nông dân tỉnh", Category.overdue, 2),
        ],
        LADDER,
        CALENDAR,
        TODAY,
    )
    assert found.situation is Situation.overdue and found.tag == "tinh-trang:qua-han"
    assert (
        found.message == "Quá hạn: Sở Công Thương 15 ngày làm việc (bậc 4); Hội Nông dân tỉnh 2 ngày làm việc (bậc 1)"
    )


def test_a_due_date_within_the_first_reminder_window_is_due_soon() -> None:
    window = max(LADDER.reminders_before_due)
    soon = CALENDAR.add_working_days(TODAY, window)
    later = CALENDAR.add_working_days(TODAY, window + 1)
    assert judge_situation([judged("Sở Y tế", Category.in_progress, due=soon)], LADDER, CALENDAR, TODAY).situation is (
        Situation.due_soon
    )
    on_track = judge_situation([judged("Sở Y tế", Category.in_progress, due=later)], LADDER, CALENDAR, TODAY)
    assert on_track.situation is Situation.on_track and on_track.message == "Đúng tiến độ"


def test_done_and_withdrawn_work_is_on_track_and_every_situation_has_an_ascii_tag() -> None:
    found = judge_situation(
        [judged("Sở Y tế", Category.late, 3), JudgedAssignment("Sở Xây dựng", None)], LADDER, CALENDAR, TODAY
    )
    assert found.situation is Situation.on_track
    assert all(tag.isascii() for tag in SITUATION_TAGS.values()) and len(set(SITUATION_TAGS.values())) == 3
