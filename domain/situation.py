"""Where a directive stands, in one word a coordinator can filter on: overdue, due soon, or on track."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.escalation import Ladder
from domain.timeliness import Category, Timeliness
from domain.workdays import WorkCalendar


class Situation(StrEnum):
    """The state name a follow-up run ends with."""

    overdue = "Quá hạn"
    due_soon = "Sắp đến hạn"
    on_track = "Đúng tiến độ"


# Run tags are ASCII so they can be typed into the Runs page filter.
SITUATION_TAGS: dict[Situation, str] = {
    Situation.overdue: "tinh-trang:qua-han",
    Situation.due_soon: "tinh-trang:sap-den-han",
    Situation.on_track: "tinh-trang:dung-tien-do",
}


@dataclass(frozen=True)
class JudgedAssignment:
    """One assignment as the follow-up judged it, with its agency's short name."""

    agency: str
    timeliness: Timeliness | None


@dataclass(frozen=True)
class LateAgency:
    """An agency with overdue work: working days late and the ladder rung reached."""

    agency: str
    days_overdue: int
    level: int | None


@dataclass(frozen=True)
class DirectiveSituation:
    """The situation, and who makes it so."""

    situation: Situation
    late: tuple[LateAgency, ...]
    due_soon: tuple[str, ...]

    @property
    def tag(self) -> str:
        """The run tag of the situation."""
        return SITUATION_TAGS[self.situation]

    @property
    def message(self) -> str:
        """E.g. "Quá hạn: Sở Công Thương 15 ngày làm việc (bậc 4)"."""
        if self.situation is Situation.overdue:
            parts = [
                f"{a.agency} {a.days_overdue} ngày làm việc" + (f" (bậc {a.level})" if a.level else "")
                for a in self.late
            ]
            return f"{self.situation.value}: " + "; ".join(parts)
        if self.situation is Situation.due_soon:
            return f"{self.situation.value}: " + ", ".join(self.due_soon)
        return self.situation.value


def level_reached(ladder: Ladder, days_overdue: int) -> int | None:
    """The highest rung of the overdue ladder that days_overdue has reached, or None."""
    reached = [rung.level for rung in ladder.overdue if rung.after <= days_overdue]
    return max(reached) if reached else None


def judge_situation(
    assignments: Sequence[JudgedAssignment], ladder: Ladder, calendar: WorkCalendar, today: date
) -> DirectiveSituation:
    """Overdue if any assignment is overdue; due soon if one falls due within the first reminder window."""
    late = tuple(
        sorted(
            (
                LateAgency(a.agency, a.timeliness.days_overdue, level_reached(ladder, a.timeliness.days_overdue))
                for a in assignments
                if a.timeliness is not None and a.timeliness.category is Category.overdue
            ),
            key=lambda item: (-item.days_overdue, item.agency),
        )
    )
    if late:
        return DirectiveSituation(Situation.overdue, late, ())
    window = max(ladder.reminders_before_due, default=0)
    soon = tuple(
        sorted(
            a.agency
            for a in assignments
            if a.timeliness is not None
            and a.timeliness.category is Category.in_progress
            and a.timeliness.due is not None
            and a.timeliness.due >= today
            and calendar.working_days_between(today, a.timeliness.due) <= window
        )
    )
    if soon:
        return DirectiveSituation(Situation.due_soon, (), soon)
    return DirectiveSituation(Situation.on_track, (), ())
