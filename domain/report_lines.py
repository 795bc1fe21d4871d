"""The assignment as it stood at a moment, judged: its history, its facts at a cut-off, its report line.

A report judges every assignment at its cut-off and at the earlier cut-offs of its trend;
judge_histories does it in one pass, each history prepared once (a bisect per moment, not a scan).
Nothing here reads a database: tasks/reporting/history.py reads the history in bulk.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from domain.timeliness import (
    PROGRESSLESS,
    AssignmentFacts,
    Category,
    Obligation,
    Timeliness,
    classify,
    obligation_reports,
)
from domain.update_log import UpdateEntry
from domain.workdays import WorkCalendar, local_date

OBLIGATION_STATES_VI = {
    "on_time": "Báo cáo đúng hạn",
    "late": "Báo cáo muộn",
    "missing": "Chưa báo cáo (quá hạn)",
    "not_due": "Chưa đến hạn báo cáo",
}


# --- history: the assignment as it stood at a moment ---------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineEntry:
    """One entry of an assignment's deadline history: the original due date, an extension, a revision."""

    at: datetime
    kind: str
    due: date | None
    reason: str | None = None
    requested_by: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class AssignmentHistory:
    """Everything ever recorded about one assignment, oldest first, as plain data."""

    assignment_id: int
    directive_id: int
    agency_code: str
    role: str
    created_at: datetime
    status: str  # the current status: only used to recognise a withdrawal without a timestamp
    due_date: date | None  # the current due date, for assignments without any deadline history
    withdrawn_at: datetime | None = None
    deadlines: tuple[DeadlineEntry, ...] = ()
    updates: Sequence[UpdateEntry] = ()  # a tuple, or an UpdateSpan of the bulk read
    supervisor_code: str | None = None

    def updates_until(self, moment: datetime) -> Sequence[UpdateEntry]:
        """The updates recorded at or before moment."""
        return self.updates[: bisect_right(self.updates, moment, key=_update_time)]

    def extensions_until(self, moment: datetime) -> tuple[DeadlineEntry, ...]:
        """The extensions approved at or before moment."""
        return tuple(d for d in self.deadlines if d.kind == "extension" and d.at <= moment)


def _update_time(update: UpdateEntry) -> datetime:
    """When an update was recorded (the bisect key)."""
    return update.at


def is_live(history: AssignmentHistory, moment: datetime) -> bool:
    """Whether the assignment had been given and not withdrawn at moment."""
    if history.created_at > moment:
        return False
    if history.withdrawn_at is not None:
        return history.withdrawn_at > moment
    return history.status != "withdrawn"


def facts_at(
    history: AssignmentHistory, moment: datetime, obligations: tuple[Obligation, ...] = ()
) -> AssignmentFacts | None:
    """The assignment's facts as they stood at moment, rebuilt from its history; None if not live then.

    Status, acknowledgement and completion come from the updates up to moment (the way
    tasks.status_recording.record_status_update sets them); the due date from the deadline history up to moment.
    """
    return _Timeline(history).facts(moment, obligations)


