"""The Prefect event `dondoc.assignment.updated`, emitted once the transaction that recorded a change commits.

A recorded update is queued on its session (`announce_after_commit`); the session's commit emits
it, and a rollback drops it, so no event ever announces a change that was not stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import httpx
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext, TaskRunContext
from prefect.events import emit_event
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

EVENT_NAME = "dondoc.assignment.updated"
HEALTHCHECK_TIMEOUT_S = 2.0
_QUEUE_KEY = "dondoc_updates_to_announce"

logger = logging.getLogger("dondoc.status")


@dataclass(frozen=True)
class RecordedUpdate:
    """What a status update changed (enough to announce it without reading the database again)."""

    update_id: int
    assignment_id: int
    directive_id: int
    status: str
    previous: str = ""
    percent: int | None = None
    source: str = ""
    agency_code: str = ""
    directive_number: str = ""
    notice_number: str = ""
    at: datetime | None = None


def prefect_api_available() -> bool:
    """True when a Prefect API answers its health check, without ever spawning an ephemeral one.

    Without PREFECT_API_URL, Prefect's get_client, emit_event and run_deployment start an ephemeral
    API server in a subprocess (about 15 s here). dondoc does that only where one already runs: in a
    flow or task run, or in a process that started Prefect's shared ephemeral server (`dondoc serve`).
    """
    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return True
    # Constructing it returns the process's shared ephemeral server (Prefect's singleton) without starting it.
    if not PREFECT_API_URL.value() and not SubprocessASGIServer().running:
        return False
    try:
        with get_client(sync_client=True, httpx_settings={"timeout": httpx.Timeout(HEALTHCHECK_TIMEOUT_S)}) as client:
            return client.api_healthcheck() is None
    except Exception as exc:  # noqa: BLE001  (a broken client configuration means "not reachable", never a failed update)
        logger.debug("Prefect API health check failed: %s", type(exc).__name__)
        return False


def _payload(result: RecordedUpdate) -> dict[str, object]:
    """The event's payload: what changed, from what, by which channel."""
    return {
        "update_id": result.update_id,
        "assignment_id": result.assignment_id,
        "directive_id": result.directive_id,
        "status": result.status,
        "previous_status": result.previous,
        "percent": result.percent,
        "source": result.source,
        "reported_at": result.at.isoformat() if result.at else None,
    }


def emit_assignment_updated(result: RecordedUpdate, *, api_checked: bool = False) -> bool:
    """Emit `dondoc.assignment.updated`; never raises, and returns whether an event was handed over."""
    try:
        if not api_checked and not prefect_api_available():
            logger.debug(
                "No Prefect API reachable: event %s for assignment %s not emitted", EVENT_NAME, result.assignment_id
            )
            return False
        emitted = emit_event(
            event=EVENT_NAME,
            resource={
                "prefect.resource.id": f"dondoc.assignment.{result.assignment_id}",
                "prefect.resource.name": f"{result.notice_number} · {result.directive_number} · {result.agency_code}",
                "dondoc.agency": result.agency_code,
                "dondoc.status": result.status,
            },
            related=[
                {
                    "prefect.resource.id": f"dondoc.directive.{result.directive_id}",
                    "prefect.resource.role": "directive",
                    "prefect.resource.name": f"{result.notice_number} · {result.directive_number}",
                },
                {"prefect.resource.id": f"dondoc.agency.{result.agency_code}", "prefect.resource.role": "agency"},
            ],
            payload=_payload(result),
        )
        return emitted is not None
    except Exception as exc:  # noqa: BLE001  (an event must never undo or fail a recorded update)
        logger.warning("Could not emit %s for assignment %s: %s", EVENT_NAME, result.assignment_id, type(exc).__name__)
        return False


def announce(results: list[RecordedUpdate]) -> int:
    """Emit the event for updates already committed; one health check for all of them."""
    if not results or not prefect_api_available():
        return 0
    return sum(emit_assignment_updated(r, api_checked=True) for r in results)


def announce_after_commit(result: RecordedUpdate, *, session: Session) -> None:
    """Queue the event on the session: emitted when it commits, dropped if it rolls back."""
    session.info.setdefault(_QUEUE_KEY, []).append(result)


@event.listens_for(OrmSession, "after_commit")
def _announce_committed(session: OrmSession) -> None:
    """Emit the events of the updates this commit stored."""
    queued = session.info.pop(_QUEUE_KEY, None)
    if queued:
        announce(queued)


@event.listens_for(OrmSession, "after_rollback")
def _drop_rolled_back(session: OrmSession) -> None:
    """A rolled-back update is not announced."""
    session.info.pop(_QUEUE_KEY, None)
