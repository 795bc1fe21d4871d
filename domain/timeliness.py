"""The four official timeliness categories, derived from status, deadlines and a reference time."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property, lru_cache

from domain.workdays import WorkCalendar, local_date

# Acknowledging is not reporting on the work: these statuses answer no report obligation.
PROGRESSLESS = ("assigned", "acknowledged")


class Category(StrEnum):
    """Hoàn thành đúng hạn / quá hạn; đang thực hiện trong hạn / quá hạn."""

    on_time = "on_time"
    late = "late"
    in_progress = "in_progress"
    overdue = "overdue"


CATEGORY_VI: dict[Category, str] = {
    Category.on_time: "Hoàn thành đúng hạn",
    Category.late: "Hoàn thành quá hạn",
    Category.in_progress: "Đang thực hiện trong hạn",
    Category.overdue: "Quá hạn",
}


@dataclass(frozen=True, slots=True)
class Obligation:
    """One periodic report an ongoing assignment owes: its period label and due date."""

    period: str
    due: date


@dataclass(frozen=True)
class AssignmentFacts:
    """Everything timeliness and planning need about one assignment, as plain data."""

    assignment_id: int
    agency_code: str
    role: str
    status: str
    created_at: datetime
    original_due: date | None
    current_due: date | None
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None
    updates: tuple[datetime, ...] = ()  # reported_at of every status update, oldest first
    supervisor_code: str | None = None
    obligations: tuple[Obligation, ...] = field(default_factory=tuple)

    @cached_property
    def update_days(self) -> list[date]:
        """The local dates of the progress reports, in order (worked out once: judging asks several times)."""
        return sorted(local_date(u) for u in self.updates)

    @property
    def is_closed(self) -> bool:
        """Done or withdrawn: nothing more is asked of the agency."""
        return self.status in ("done", "withdrawn")

    @property
    def extended(self) -> bool:
        """The deadline was moved by an approved extension."""
        return self.current_due is not None and self.original_due is not None and self.current_due != self.original_due


@dataclass(frozen=True, slots=True)
class Timeliness:
    """A category, the working days overdue (or late), and what it was judged against."""

    category: Category
    days_overdue: int
    due: date | None
    extended: bool = False
    period: str | None = None

    @property
    def label_vi(self) -> str:
        """The category as reports write it, with the extension and the days overdue."""
        label = CATEGORY_VI[self.category]
        if self.category == Category.on_time and self.extended:
            label += " (sau gia hạn)"
        if self.category in (Category.overdue, Category.late) and self.days_overdue:
            label += f" {self.days_overdue} ngày làm việc"
        return label


def obligation_reports(facts: AssignmentFacts, until: date) -> list[tuple[Obligation, date | None]]:
    """Pair each obligation with the report that answered it, up to the first one still open.

    Reports are taken in order and each answers one obligation: the first report after the
    previous obligation's due date (a late report answers the period it is late for). Reports
    that come before that window are extra reports on the previous period and answer nothing.
    """
    days = facts.update_days
    reports = days[: bisect_right(days, until)]
    pairs: list[tuple[Obligation, date | None]] = []
    index = 0
    previous_due: date | None = None
    for obligation in facts.obligations:
        while index < len(reports) and previous_due is not None and reports[index] <= previous_due:
            index += 1
        answered = reports[index] if index < len(reports) else None
        pairs.append((obligation, answered))
        if answered is None:
            break  # this one is still open: later periods cannot be judged before it
        index += 1
        previous_due = max(obligation.due, answered)
    return pairs


def unmet_obligation(facts: AssignmentFacts, as_of: date) -> Obligation | None:
    """Return the earliest obligation whose due date has passed with no report answering it."""
    for obligation, answered in obligation_reports(facts, as_of):
        if answered is None and obligation.due < as_of:
            return obligation
    return None


def next_obligation_due(facts: AssignmentFacts, as_of: date) -> Obligation | None:
    """Return the first obligation not yet answered and not yet past its due date."""
    pairs = obligation_reports(facts, as_of)
    if pairs and pairs[-1][1] is None:
        return pairs[-1][0] if pairs[-1][0].due >= as_of else None
    answered = len(pairs)
    return next((o for o in facts.obligations[answered:] if o.due >= as_of), None)


@lru_cache(maxsize=64)
def _local_day(moment: datetime) -> date:
    """local_date of a reference time: a report judges tens of thousands of assignments at the same few moments."""
    return local_date(moment)


def classify(facts: AssignmentFacts, calendar: WorkCalendar, as_of: datetime) -> Timeliness | None:
    """Classify one assignment at as_of; None for withdrawn assignments, which are not judged."""
    if facts.status == "withdrawn":
        return None
    today = _local_day(as_of)
    if facts.current_due is None:
        return _classify_ongoing(facts, calendar, today)
    due = facts.current_due
    if facts.status == "done" and facts.completed_at is not None:
        finished = local_date(facts.completed_at)
        if finished <= due:
            return Timeliness(
                Category.on_time, 0, due, extended=facts.extended and finished > (facts.original_due or due)
            )
        return Timeliness(Category.late, calendar.working_days_between(due, finished), due, facts.extended)
    if today <= due:
        return Timeliness(Category.in_progress, 0, due, facts.extended)
    return Timeliness(Category.overdue, calendar.working_days_between(due, today), due, facts.extended)


def _classify_ongoing(facts: AssignmentFacts, calendar: WorkCalendar, today: date) -> Timeliness:
    """Ongoing tasks are judged by their periodic report obligations."""
    if facts.status == "done" and facts.completed_at is not None:
        finished = local_date(facts.completed_at)
        for obligation, answered in obligation_reports(facts, finished):
            if obligation.due >= finished:
                break
            if answered is None or answered > obligation.due:
                late_by = calendar.working_days_between(obligation.due, answered or finished)
                return Timeliness(Category.late, late_by, obligation.due, period=obligation.period)
        return Timeliness(Category.on_time, 0, None)
    missed = unmet_obligation(facts, today)
    if missed is not None:
        return Timeliness(
            Category.overdue, calendar.working_days_between(missed.due, today), missed.due, period=missed.period
        )
    upcoming = next_obligation_due(facts, today)
    return Timeliness(
        Category.in_progress, 0, upcoming.due if upcoming else None, period=upcoming.period if upcoming else None
    )
