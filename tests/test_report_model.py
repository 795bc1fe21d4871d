"""The report's figures from plain data (no database, no Prefect), against answers worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, time
from fractions import Fraction

import pytest

from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.deadlines import Recurrence, report_obligations
from domain.planner import at_local
from domain.report_model import (
    AssignmentHistory,
    DeadlineEntry,
    DirectiveInfo,
    Grid,
    UpdateEntry,
    build_report,
    categories_at,
    facts_at,
    name_key,
    percent_vi,
    rank_agencies,
    ranking_method_vi,
    report_line,
    signed,
    update_rows,
)
from domain.report_periods import named_period, previous_period
from domain.timeliness import Category, Obligation, Timeliness
from tasks.reporting.common import update_values
from tests.report_scenario import APPROVER, EVENTS, EXPECTED, EXTENSION_REASON, GIVEN, NAMES, NOTICE

CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
POLICY = load_deadline_policy(PACKAGED_CONFIG_DIR)
POINTS = {"on_time": 100, "in_progress": 100, "late": 50, "overdue": 0}
WEIGHTS = {"lead": 2, "support": 1}
DUE = {"1": date(2022, 9, 30), "2": date(2022, 10, 31), "3": None}


def _obligations() -> tuple[Obligation, ...]:
    """Quarterly obligations of the ongoing directive, from the notice date."""
    found = report_obligations(Recurrence(every="quarter"), date(2022, 9, 9), date(2025, 1, 1), CALENDAR, POLICY)
    return tuple(Obligation(o.period, o.due) for o in found)


def scenario() -> list[tuple[AssignmentHistory, DirectiveInfo, tuple[Obligation, ...]]]:
    """The shared scenario as plain histories (what tasks/reporting.py reads from the database)."""
    out = []
    aid = 0
    for position, directive in enumerate(NOTICE["directives"], start=1):
        number = directive["number"]
        info = DirectiveInfo(position, 1, "99-TB/TU", number, (0, position), directive["text"], DUE[number] is None)
        for spec in directive["assignments"]:
            aid += 1
            code = spec["agency"]
            mine = [e for e in EVENTS if e.directive == number and e.agency == code]
            deadlines = [DeadlineEntry(GIVEN, "original", DUE[number])]
            deadlines += [
                DeadlineEntry(
                    at_local(e.day, time(e.hour)),
                    "extension",
                    e.extension_until,
                    EXTENSION_REASON,
                    NAMES[code],
                    APPROVER,
                )
                for e in mine
                if e.extension_until
            ]
            updates = tuple(
                UpdateEntry(at_local(e.day, time(e.hour)), e.status, e.percent, e.document_number, e.note)  # type: ignore[arg-type]
                for e in mine
                if e.status
            )
            history = AssignmentHistory(
                aid,
                position,
                code,
                spec["role"],
                GIVEN,
                updates[-1].status if updates else "assigned",
                deadlines[-1].due,
                deadlines=tuple(deadlines),
                updates=updates,
            )
            out.append((history, info, _obligations() if DUE[number] is None else ()))
    return out


def report_for(label: str):  # type: ignore[no-untyped-def]
    """Build the report model of a period from the plain scenario."""
    period = named_period(label, CALENDAR, POLICY)
    previous = previous_period(period, CALENDAR, POLICY)
    data = scenario()
    lines = [
        line
        for h, info, obs in data
        if (line := report_line(h, info, NAMES[h.agency_code], period.data_as_of, CALENDAR, obs))
    ]
    before = categories_at([(h, obs) for h, _, obs in data], previous.data_as_of, CALENDAR)
    return build_report(lines, (period.data_from, period.cutoff), POINTS, WEIGHTS, previous=(previous.label_vi, before))


def grid_tuple(grid: Grid) -> tuple[int, int, int, int]:
    """(on time, late, in progress, overdue)."""
    return grid.on_time, grid.late, grid.in_progress, grid.overdue


@pytest.mark.parametrize("label", sorted(EXPECTED))
def test_grids_rates_and_lists_match_the_hand_worked_answers(label: str) -> None:
    want = EXPECTED[label]
    model = report_for(label)
    assert {r.label.removeprefix("Mục "): grid_tuple(r.grid) for r in model.by_directive} == want["by_directive"]
    assert grid_tuple(model.total) == want["total"]
    assert model.total.on_time_rate == (Fraction(*want["rate"]) if want["rate"] else None)
    assert [(x.directive.number, x.agency_code, x.timeliness.days_overdue) for x in model.overdue] == want["overdue"]
    assert [(x.directive.number, x.agency_code, x.timeliness.days_overdue) for x in model.late] == want["late"]
    assert len(model.extensions) == want["extensions"]
    assert [(x.directive.number, x.agency_code, u.document_number) for x, u in model.updates] == want["updates"]
    assert model.obligations[0].counts == want["obligations"]
    ranking = [(r.rank, r.agency_code, float(r.score)) for r in model.ranking]
    if want["ranking"]:
        assert ranking == [(rank, code, float(score)) for rank, code, score in want["ranking"]]
    else:
        assert {rank for rank, _, _ in ranking} == {1}
    assert model.change is not None and model.change.previous.total == want["previous_total"]
    if "delta" in want:
        assert (
            tuple(
                model.change.delta(c) for c in (Category.on_time, Category.late, Category.in_progress, Category.overdue)
            )
            == want["delta"]
        )


def test_agency_grids_count_each_assignment_once_whatever_its_role() -> None:
    model = report_for("2022-Q4")
    by_agency = {r.key: grid_tuple(r.grid) for r in model.by_agency}
    assert by_agency == {
        "SO_TC": (1, 0, 0, 0),
        "SO_CT": (0, 1, 0, 0),
        "SO_KHCN": (1, 0, 0, 0),
        "SO_NNPTNT": (0, 0, 0, 2),
        "LMHTX": (0, 0, 0, 1),
        "HND_TINH": (0, 0, 1, 0),
    }
    # Listed in Vietnamese alphabetical order (letters first, then marks).
    assert [r.label for r in model.by_agency] == [
        "Hội Nông dân tỉnh",
        "Liên minh HTX tỉnh",
        "Sở Công Thương",
        "Sở KH&CN",
        "Sở NN&PTNT",
        "Sở Tài chính",
    ]


def test_change_lists_new_and_resolved_overdue_items() -> None:
    q4, q1 = report_for("2022-Q4"), report_for("2023-Q1")
    assert q4.change is not None and q1.change is not None
    assert sorted((x.directive.number, x.agency_code) for x in q4.change.newly_overdue) == [
        ("2", "LMHTX"),
        ("2", "SO_NNPTNT"),
        ("3", "SO_NNPTNT"),
    ]
    assert q4.change.resolved == []
    assert q1.change.newly_overdue == []
    assert [(x.directive.number, x.agency_code, x.category) for x in q1.change.resolved] == [
        ("2", "LMHTX", Category.late)
    ]


def test_the_extension_is_reported_with_its_old_and_new_due_date_and_on_time_after_it() -> None:
    model = report_for("2022-Q4")
    ((line, entry),) = model.extensions
    assert (line.agency_code, line.original_due, entry.due, entry.reason, entry.approved_by) == (
        "SO_KHCN",
        date(2022, 9, 30),
        date(2022, 10, 14),
        EXTENSION_REASON,
        APPROVER,
    )
    assert line.timeliness.label_vi == "Hoàn thành đúng hạn (sau gia hạn)"
    assert model.extensions_total == 1


@pytest.mark.parametrize(
    ("moment", "status", "current_due", "completed"),
    [
        (at_local(date(2022, 9, 9), time(15, 59)), None, None, None),  # not given yet
        (at_local(date(2022, 9, 28), time(12)), "assigned", date(2022, 9, 30), None),
        (
            at_local(date(2022, 9, 29), time(9)),
            "assigned",
            date(2022, 10, 14),
            None,
        ),  # the extension counts from its approval
        (at_local(date(2022, 10, 12), time(14)), "done", date(2022, 10, 14), at_local(date(2022, 10, 12), time(14))),
    ],
)
def test_facts_at_rebuild_an_assignment_as_it_stood(
    moment: datetime, status: str | None, current_due: date | None, completed: datetime | None
) -> None:
    khcn = next(h for h, _, _ in scenario() if h.agency_code == "SO_KHCN")
    facts = facts_at(khcn, moment)
    if status is None:
        assert facts is None
        return
    assert facts is not None
    assert (facts.status, facts.current_due, facts.original_due, facts.completed_at) == (
        status,
        current_due,
        date(2022, 9, 30),
        completed,
    )


def test_acknowledging_is_not_a_progress_report() -> None:
    lmhtx = next(h for h, _, _ in scenario() if h.agency_code == "LMHTX")
    facts = facts_at(lmhtx, at_local(date(2022, 9, 13), time(8)))
    assert facts is not None and facts.status == "acknowledged" and facts.acknowledged_at is not None
    assert facts.updates == ()


def test_a_withdrawn_assignment_is_not_counted_after_its_withdrawal() -> None:
    history = AssignmentHistory(
        1, 1, "SO_TC", "lead", GIVEN, "withdrawn", date(2022, 9, 30), withdrawn_at=at_local(date(2022, 9, 20), time(8))
    )
    assert facts_at(history, at_local(date(2022, 9, 19), time(8))) is not None
    assert facts_at(history, at_local(date(2022, 9, 21), time(8))) is None


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (Fraction(1, 3), "33,3%"),
        (Fraction(2, 5), "40%"),
        (Fraction(1), "100%"),
        (Fraction(0), "0%"),
        (Fraction(1, 8), "12,5%"),
        (None, "—"),
    ],
)
def test_rates_are_written_the_vietnamese_way(rate: Fraction | None, text: str) -> None:
    assert percent_vi(rate) == text


@pytest.mark.parametrize(("n", "text"), [(3, "+3"), (-2, "−2"), (0, "0")])
def test_changes_carry_their_sign(n: int, text: str) -> None:
    assert signed(n) == text


def test_ranking_ties_share_a_rank_and_the_next_rank_follows_without_a_gap() -> None:
    model = report_for("2023-Q1")
    assert [r.rank for r in rank_agencies(model.lines, POINTS, WEIGHTS)] == [1, 1, 2, 3, 3, 4]


def test_the_monitors_and_the_author_are_not_ranked_and_the_method_says_so() -> None:
    period = named_period("2023-Q1", CALENDAR, POLICY)
    lines = [
        line
        for h, info, obs in scenario()
        if (line := report_line(h, info, NAMES[h.agency_code], period.data_as_of, CALENDAR, obs))
    ]
    # Hội Nông dân tỉnh stands in for the report's author, Sở Tài chính for a monitor of the notice.
    unranked = {"HND_TINH": "Hội Nông dân tỉnh", "SO_TC": "Sở Tài chính", "BDV_TU": "Ban Dân vận Tỉnh ủy"}
    model = build_report(lines, (period.data_from, period.cutoff), POINTS, WEIGHTS, unranked=unranked)
    assert [(r.rank, r.agency_code) for r in model.ranking] == [
        (1, "SO_KHCN"),
        (2, "LMHTX"),
        (2, "SO_CT"),
        (3, "SO_NNPTNT"),
    ]
    assert {r.key for r in model.by_agency} >= {"HND_TINH", "SO_TC"}  # still counted in the grids
    # Only the bodies left out that have work in the report are named.
    assert "Không xếp hạng cơ quan theo dõi, đôn đốc và cơ quan ban hành báo cáo (Hội Nông dân tỉnh, Sở Tài chính)" in (
        model.ranking_method_vi
    )
    assert "Xếp hạng liền kề" in model.ranking_method_vi


def test_the_ranking_can_be_switched_off() -> None:
    period = named_period("2023-Q1", CALENDAR, POLICY)
    lines = [
        line
        for h, info, obs in scenario()
        if (line := report_line(h, info, NAMES[h.agency_code], period.data_as_of, CALENDAR, obs))
    ]
    model = build_report(lines, (period.data_from, period.cutoff), POINTS, WEIGHTS, rank=False)
    assert model.ranking == [] and model.ranking_method_vi == ""


def test_roles_weigh_in_the_score() -> None:
    # Sở NN&PTNT leads an on-time item and supports an overdue one: (2 × 100 + 1 × 0) / 3 = 66.7.
    info = DirectiveInfo(1, 1, "1-TB/TU", "1", (0, 1), "", False)
    lead = Timeliness(Category.on_time, 0, date(2022, 9, 30))
    late = Timeliness(Category.overdue, 5, date(2022, 9, 30))
    from domain.report_model import ReportLine

    lines = [
        ReportLine(1, info, "SO_NNPTNT", "Sở NN&PTNT", "lead", "done", 100, None, None, lead),
        ReportLine(2, info, "SO_NNPTNT", "Sở NN&PTNT", "support", "assigned", None, None, None, late),
    ]
    (row,) = rank_agencies(lines, POINTS, WEIGHTS)
    assert row.score == Fraction(200, 3) and row.days_overdue == 5


def test_the_ranking_method_is_stated_with_the_configured_numbers() -> None:
    text = ranking_method_vi({"on_time": 100, "in_progress": 90, "late": 40, "overdue": 0}, {"lead": 3, "support": 1})
    assert "đang thực hiện trong hạn 90 điểm" in text and "hoàn thành quá hạn 40 điểm" in text
    assert "việc chủ trì tính hệ số 3, việc phối hợp hệ số 1" in text
    assert "đồng hạng" in text


def test_vietnamese_names_sort_by_letters_before_marks() -> None:
    names = ["Ủy ban MTTQ tỉnh", "Sở Tài chính", "Đài PT-TH tỉnh", "Báo Bắc Giang", "Sở Công Thương"]
    assert sorted(names, key=name_key) == [
        "Báo Bắc Giang",
        "Đài PT-TH tỉnh",
        "Sở Công Thương",
        "Sở Tài chính",
        "Ủy ban MTTQ tỉnh",
    ]


def _district_lines(sent: dict[str, tuple[int, str, int | None, str, str]]) -> list:  # type: ignore[type-arg]
    """One assignment of directive 2.4 per district, each with one report on 03/10/2022."""
    info = DirectiveInfo(1, 1, "99-TB/TU", "2.4", (0, 1), "Triển khai chương trình OCOP.", False)
    lines = []
    for aid, (name, (hour, status, percent, number, note)) in enumerate(sent.items(), start=1):
        update = UpdateEntry(at_local(date(2022, 10, 3), time(hour)), status, percent, number, note)
        deadlines = (DeadlineEntry(GIVEN, "original", date(2022, 10, 31)),)
        history = AssignmentHistory(
            aid, 1, f"D{aid}", "lead", GIVEN, status, date(2022, 10, 31), deadlines=deadlines, updates=(update,)
        )
        line = report_line(history, info, name, at_local(date(2022, 10, 5), time(17)), CALENDAR, ())
        assert line is not None
        lines.append(line)
    return lines


def test_identical_reports_of_one_directive_on_one_day_collapse_into_one_row_with_a_count() -> None:
    """Three district committees send the same report on the same day: one row names the three."""
    same = ("done", None, "45/BC-UBND", "Đã hoàn thành rà soát sản phẩm.")
    lines = _district_lines(
        {
            "UBND huyện Lục Nam": (9, *same),
            "UBND huyện Lạng Giang": (10, *same),
            "UBND huyện Yên Thế": (15, *same),
            "UBND huyện Tân Yên": (11, "in_progress", 60, "46/BC-UBND", "Đang rà soát."),
        }
    )
    model = build_report(lines, (date(2022, 10, 1), date(2022, 10, 5)), POINTS, WEIGHTS)
    assert len(model.updates) == 4  # the model keeps one entry per assignment
    rows = update_rows(model.updates)
    assert [(row.update.note, row.agency_names) for row in rows] == [
        ("Đã hoàn thành rà soát sản phẩm.", ("UBND huyện Lạng Giang", "UBND huyện Lục Nam", "UBND huyện Yên Thế")),
        ("Đang rà soát.", ("UBND huyện Tân Yên",)),
    ]
    assert update_values(rows[0], several=False)[2:5] == [
        "3 cơ quan: UBND huyện Lạng Giang, UBND huyện Lục Nam, UBND huyện Yên Thế",
        "Hoàn thành",
        "45/BC-UBND",
    ]
    assert update_values(rows[1], several=False)[2:5] == ["UBND huyện Tân Yên", "Đang thực hiện 60%", "46/BC-UBND"]


def test_the_same_report_under_each_agencys_own_number_is_one_row_that_keeps_every_number() -> None:
    """Each district reports the period in the same words, under its own document number (the demo's case)."""
    words = ("in_progress", 25, "Báo cáo kết quả thực hiện kỳ 2022-Q3.")
    lines = _district_lines(
        {
            "UBND huyện Hiệp Hòa": (9, words[0], words[1], "1004/BC", words[2]),
            "UBND huyện Lạng Giang": (9, words[0], words[1], "1005/BC", words[2]),
            "Sở NN&PTNT": (10, words[0], words[1], "", words[2]),
        }
    )
    rows = update_rows(build_report(lines, (date(2022, 10, 1), date(2022, 10, 5)), POINTS, WEIGHTS).updates)
    assert len(rows) == 1
    assert update_values(rows[0], several=False)[2:5] == [
        "3 cơ quan: Sở NN&PTNT, UBND huyện Hiệp Hòa (1004/BC), UBND huyện Lạng Giang (1005/BC)",
        "Đang thực hiện 25%",
        "theo từng cơ quan",
    ]


def test_reports_that_differ_only_in_day_stay_separate_rows() -> None:
    """The same words sent on two days are two reports, not one."""
    info = DirectiveInfo(1, 1, "99-TB/TU", "2.4", (0, 1), "Triển khai chương trình OCOP.", False)
    lines = []
    for aid, day in enumerate((date(2022, 10, 3), date(2022, 10, 4)), start=1):
        update = UpdateEntry(at_local(day, time(9)), "in_progress", 50, "45/BC-UBND", "Đang rà soát.")
        history = AssignmentHistory(
            aid, 1, f"D{aid}", "lead", GIVEN, "in_progress", date(2022, 10, 31), updates=(update,)
        )
        line = report_line(history, info, f"Cơ quan {aid}", at_local(date(2022, 10, 5), time(17)), CALENDAR, ())
        assert line is not None
        lines.append(line)
    rows = update_rows(build_report(lines, (date(2022, 10, 1), date(2022, 10, 5)), POINTS, WEIGHTS).updates)
    assert [row.agency_names for row in rows] == [("Cơ quan 2",), ("Cơ quan 1",)]
