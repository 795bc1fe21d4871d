"""The periodic report's figures from plain data: the four-category grids with the on-time rate,
overdue items, extensions, latest updates, ongoing obligations, the agency ranking and the change
since the previous period, from the lines judged at the cut-off (domain/report_lines.py).

Nothing here reads a database or talks to Prefect: tasks/reporting/history.py reads the history in
bulk, and the document writers only format what this module computed.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache

# The history and the judged lines live in domain.report_lines; they are still imported from here.
from domain.report_lines import OBLIGATION_STATES_VI as OBLIGATION_STATES_VI
from domain.report_lines import AssignmentHistory as AssignmentHistory
from domain.report_lines import DeadlineEntry as DeadlineEntry
from domain.report_lines import DirectiveInfo as DirectiveInfo
from domain.report_lines import ReportLine as ReportLine
from domain.report_lines import categories_at as categories_at
from domain.report_lines import facts_at as facts_at
from domain.report_lines import report_line as report_line
from domain.timeliness import Category, Timeliness
from domain.update_log import UpdateEntry as UpdateEntry
from domain.workdays import local_date

CATEGORY_ORDER = (Category.on_time, Category.late, Category.in_progress, Category.overdue)
POINT_WORDS_VI = {
    Category.on_time: "hoàn thành đúng hạn",
    Category.in_progress: "đang thực hiện trong hạn",
    Category.late: "hoàn thành quá hạn",
    Category.overdue: "quá hạn",
}
ON_TIME_RATE_METHOD_VI = (
    "Tỷ lệ hoàn thành đúng hạn = số việc hoàn thành đúng hạn / số việc đã đến hạn "
    "(hoàn thành đúng hạn + hoàn thành quá hạn + quá hạn); việc đang thực hiện trong hạn chưa tính, "
    "việc đã thu hồi không tính."
)
# --- grids -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """The four-category grid of a group of assignments."""

    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    overdue: int = 0

    @classmethod
    def of(cls, categories: Iterable[Category]) -> Grid:
        """Count categories."""
        counts = Counter(categories)
        return cls(
            counts[Category.on_time], counts[Category.late], counts[Category.in_progress], counts[Category.overdue]
        )

    def count(self, category: Category) -> int:
        """The count of one category."""
        return int(getattr(self, category.value))

    @property
    def total(self) -> int:
        """Assignments judged."""
        return self.on_time + self.late + self.in_progress + self.overdue

    @property
    def done(self) -> int:
        """Assignments completed, on time or late."""
        return self.on_time + self.late

    @property
    def due(self) -> int:
        """Assignments whose deadline has come: completed, or overdue."""
        return self.on_time + self.late + self.overdue

    @property
    def on_time_rate(self) -> Fraction | None:
        """Share completed on time among those whose deadline has come (ON_TIME_RATE_METHOD_VI); None if none."""
        return Fraction(self.on_time, self.due) if self.due else None


def percent_vi(rate: Fraction | float | None, digits: int = 1) -> str:
    """A rate as Vietnamese writes it: 33,3% (decimal comma); "—" when there is none."""
    if rate is None:
        return "—"
    text = f"{float(rate) * 100:.{digits}f}".replace(".", ",")
    if "," in text:
        text = text.rstrip("0").rstrip(",")
    return f"{text}%"


def signed(n: int) -> str:
    """+3, −2, 0 (with a real minus sign)."""
    return f"+{n}" if n > 0 else (f"−{-n}" if n < 0 else "0")


@dataclass(frozen=True)
class GroupRow:
    """One row of a grid table: a notice, a directive or an agency."""

    key: str
    label: str
    grid: Grid


@dataclass(frozen=True)
class RankRow:
    """One agency in the ranking."""

    rank: int
    agency_code: str
    agency_name: str
    score: Fraction
    grid: Grid
    days_overdue: int
    lead: int
    support: int


@dataclass(frozen=True)
class ObligationRow:
    """Ongoing directive: how its agencies stand on their latest report obligation."""

    key: str
    label: str
    counts: dict[str, int]


@dataclass(frozen=True)
class TrendPoint:
    """The grid at the cut-off of one period."""

    label: str
    label_vi: str
    grid: Grid


@dataclass(frozen=True)
class Change:
    """The grid now against the previous period's cut-off, and which items changed sides."""

    previous_label_vi: str
    previous: Grid
    current: Grid
    newly_overdue: list[ReportLine]
    resolved: list[ReportLine]

    def delta(self, category: Category) -> int:
        """Change of one category's count."""
        return self.current.count(category) - self.previous.count(category)


@dataclass
class ReportModel:
    """Every figure of one report."""

    lines: list[ReportLine]
    total: Grid
    by_notice: list[GroupRow]
    by_directive: list[GroupRow]
    by_agency: list[GroupRow]
    overdue: list[ReportLine]
    late: list[ReportLine]
    extensions: list[tuple[ReportLine, DeadlineEntry]]
    extensions_total: int
    updates: list[tuple[ReportLine, UpdateEntry]]
    obligations: list[ObligationRow]
    ranking: list[RankRow]
    ranking_method_vi: str
    change: Change | None
    trend: list[TrendPoint] = field(default_factory=list)