class _Timeline:
    """One assignment's history prepared once, so that judging it at several moments is a bisect, not a scan."""

    __slots__ = (
        "entries",
        "first_acknowledged",
        "has_original",
        "history",
        "known",
        "original",
        "progress",
        "progressed",
        "times",
    )

    def __init__(self, history: AssignmentHistory):
        self.history = history
        # Made once: the bulk read keeps updates compact and makes an entry each time one is read.
        self.entries = entries = list(history.updates)
        self.times = [u.at for u in entries]  # updates are oldest first: the ones up to a moment are a prefix
        progress: list[datetime] = []
        self.progressed = progressed = [0]  # progressed[n]: how many of the first n updates report progress
        self.first_acknowledged: int | None = None
        for index, update in enumerate(entries):
            if update.status not in PROGRESSLESS:
                progress.append(update.at)
            progressed.append(len(progress))
            if self.first_acknowledged is None and update.status != "assigned":
                self.first_acknowledged = index
        self.progress = tuple(progress)
        originals = [d.due for d in history.deadlines if d.kind == "original"]
        self.has_original = bool(originals)
        self.original = originals[0] if originals else None
        # Facts depend on the moment only through the updates and the due date up to it: an assignment
        # that did not change between two cut-offs has the same facts at both (made once, reused).
        self.known: dict[tuple[int, date | None, int], AssignmentFacts] = {}

    def count(self, moment: datetime) -> int:
        """How many updates had been recorded at or before moment."""
        return bisect_right(self.times, moment)

    def facts(self, moment: datetime, obligations: tuple[Obligation, ...] = ()) -> AssignmentFacts | None:
        """The assignment's facts at moment (see facts_at)."""
        history = self.history
        if not is_live(history, moment):
            return None
        updates = self.entries
        n = self.count(moment)
        status = updates[n - 1].status if n else "assigned"
        first = self.first_acknowledged
        deadlines = history.deadlines
        if deadlines:
            current = deadlines[0].due  # before its first entry, the original due date applies
            for entry in reversed(deadlines):
                if entry.at <= moment:
                    current = entry.due
                    break
            original = self.original if self.has_original else current
        else:
            current = original = history.due_date
        key = (n, current, id(obligations))  # the facts kept hold obligations: the id is not reused
        found = self.known.get(key)
        if found is not None:
            return found
        found = self.known[key] = AssignmentFacts(
            assignment_id=history.assignment_id,
            agency_code=history.agency_code,
            role=history.role,
            status=status,
            created_at=history.created_at,
            original_due=original,
            current_due=current,
            acknowledged_at=updates[first].at if first is not None and first < n else None,
            completed_at=updates[n - 1].at if status == "done" else None,
            updates=self.progress[: self.progressed[n]],
            supervisor_code=history.supervisor_code,
            obligations=obligations,
        )
        return found


# --- ongoing work: the latest periodic obligation -------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObligationOutcome:
    """How an ongoing assignment stands on its latest report obligation at the cut-off."""

    period: str
    due: date
    answered: date | None
    state: str  # on_time | late | missing | not_due
    days_late: int = 0  # working days: late answer, or still missing at the cut-off

    @property
    def label_vi(self) -> str:
        """ "Báo cáo muộn 3 ngày làm việc", "Chưa báo cáo (quá hạn) 12 ngày làm việc", …"""
        label = OBLIGATION_STATES_VI[self.state]
        return f"{label} {self.days_late} ngày làm việc" if self.days_late else label


def obligation_outcome(facts: AssignmentFacts, calendar: WorkCalendar, cutoff: date) -> ObligationOutcome | None:
    """The obligation that matters at the cut-off: the earliest one missed, else the latest one due, else the next."""
    if not facts.obligations or facts.is_closed:
        return None
    pairs = obligation_reports(facts, cutoff)
    if pairs and pairs[-1][1] is None and pairs[-1][0].due < cutoff:
        missed = pairs[-1][0]
        return ObligationOutcome(
            missed.period, missed.due, None, "missing", calendar.working_days_between(missed.due, cutoff)
        )
    due = [(o, answered) for o, answered in pairs if o.due <= cutoff and answered is not None]
    if due:
        ob, answered = due[-1]
        assert answered is not None
        if answered <= ob.due:
            return ObligationOutcome(ob.period, ob.due, answered, "on_time")
        return ObligationOutcome(ob.period, ob.due, answered, "late", calendar.working_days_between(ob.due, answered))
    upcoming = next((o for o, answered in pairs if answered is None), None)
    if upcoming is None:
        upcoming = next((o for o in facts.obligations[len(pairs) :]), None)
    if upcoming is None:
        return None
    return ObligationOutcome(upcoming.period, upcoming.due, None, "not_due")


# --- report lines -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectiveInfo:
    """What the report shows about a directive."""

    directive_id: int
    notice_id: int
    notice_number: str
    number: str
    order: tuple[int, ...]  # notice order, then the directive's position
    excerpt: str
    ongoing: bool


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One assignment as it stood at the cut-off, judged."""

    assignment_id: int
    directive: DirectiveInfo
    agency_code: str
    agency_name: str
    role: str
    status: str
    percent: int | None
    original_due: date | None
    current_due: date | None
    timeliness: Timeliness
    obligation: ObligationOutcome | None = None
    last_update: UpdateEntry | None = None  # any update, acknowledgements included
    last_progress: UpdateEntry | None = None  # the latest progress report
    extensions: tuple[DeadlineEntry, ...] = ()

    @property
    def category(self) -> Category:
        """The line's timeliness category."""
        return self.timeliness.category


def report_line(
    history: AssignmentHistory,
    directive: DirectiveInfo,
    agency_name: str,
    moment: datetime,
    calendar: WorkCalendar,
    obligations: tuple[Obligation, ...] = (),
) -> ReportLine | None:
    """Judge one assignment at moment (the end of the cut-off day); None if not live then."""
    return _line(_Timeline(history), directive, agency_name, moment, calendar, obligations)


