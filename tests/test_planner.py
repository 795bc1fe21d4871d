"""Planner and timeliness on hand-worked timelines.

The reference case: an assignment given on Fri 09/09/2022, due Fri 23/09/2022 (10 working days,
2/9 already past). Counting working days by hand on a paper calendar of September–November 2022
(no holidays in that stretch):
  reminders  −5 → Fri 16/09, −2 → Wed 21/09, 0 → Fri 23/09;
  overdue    +1 → Mon 26/09, +3 → Wed 28/09, +7 → Tue 04/10, +15 → Fri 14/10;
  top repeat every 5 → Fri 21/10, Fri 28/10, Fri 04/11 (cap 3).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from config.escalation import load_escalation_policy
from config.policy import load_calendar
from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import DirectiveFacts, at_local, dry_run, plan
from domain.timeliness import AssignmentFacts, Category, Obligation, classify

CAL = load_calendar(PACKAGED_CONFIG_DIR)
POLICY = load_escalation_policy(PACKAGED_CONFIG_DIR)
DIRECTIVE = DirectiveFacts(1, "TẠM-20220909/TB-TU", "2.3", "normal", "TTTU", ("BDV_TU", "VP_TU"))
GIVEN = at_local(date(2022, 9, 9), POLICY.send_at)
LEAD = AssignmentFacts(
    assignment_id=7,
    agency_code="SO_TC",
    role="lead",
    status="assigned",
    created_at=GIVEN,
    original_due=date(2022, 9, 23),
    current_due=date(2022, 9, 23),
    supervisor_code="UBND_TINH",
)


def morning(day: date) -> datetime:
    return at_local(day, POLICY.send_at)


def schedule(facts: AssignmentFacts, as_of: datetime = GIVEN) -> list[tuple[str, date, str, str]]:
    """The dry-run timeline as (kind, local day, recipient role, recipient agency)."""
    from domain.workdays import local_date

    return [
        (m.kind, local_date(m.send_at), m.recipient, m.recipient_agency)
        for m in dry_run([facts], DIRECTIVE, POLICY, CAL, as_of)
        if m.kind != "acknowledge"
    ]


def test_reminders_and_the_whole_ladder_on_hand_worked_dates() -> None:
    d = date
    assert schedule(LEAD) == [
        ("assigned", d(2022, 9, 9), "assignee", "SO_TC"),
        ("reminder", d(2022, 9, 16), "assignee", "SO_TC"),
        ("reminder", d(2022, 9, 21), "assignee", "SO_TC"),
        ("due", d(2022, 9, 23), "assignee", "SO_TC"),
        ("overdue", d(2022, 9, 26), "assignee", "SO_TC"),
        ("overdue", d(2022, 9, 26), "assignee_head", "SO_TC"),
        ("escalation", d(2022, 9, 28), "supervisor", "UBND_TINH"),
        ("escalation", d(2022, 10, 4), "monitor", "BDV_TU"),
        ("escalation", d(2022, 10, 4), "monitor", "VP_TU"),
        ("escalation", d(2022, 10, 14), "issuer", "TTTU"),
        ("escalation", d(2022, 10, 21), "issuer", "TTTU"),
        ("escalation", d(2022, 10, 28), "issuer", "TTTU"),
        ("escalation", d(2022, 11, 4), "issuer", "TTTU"),
    ]


def test_the_top_rung_repeats_only_up_to_its_cap() -> None:
    issuer = [m for m in dry_run([LEAD], DIRECTIVE, POLICY, CAL, GIVEN) if m.recipient == "issuer"]
    assert len(issuer) == 1 + POLICY.ladder("normal").repeat_top.max == 4
    assert [m.days_overdue for m in issuer] == [15, 20, 25, 30]


def test_an_unacknowledged_assignment_gets_one_nudge_two_working_days_later() -> None:
    nudges = [m for m in dry_run([LEAD], DIRECTIVE, POLICY, CAL, GIVEN) if m.kind == "acknowledge"]
    assert [m.send_at for m in nudges] == [morning(date(2022, 9, 13))]
    acknowledged = replace(LEAD, status="acknowledged", acknowledged_at=morning(date(2022, 9, 12)))
    assert not [m for m in dry_run([acknowledged], DIRECTIVE, POLICY, CAL, GIVEN) if m.kind == "acknowledge"]
    # Acknowledging is not completing: the deadline reminders stay.
    assert any(m.kind == "due" for m in dry_run([acknowledged], DIRECTIVE, POLICY, CAL, GIVEN))


def test_a_progress_update_pushes_the_next_reminder_back() -> None:
    # Update on Tue 20/09: quiet for 3 working days → until Fri 23/09, which is the due day itself,
    # so the −2 reminder (Wed 21/09) is dropped and the due-day reminder still goes out.
    updated = replace(LEAD, status="in_progress", updates=(morning(date(2022, 9, 20)),))
    kinds = [(k, day) for k, day, _, _ in schedule(updated, morning(date(2022, 9, 20)))]
    assert ("reminder", date(2022, 9, 21)) not in kinds
    assert ("due", date(2022, 9, 23)) in kinds
    # Update on Tue 13/09: quiet until Fri 16/09, the −5 day itself, so −5 stays on 16/09.
    early = replace(LEAD, status="in_progress", updates=(morning(date(2022, 9, 13)),))
    assert ("reminder", date(2022, 9, 16)) in [(k, d) for k, d, _, _ in schedule(early)]
    # Update on Wed 14/09: quiet until Mon 19/09, so the −5 reminder moves from 16/09 to 19/09.
    moved = replace(LEAD, status="in_progress", updates=(morning(date(2022, 9, 14)),))
    days = [(k, d) for k, d, _, _ in schedule(moved)]
    assert ("reminder", date(2022, 9, 16)) not in days and ("reminder", date(2022, 9, 19)) in days


@pytest.mark.parametrize("status", ["done", "withdrawn"])
def test_completion_or_withdrawal_cancels_everything_pending(status: str) -> None:
    closed = replace(LEAD, status=status, completed_at=morning(date(2022, 9, 20)) if status == "done" else None)
    result = plan([closed], DIRECTIVE, POLICY, CAL, set(), morning(date(2022, 10, 20)))
    assert result.due_now == [] and result.next_action_at is None


def test_an_extension_replans_from_the_new_date() -> None:
    extended = replace(LEAD, current_due=date(2022, 10, 7))
    days = schedule(extended)
    assert ("due", date(2022, 10, 7), "assignee", "SO_TC") in days
    assert ("due", date(2022, 9, 23), "assignee", "SO_TC") not in days
    # +1 working day after Fri 07/10 is Mon 10/10.
    assert ("overdue", date(2022, 10, 10), "assignee", "SO_TC") in days


def test_supporting_agencies_are_told_but_the_ladder_climbs_only_for_the_lead() -> None:
    support = replace(LEAD, assignment_id=8, agency_code="SO_KHCN", role="support", supervisor_code="UBND_TINH")
    recipients = {(m.kind, m.recipient) for m in dry_run([support], DIRECTIVE, POLICY, CAL, GIVEN)}
    assert ("assigned", "assignee") in recipients and ("overdue", "assignee") in recipients
    assert not any(kind == "escalation" for kind, _ in recipients)


def test_plan_is_idempotent_and_reports_the_next_action() -> None:
    as_of = morning(date(2022, 9, 16))
    first = plan([LEAD], DIRECTIVE, POLICY, CAL, set(), as_of)
    assert {m.kind for m in first.due_now} == {"assigned", "acknowledge", "reminder"}
    assert first.next_action_at == morning(date(2022, 9, 21))
    sent = {m.key for m in first.due_now}
    assert plan([LEAD], DIRECTIVE, POLICY, CAL, sent, as_of).due_now == []


def test_after_an_outage_only_the_latest_rung_per_recipient_goes_out_and_stale_ones_stay_skipped() -> None:
    # First run ever on Fri 21/10 (r1 of the top rung): the issuer gets one message, not two.
    as_of = morning(date(2022, 10, 21))
    first = plan([LEAD], DIRECTIVE, POLICY, CAL, set(), as_of)
    issuer = [m for m in first.due_now if m.recipient == "issuer"]
    assert len(issuer) == 1 and issuer[0].days_overdue == 20
    again = plan([LEAD], DIRECTIVE, POLICY, CAL, {m.key for m in first.due_now}, as_of)
    assert again.due_now == []


def test_keys_are_deterministic() -> None:
    as_of = morning(date(2022, 10, 4))
    a = plan([LEAD], DIRECTIVE, POLICY, CAL, set(), as_of)
    b = plan([LEAD], DIRECTIVE, POLICY, CAL, set(), as_of)
    assert [m.key for m in a.due_now] == [m.key for m in b.due_now]
    assert len({m.key for m in a.due_now}) == len(a.due_now)


URGENT = replace(DIRECTIVE, priority="urgent")


def test_urgent_directives_follow_their_own_ladder() -> None:
    msgs = dry_run([LEAD], URGENT, POLICY, CAL, GIVEN)
    reminders = [m.offset for m in msgs if m.kind in ("reminder", "due")]
    assert reminders == [2, 1, 0]
    # +2 working days after Fri 23/09 is Tue 27/09: supervisor and monitors together.
    from domain.workdays import local_date

    level2 = {(m.recipient, local_date(m.send_at)) for m in msgs if m.level == 2}
    assert level2 == {("supervisor", date(2022, 9, 27)), ("monitor", date(2022, 9, 27))}


# --- timeliness -------------------------------------------------------------------------------


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)  # 12:00 in Vietnam


@pytest.mark.parametrize(
    ("facts", "as_of", "category", "days", "label"),
    [
        (LEAD, date(2022, 9, 23), Category.in_progress, 0, "Đang thực hiện trong hạn"),
        (LEAD, date(2022, 9, 26), Category.overdue, 1, "Quá hạn 1 ngày làm việc"),
        # Overdue counts working days only: Sat 24 and Sun 25/09 do not count.
        (LEAD, date(2022, 9, 25), Category.overdue, 0, "Quá hạn"),
        (LEAD, date(2022, 10, 4), Category.overdue, 7, "Quá hạn 7 ngày làm việc"),
        (
            replace(LEAD, status="done", completed_at=at(date(2022, 9, 23))),
            date(2022, 12, 1),
            Category.on_time,
            0,
            "Hoàn thành đúng hạn",
        ),
        (
            replace(LEAD, status="done", completed_at=at(date(2022, 9, 28))),
            date(2022, 12, 1),
            Category.late,
            3,
            "Hoàn thành quá hạn 3 ngày làm việc",
        ),
        (
            replace(LEAD, status="done", current_due=date(2022, 10, 7), completed_at=at(date(2022, 10, 5))),
            date(2022, 12, 1),
            Category.on_time,
            0,
            "Hoàn thành đúng hạn (sau gia hạn)",
        ),
        (
            replace(LEAD, status="done", current_due=date(2022, 10, 7), completed_at=at(date(2022, 9, 20))),
            date(2022, 12, 1),
            Category.on_time,
            0,
            "Hoàn thành đúng hạn",
        ),
    ],
    ids=[
        "due-day",
        "one-day",
        "weekend-not-counted",
        "seven-days",
        "done-on-time",
        "done-late",
        "on-time-after-extension",
        "on-time-before-original",
    ],
)
def test_the_four_categories(facts: AssignmentFacts, as_of: date, category: Category, days: int, label: str) -> None:
    result = classify(facts, CAL, at(as_of))
    assert result is not None
    assert (result.category, result.days_overdue, result.label_vi) == (category, days, label)


def test_withdrawn_assignments_are_not_judged() -> None:
    assert classify(replace(LEAD, status="withdrawn"), CAL, at(date(2022, 12, 1))) is None


def test_ongoing_assignments_are_judged_by_their_report_obligations() -> None:
    ongoing = replace(
        LEAD,
        original_due=None,
        current_due=None,
        obligations=(Obligation("2022-Q3", date(2022, 9, 20)), Obligation("2022-Q4", date(2022, 12, 20))),
    )
    assert classify(ongoing, CAL, at(date(2022, 9, 15))).category == Category.in_progress
    missed = classify(ongoing, CAL, at(date(2022, 9, 22)))
    assert (missed.category, missed.days_overdue, missed.period) == (Category.overdue, 2, "2022-Q3")
    reported = replace(ongoing, updates=(at(date(2022, 9, 19)),))
    fine = classify(reported, CAL, at(date(2022, 10, 3)))
    assert (fine.category, fine.period) == (Category.in_progress, "2022-Q4")


Q3, Q4, Q1 = (
    Obligation("2022-Q3", date(2022, 9, 20)),
    Obligation("2022-Q4", date(2022, 12, 20)),
    Obligation("2023-Q1", date(2023, 3, 20)),
)
ONGOING = replace(LEAD, original_due=None, current_due=None, obligations=(Q3, Q4, Q1))


def test_an_ongoing_task_finished_after_a_missed_report_is_late_by_working_days() -> None:
    # Q3 due Tue 20/09; done Wed 05/10 → 11 working days late (21–23, 26–30/09, 3–5/10), no holiday in between.
    late = replace(ONGOING, status="done", updates=(at(date(2022, 10, 5)),), completed_at=at(date(2022, 10, 5)))
    result = classify(late, CAL, at(date(2023, 3, 31)))
    assert (result.category, result.days_overdue, result.period) == (Category.late, 11, "2022-Q3")


def test_a_report_before_the_due_date_answers_that_period_and_the_next_one_is_chased() -> None:
    early = replace(ONGOING, updates=(at(date(2022, 9, 16)),))
    result = classify(early, CAL, at(date(2022, 9, 21)))
    assert (result.category, result.period) == (Category.in_progress, "2022-Q4")
    # No "due today" reminder for Q3 once it is answered: the planner chases Q4.
    upcoming = {
        m.period
        for m in dry_run([early], DIRECTIVE, POLICY, CAL, at(date(2022, 9, 18)))
        if m.kind in ("reminder", "due")
    }
    assert upcoming == {"2022-Q4"}


def test_one_late_report_does_not_also_answer_the_next_period() -> None:
    # Q3 answered late on 05/10; nothing since → Q4 (due 20/12) is overdue on 22/12.
    caught_up = replace(ONGOING, updates=(at(date(2022, 10, 5)),))
    assert classify(caught_up, CAL, at(date(2022, 12, 1))).category == Category.in_progress
    result = classify(caught_up, CAL, at(date(2022, 12, 22)))
    assert (result.category, result.period, result.days_overdue) == (Category.overdue, "2022-Q4", 2)


def test_an_agency_that_is_both_supervisor_and_monitor_hears_once_per_rung() -> None:
    # Hội Nông dân tỉnh answers to Ban Dân vận Tỉnh ủy, which also monitors the notice (2.7).
    farmers = replace(LEAD, agency_code="HND_TINH", supervisor_code="BDV_TU")
    level2 = [(m.recipient, m.recipient_agency) for m in dry_run([farmers], URGENT, POLICY, CAL, GIVEN) if m.level == 2]
    assert level2 == [("supervisor", "BDV_TU"), ("monitor", "VP_TU")]