@lru_cache(maxsize=8192)
def name_key(name: str) -> tuple[str, str]:
    """Sort Vietnamese names by their letters first, then their marks."""
    base = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in base if not unicodedata.combining(c)).casefold(), name


def _line_order(line: ReportLine) -> tuple[object, ...]:
    """Notice, directive, lead before support, agency name."""
    return (line.directive.order, line.role != "lead", name_key(line.agency_name))


@dataclass(frozen=True)
class UpdateRow:
    """One row of the latest-updates table: a progress report and every agency that sent the same one."""

    line: ReportLine
    update: UpdateEntry
    agency_names: tuple[str, ...]
    document_numbers: tuple[str | None, ...]  # each agency's own report number, in agency_names' order


def _same_report_key(line: ReportLine, update: UpdateEntry) -> tuple[object, ...]:
    """What makes two reports the same row: day, directive, status, percent and words (not agency or number)."""
    return (local_date(update.at), line.directive.directive_id, update.status, update.percent, update.note)


def update_rows(updates: Sequence[tuple[ReportLine, UpdateEntry]]) -> list[UpdateRow]:
    """The latest updates, the same report (day, directive, status, percent, words) from several agencies as one row.

    Each agency keeps its own document number in the row. The updates come sorted by day and
    directive, so such reports lie in one block; each joins the first row of its kind, and the
    block keeps its order.
    """
    rows: list[UpdateRow] = []
    index: dict[tuple[object, ...], int] = {}
    for line, update in updates:
        key = _same_report_key(line, update)
        if key in index:
            first = rows[index[key]]
            rows[index[key]] = UpdateRow(
                first.line,
                first.update,
                (*first.agency_names, line.agency_name),
                (*first.document_numbers, update.document_number),
            )
        else:
            index[key] = len(rows)
            rows.append(UpdateRow(line, update, (line.agency_name,), (update.document_number,)))
    return rows


def directive_label(info: DirectiveInfo, several_notices: bool) -> str:
    """ "Mục 2.3", or "TB 1061-TB/TU, mục 2.3" when a report covers several notices."""
    return f"TB {info.notice_number}, mục {info.number}" if several_notices else f"Mục {info.number}"


def _grouped(lines: Sequence[ReportLine], key: object) -> dict[object, list[ReportLine]]:
    """Group lines by a key function, keeping first-seen order."""
    groups: dict[object, list[ReportLine]] = {}
    for line in lines:
        groups.setdefault(key(line), []).append(line)  # type: ignore[operator]
    return groups


def ranking_method_vi(points: Mapping[str, int], weights: Mapping[str, int], unranked: Sequence[str] = ()) -> str:
    """The ranking method, in the words the report prints (unranked: the names of the bodies left out)."""
    scored = ", ".join(
        f"{POINT_WORDS_VI[c]} {points[c.value]} điểm"
        for c in (Category.on_time, Category.in_progress, Category.late, Category.overdue)
    )
    text = (
        f"Mỗi việc được chấm điểm theo tình trạng tại ngày chốt số liệu: {scored}; việc chủ trì tính hệ số "
        f"{weights['lead']}, việc phối hợp hệ số {weights['support']}. Điểm của cơ quan là trung bình có trọng số "
        "của các việc (thang điểm 100). Cơ quan bằng điểm được xếp theo tổng số ngày làm việc quá hạn (ít hơn xếp "
        "trên), rồi theo số việc hoàn thành đúng hạn (nhiều hơn xếp trên). Xếp hạng liền kề: các cơ quan bằng nhau "
        "ở cả ba tiêu chí thì đồng hạng, cơ quan tiếp theo nhận hạng kế tiếp (không bỏ trống hạng). "
        "Việc đã thu hồi không tính."
    )
    if unranked:
        text += (
            f" Không xếp hạng cơ quan theo dõi, đôn đốc và cơ quan ban hành báo cáo ({', '.join(unranked)}); "
            "số liệu của các cơ quan này vẫn có trong các bảng tổng hợp."
        )
    return text


def rank_agencies(
    lines: Sequence[ReportLine],
    points: Mapping[str, int],
    weights: Mapping[str, int],
    unranked: Collection[str] = frozenset(),
) -> list[RankRow]:
    """Rank agencies (dense ranks) by weighted score, then working days overdue, then on-time completions.

    Agencies in unranked (the notice's monitors and the report's author, who judge the others) are left out.
    """
    rows = []
    for code, group in _grouped(lines, lambda line: line.agency_code).items():
        if code in unranked:
            continue
        weight = sum(weights[line.role] for line in group)
        score = Fraction(sum(weights[line.role] * points[line.category] for line in group), weight)
        days = sum(line.timeliness.days_overdue for line in group if line.category == Category.overdue)
        grid = Grid.of(line.category for line in group)
        lead = sum(1 for line in group if line.role == "lead")
        rows.append((score, days, grid, str(code), group[0].agency_name, lead, len(group) - lead))
    rows.sort(key=lambda r: (-r[0], r[1], -r[2].on_time, name_key(r[4])))
    out: list[RankRow] = []
    for score, days, grid, code, name, lead, support in rows:
        tied = out and (out[-1].score, out[-1].days_overdue, out[-1].grid.on_time) == (score, days, grid.on_time)
        rank = out[-1].rank if tied else (out[-1].rank + 1 if out else 1)
        out.append(RankRow(rank, code, name, score, grid, days, lead, support))
    return out


