"""A validated notice ready to write (nothing resolved from files here), and its due dates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from domain.deadlines import compute_due, rule_from_json
from domain.policy import DeadlinePolicy
from domain.workdays import WorkCalendar


@dataclass
class AssignmentDraft:
    """One resolved assignment, ready to write."""

    agency_code: str
    role: str
    task: str = ""  # the agency's own task: its sentences of the directive (empty for monitors)


@dataclass
class DirectiveDraft:
    """One validated directive; due_date and due_explanation are filled by with_due_dates()."""

    number: str
    position: int
    text: str
    deadline_phrase: str | None
    deadline_rule: dict[str, Any]
    recurrence: dict[str, Any] | None
    priority: str
    assignments: list[AssignmentDraft]
    due_date: date | None = None
    due_explanation: str = ""


@dataclass
class NoticeDraft:
    """A fully validated notice: everything resolved, nothing written yet."""

    path: Path
    number: str
    number_is_placeholder: bool
    issued_on: date
    issuer_code: str
    title: str
    source_text: str | None
    source_file: str | None
    monitors: list[AssignmentDraft]
    directives: list[DirectiveDraft]
    spec_yaml: str
    spec_hash: str
    agency_codes: set[str] = field(default_factory=set)


def with_due_dates(draft: NoticeDraft, calendar: WorkCalendar, policy: DeadlinePolicy) -> NoticeDraft:
    """Return draft with every directive's due date computed from its rule and the notice date."""
    directives = []
    for directive in draft.directives:
        due = compute_due(rule_from_json(directive.deadline_rule), draft.issued_on, calendar, policy)
        directives.append(replace(directive, due_date=due.due, due_explanation=due.explanation))
    return replace(draft, directives=directives)


__all__ = ["AssignmentDraft", "DirectiveDraft", "NoticeDraft", "with_due_dates"]
