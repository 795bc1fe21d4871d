"""Prefect events of a follow-up: an assignment crossing into overdue, and each escalation rung queued."""

from __future__ import annotations

import logging
from typing import Any

from prefect.events import emit_event

from domain.planner import PlannedMessage
from tasks.directive_state import DirectiveState
from tasks.planning import FollowUpPlan

OVERDUE_EVENT = "dondoc.assignment.overdue"
ESCALATION_EVENT = "dondoc.escalation.sent"
logger = logging.getLogger(__name__)


def _related(state: DirectiveState, agency_codes: list[str]) -> list[dict[str, str]]:
    """The directive and the agencies concerned, so the event shows on their pages in the Event Feed."""
    return [
        {
            "prefect.resource.id": f"dondoc.directive.{state.directive_id}",
            "prefect.resource.role": "directive",
            "prefect.resource.name": f"{state.notice_number} · {state.directive_number}",
        },
        *(
            {
                "prefect.resource.id": f"dondoc.agency.{code}",
                "prefect.resource.role": "agency",
                "prefect.resource.name": state.names.get(code, code),
            }
            for code in dict.fromkeys(agency_codes)
        ),
    ]


def _event_for(state: DirectiveState, planned: FollowUpPlan, message: PlannedMessage) -> dict[str, Any] | None:
    """The event a newly queued message stands for, or None (reminders and notices are not events)."""
    if message.kind not in ("overdue", "escalation"):
        return None
    name = state.names.get(message.subject_agency, message.subject_agency)
    payload = {
        "assignment_id": message.assignment_id,
        "directive_id": state.directive_id,
        "days_overdue": message.days_overdue,
        "level": message.level,
        "recipient": state.names.get(message.recipient_agency, message.recipient_agency),
    }
    return {
        "event": OVERDUE_EVENT if message.kind == "overdue" else ESCALATION_EVENT,
        "resource": {
            "prefect.resource.id": f"dondoc.assignment.{message.assignment_id}",
            "prefect.resource.name": f"{state.notice_number} · {state.directive_number} · {name}",
            "dondoc.agency": message.subject_agency,
        },
        "related": _related(state, [message.subject_agency, message.recipient_agency]),
        "payload": payload,
    }


def emit_follow_up_events(state: DirectiveState, planned: FollowUpPlan, new_keys: set[str]) -> int:
    """Emit one event per overdue notice and escalation rung newly queued; never raises; returns how many."""
    emitted = 0
    seen: set[tuple[str, int, int | None]] = set()
    for message in planned.messages:
        event = _event_for(state, planned, message) if message.key in new_keys else None
        # A rung may notify several recipients (the agency and its head): one event per assignment and rung.
        if event is None or (event["event"], message.assignment_id, message.level) in seen:
            continue
        seen.add((event["event"], message.assignment_id, message.level))
        try:
            emitted += emit_event(**event) is not None
        except Exception as exc:  # noqa: BLE001 - an event must never fail a follow-up whose outbox is written
            logger.warning("Event %s not emitted: %s", event["event"], type(exc).__name__)
    return emitted