def _unranked_names(lines: Sequence[ReportLine], unranked: Mapping[str, str] | None) -> list[str]:
    """The names of the bodies left out of the ranking that have work in the report, in name order."""
    present = {line.agency_code for line in lines}
    return sorted((name for code, name in (unranked or {}).items() if code in present), key=name_key)


def _in_window(moment: datetime, window: tuple[date, date]) -> bool:
    """Whether a moment's local date lies in [data_from, cutoff]."""
    return window[0] <= local_date(moment) <= window[1]


def build_report(
    lines: Sequence[ReportLine],
    window: tuple[date, date],
    points: Mapping[str, int],
    weights: Mapping[str, int],
    previous: tuple[str, Mapping[int, Timeliness]] | None = None,
    trend: Sequence[TrendPoint] = (),
    *,
    rank: bool = True,
    unranked: Mapping[str, str] | None = None,
) -> ReportModel:
    """Compute every figure of a report from its judged lines (window is the period's data_from and cutoff).

    rank=False leaves the ranking out; unranked maps the codes of the bodies not ranked to their names.
    """
    ordered = sorted(lines, key=_line_order)
    several = len({line.directive.notice_id for line in ordered}) > 1
    by_notice = [
        GroupRow(
            str(group[0].directive.notice_id), group[0].directive.notice_number, Grid.of(x.category for x in group)
        )
        for group in _grouped(ordered, lambda line: line.directive.notice_id).values()
    ]
    by_directive = [
        GroupRow(
            str(group[0].directive.directive_id),
            directive_label(group[0].directive, several),
            Grid.of(x.category for x in group),
        )
        for group in _grouped(ordered, lambda line: line.directive.directive_id).values()
    ]
    agencies = sorted(
        _grouped(ordered, lambda line: line.agency_code).values(), key=lambda g: name_key(g[0].agency_name)
    )
    by_agency = [GroupRow(g[0].agency_code, g[0].agency_name, Grid.of(x.category for x in g)) for g in agencies]
    overdue = sorted(
        (x for x in ordered if x.category == Category.overdue),
        key=lambda x: (-x.timeliness.days_overdue, _line_order(x)),
    )
    late = sorted(
        (x for x in ordered if x.category == Category.late), key=lambda x: (-x.timeliness.days_overdue, _line_order(x))
    )
    extensions = sorted(
        ((x, e) for x in ordered for e in x.extensions if _in_window(e.at, window)),
        key=lambda pair: (pair[1].at, _line_order(pair[0])),
    )
    updates = [
        (x, x.last_progress) for x in ordered if x.last_progress is not None and _in_window(x.last_progress.at, window)
    ]
    # Newest day first, then notice order: agencies that sent the same report on the same day for
    # the same directive end up side by side, so update_rows() can show them as one row.
    updates.sort(key=lambda pair: (-local_date(pair[1].at).toordinal(), _line_order(pair[0]), -pair[1].at.timestamp()))
    obligations = []
    for group in _grouped(
        [x for x in ordered if x.obligation is not None], lambda line: line.directive.directive_id
    ).values():
        counts = Counter(x.obligation.state for x in group if x.obligation is not None)
        obligations.append(
            ObligationRow(
                str(group[0].directive.directive_id),
                directive_label(group[0].directive, several),
                {state: counts[state] for state in OBLIGATION_STATES_VI},
            )
        )
    total = Grid.of(x.category for x in ordered)
    change = None
    if previous is not None:
        label, before = previous
        newly = [
            x
            for x in overdue
            if before.get(x.assignment_id) is None or before[x.assignment_id].category != Category.overdue
        ]
        resolved = [
            x
            for x in ordered
            if x.category != Category.overdue
            and x.assignment_id in before
            and before[x.assignment_id].category == Category.overdue
        ]
        change = Change(label, Grid.of(t.category for t in before.values()), total, newly, resolved)
    return ReportModel(
        lines=ordered,
        total=total,
        by_notice=by_notice,
        by_directive=by_directive,
        by_agency=by_agency,
        overdue=overdue,
        late=late,
        extensions=extensions,
        extensions_total=sum(len(x.extensions) for x in ordered),
        updates=updates,
        obligations=obligations,
        ranking=rank_agencies(ordered, points, weights, set(unranked or {})) if rank else [],
        ranking_method_vi=ranking_method_vi(points, weights, _unranked_names(ordered, unranked)) if rank else "",
        change=change,
        trend=list(trend),
    )
