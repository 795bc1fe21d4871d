"""The policy a follow-up applies, loaded once from config/ and the settings at the edge of a task."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from config.agencies import load_agencies
from config.escalation import load_escalation_policy
from config.policy import load_calendar, load_deadline_policy
from config.settings import Settings, get_settings
from domain.escalation import EscalationPolicy
from domain.policy import DeadlinePolicy
from domain.workdays import WorkCalendar
from tasks.report_links import report_link_or_none

# The signed report link for (assignment id, agency code) issued at a moment, or None when the intake is not
# configured. A replay issues links at its simulated time, so the intake's clock checks hold for them too.
LinkMaker = Callable[[int, str, datetime], str | None]


@dataclass(frozen=True)
class FollowUpRules:
    """Calendar, deadline and escalation policy, enabled channels and the link maker of one follow-up."""

    calendar: WorkCalendar
    deadline_policy: DeadlinePolicy
    escalation: EscalationPolicy
    enabled_channels: frozenset[str]
    report_link: LinkMaker
    # Office telephones by agency code (config/agencies.yaml `phone:`), quoted as the number to call.
    phones: Mapping[str, str] = field(default_factory=dict)


def _report_link(assignment_id: int, agency_code: str, issued_at: datetime) -> str | None:
    """The intake's signed link for an assignment, issued at issued_at, or None."""
    return report_link_or_none(assignment_id, agency_code, now=issued_at)


def load_follow_up_rules(settings: Settings | None = None) -> FollowUpRules:
    """Load the follow-up policy from the configured config dir (cached per directory by the loaders)."""
    settings = settings or get_settings()
    config_dir = settings.config_dir
    return FollowUpRules(
        calendar=load_calendar(config_dir),
        deadline_policy=load_deadline_policy(config_dir),
        escalation=load_escalation_policy(config_dir),
        enabled_channels=settings.enabled_channels,
        report_link=_report_link,
        phones={a.code: a.phone for a in load_agencies(config_dir).agencies if a.phone},
    )
