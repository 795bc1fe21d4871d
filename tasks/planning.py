"""Classify a directive's assignments and plan what is due now: the pure step of a follow-up, as a task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from domain.planner import PlannedMessage, plan
from domain.situation import DirectiveSituation, JudgedAssignment, judge_situation, level_reached
from domain.timeliness import Category, Timeliness, classify
from domain.workdays import local_date
from tasks.directive_state import DirectiveState
from tasks.rules import FollowUpRules, load_follow_up_rules


@dataclass
class FollowUpPlan:
    """The planner's answer for one directive, with each assignment's timeliness."""

    messages: list[PlannedMessage]
    next_action_at: datetime | None
    timeliness: dict[int, Timeliness | None]
    situation: DirectiveSituation
    levels: dict[int, int]  # escalation rung reached, for overdue assignments


def plan_directive(state: DirectiveState, as_of: datetime, *, rules: FollowUpRules) -> FollowUpPlan:
    """Classify every assignment and plan what is due now (pure, given the loaded state)."""
    result = plan(state.assignments, state.facts, rules.escalation, rules.calendar, state.sent_keys, as_of)
    judged = {a.assignment_id: classify(a, rules.calendar, as_of) for a in state.assignments}
    ladder = rules.escalation.ladder(state.facts.priority)
    levels = {
        aid: level
        for aid, t in judged.items()
        if t is not None and t.category is Category.overdue and (level := level_reached(ladder, t.days_overdue))
    }
    situation = judge_situation(
        [
            JudgedAssignment(state.names.get(a.agency_code, a.agency_code), judged[a.assignment_id])
            for a in state.assignments
        ],
        ladder,
        rules.calendar,
        local_date(as_of),
    )
    return FollowUpPlan(result.due_now, result.next_action_at, judged, situation, levels)


# No retries: planning is pure; an error here is a bug, not a passing fault.
@task(name="Phân loại và lập kế hoạch", cache_policy=NONE)
def plan_follow_up(state: DirectiveState, as_of: datetime) -> FollowUpPlan:
    """Classify every assignment and plan the reminders and escalations due now."""
    return plan_directive(state, as_of, rules=load_follow_up_rules())