def _line(
    timeline: _Timeline,
    directive: DirectiveInfo,
    agency_name: str,
    moment: datetime,
    calendar: WorkCalendar,
    obligations: tuple[Obligation, ...],
    seen: dict[Any, Any] | None = None,
) -> ReportLine | None:
    """One report line from a prepared history (see report_line); seen shares equal values (judgements, updates)."""
    facts = timeline.facts(moment, obligations)
    if facts is None:
        return None
    judged = classify(facts, calendar, moment)
    assert judged is not None  # withdrawn assignments are not live
    history = timeline.history
    updates = timeline.entries[: timeline.count(moment)]
    percent = next((u.percent for u in reversed(updates) if u.percent is not None), None)
    last_update = updates[-1] if updates else None
    last_progress = next((u for u in reversed(updates) if u.status not in PROGRESSLESS), None)
    obligation = obligation_outcome(facts, calendar, local_date(moment))
    if seen is not None:
        share = seen.setdefault
        judged = share(judged, judged)
        last_update = share(last_update, last_update)
        last_progress = share(last_progress, last_progress)
        obligation = share(obligation, obligation)
    return ReportLine(
        assignment_id=history.assignment_id,
        directive=directive,
        agency_code=history.agency_code,
        agency_name=agency_name,
        role=history.role,
        status=facts.status,
        percent=percent,
        original_due=facts.original_due,
        current_due=facts.current_due,
        timeliness=judged,
        obligation=obligation,
        last_update=last_update,
        last_progress=last_progress,
        extensions=history.extensions_until(moment),
    )


def categories_at(
    histories: Iterable[tuple[AssignmentHistory, tuple[Obligation, ...]]], moment: datetime, calendar: WorkCalendar
) -> dict[int, Timeliness]:
    """Each live assignment's timeliness at moment (for the previous period and the trend)."""
    out: dict[int, Timeliness] = {}
    for history, obligations in histories:
        judged = _category(_Timeline(history), moment, calendar, obligations)
        if judged is not None:
            out[history.assignment_id] = judged
    return out


def _category(
    timeline: _Timeline, moment: datetime, calendar: WorkCalendar, obligations: tuple[Obligation, ...]
) -> Timeliness | None:
    """A prepared history's timeliness at moment; None if it was not live then."""
    facts = timeline.facts(moment, obligations)
    return classify(facts, calendar, moment) if facts is not None else None


@dataclass
class Judged:
    """Every assignment judged at the cut-off, with the counts at earlier cut-offs and the previous one in full."""

    lines: list[ReportLine]
    counts: list[Counter[Category]]  # the categories at each earlier moment, in order
    previous: dict[int, Timeliness]  # each live assignment's timeliness at the previous cut-off


def judge_histories(
    histories: Iterable[tuple[AssignmentHistory, tuple[Obligation, ...]]],
    directives: Mapping[int, DirectiveInfo],
    names: Mapping[str, str],
    moment: datetime,
    earlier: Sequence[datetime],
    previous: datetime,
    calendar: WorkCalendar,
) -> Judged:
    """Judge each assignment at moment and at every earlier moment (previous among them) in one pass.

    The result equals report_line at moment, the categories of categories_at(...) counted at each earlier
    moment and categories_at at previous; each history is prepared once instead of once per moment.
    """
    if previous not in earlier:
        raise ValueError("the previous cut-off must be one of the earlier moments")
    lines: list[ReportLine] = []
    counts: list[Counter[Category]] = [Counter() for _ in earlier]
    before: dict[int, Timeliness] = {}
    # Equal judgements, latest updates (several agencies reporting at one moment) and obligation outcomes are
    # one object each: a line keeps them until the report is written, and most are alike.
    seen: dict[Any, Any] = {}
    for history, obligations in histories:
        timeline = _Timeline(history)
        directive, name = directives[history.directive_id], names[history.agency_code]
        line = _line(timeline, directive, name, moment, calendar, obligations, seen)
        if line is not None:
            lines.append(line)
        for at, count in zip(earlier, counts, strict=True):
            judged = _category(timeline, at, calendar, obligations)
            if judged is not None:
                count[judged.category] += 1
                if at == previous:
                    before[history.assignment_id] = seen.setdefault(judged, judged)
    return Judged(lines, counts, before)
