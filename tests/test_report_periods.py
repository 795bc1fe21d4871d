"""Report periods: labels, data windows, cut-offs and send dates (Decree 09/2019, config/deadlines.yaml)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from config.policy import load_calendar, load_deadline_policy
from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from domain.report_periods import (
    PeriodError,
    date_line_vi,
    latest_closed,
    named_period,
    parse_period,
    period_label_vi,
    resolve_periods,
    send_day,
    trend_periods,
)
from domain.workdays import local_date

CALENDAR = load_calendar(PACKAGED_CONFIG_DIR)
POLICY = load_deadline_policy(PACKAGED_CONFIG_DIR)


def morning(day: date) -> datetime:
    return at_local(day, time(8, 0))


# Cut-off day 14 and due day 20 of the period's last month (deadlines.yaml); the data window runs from the
# 15th of the month before the period. 20/09/2022 and 20/12/2022 are Tuesdays; 20/03/2023 a Monday;
# 20/08/2023 is a Sunday, so the report is due Monday 21/08/2023.
@pytest.mark.parametrize(
    ("label", "every", "label_vi", "data_from", "cutoff", "due"),
    [
        ("2022-Q4", "quarter", "quý IV/2022", date(2022, 9, 15), date(2022, 12, 14), date(2022, 12, 20)),
        ("2022-q3", "quarter", "quý III/2022", date(2022, 6, 15), date(2022, 9, 14), date(2022, 9, 20)),
        ("2023-Q1", "quarter", "quý I/2023", date(2022, 12, 15), date(2023, 3, 14), date(2023, 3, 20)),
        ("2022-10", "month", "tháng 10/2022", date(2022, 9, 15), date(2022, 10, 14), date(2022, 10, 20)),
        ("2023-8", "month", "tháng 8/2023", date(2023, 7, 15), date(2023, 8, 14), date(2023, 8, 21)),
        ("2022-H2", "half_year", "6 tháng cuối năm 2022", date(2022, 6, 15), date(2022, 12, 14), date(2022, 12, 20)),
        ("2022", "year", "năm 2022", date(2021, 12, 15), date(2022, 12, 14), date(2022, 12, 20)),
    ],
)
def test_a_named_period_has_its_window_cutoff_and_due_date(
    label: str, every: str, label_vi: str, data_from: date, cutoff: date, due: date
) -> None:
    period = named_period(label, CALENDAR, POLICY)
    assert (period.every, period.label_vi, period.data_from, period.cutoff, period.due) == (
        every,
        label_vi,
        data_from,
        cutoff,
        due,
    )
    assert local_date(period.data_as_of) == cutoff  # the last instant of the cut-off day, Vietnam time
    assert period_label_vi(period.label) == label_vi


@pytest.mark.parametrize("text", ["2022-Q5", "22-Q4", "2022-13", "Q4-2022", "quý 4"])
def test_bad_period_labels_are_refused_in_vietnamese(text: str) -> None:
    with pytest.raises(PeriodError, match="kỳ báo cáo không hợp lệ"):
        parse_period(text)


@pytest.mark.parametrize(
    ("every", "day", "label"),
    [
        ("quarter", date(2023, 1, 5), "2022-Q4"),  # Q4's data was cut off on 14/12/2022
        ("quarter", date(2022, 12, 15), "2022-Q4"),  # the day after the cut-off
        ("quarter", date(2022, 12, 14), "2022-Q3"),  # on the cut-off day itself the quarter is still open
        ("month", date(2023, 1, 5), "2022-12"),
        ("month", date(2023, 1, 15), "2023-01"),
        ("year", date(2023, 1, 5), "2022"),
    ],
)
def test_the_latest_closed_period_is_the_last_one_whose_cutoff_has_passed(every: str, day: date, label: str) -> None:
    assert latest_closed(every, morning(day), CALENDAR, POLICY).label == label


def test_without_a_period_every_configured_frequency_is_resolved() -> None:
    found = resolve_periods(None, morning(date(2023, 1, 5)), ["month", "quarter"], CALENDAR, POLICY)
    assert [(p.label, p.cutoff) for p in found] == [("2022-12", date(2022, 12, 14)), ("2022-Q4", date(2022, 12, 14))]


def test_a_period_still_open_is_refused() -> None:
    with pytest.raises(PeriodError, match="chưa hết thời gian chốt số liệu"):
        resolve_periods("2022-Q4", morning(date(2022, 12, 14)), ["quarter"], CALENDAR, POLICY)


@pytest.mark.parametrize(
    ("made", "sent"),
    [
        (date(2022, 12, 15), date(2022, 12, 20)),
        (date(2022, 12, 20), date(2022, 12, 20)),
        (date(2023, 1, 5), date(2023, 1, 5)),
    ],
)
def test_the_report_is_dated_on_its_due_date_or_when_made_later(made: date, sent: date) -> None:
    assert send_day(named_period("2022-Q4", CALENDAR, POLICY), morning(made)) == sent


def test_the_trend_runs_over_the_last_periods_oldest_first() -> None:
    labels = [p.label for p in trend_periods(named_period("2023-Q1", CALENDAR, POLICY), 4, CALENDAR, POLICY)]
    assert labels == ["2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1"]


@pytest.mark.parametrize(
    ("day", "line"),
    [
        (date(2022, 12, 20), "Bắc Giang, ngày 20 tháng 12 năm 2022"),
        (date(2023, 1, 5), "Bắc Giang, ngày 05 tháng 01 năm 2023"),
        (date(2023, 3, 9), "Bắc Giang, ngày 09 tháng 3 năm 2023"),
    ],
)
def test_the_place_and_date_line_follows_the_document_format(day: date, line: str) -> None:
    assert date_line_vi("Bắc Giang", day) == line
