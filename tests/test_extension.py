"""Extension review: the flow pauses for a coordinator's form and is resumed through the API."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from flows.extension import review_extension
from models import Agency, Assignment, AuditEvent, DeadlineChange, Directive, Notification, get_engine
from tasks.notice_import import import_notice

GIVEN = at_local(date(2022, 9, 9), datetime.min.time().replace(hour=16))


def paused_run_id(seen: set[UUID], timeout: float = 60.0) -> UUID:
    """Wait until a review-extension run we have not handled yet is paused, and return its id."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["review-extension"])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
                ),
            )
            fresh = [r for r in runs if r.id not in seen]
            if fresh:
                return fresh[0].id
            time.sleep(0.5)
    raise TimeoutError("the review never paused")


def review_in_background(assignment_id: int, until: date) -> tuple[threading.Thread, list]:
    """Start the review in a thread (it blocks while paused) and collect its final state."""
    result: list = []
    thread = threading.Thread(
        target=lambda: result.append(
            review_extension(assignment_id, until, "Chờ ý kiến Sở Tài chính", "Hội Nông dân tỉnh", return_state=True)
        ),
        daemon=True,
    )
    thread.start()
    return thread, result


@pytest.fixture
def urgent_assignment(db, sample_notice: Path) -> int:
    """Hội Nông dân tỉnh's assignment on 2.6 (due 30/09/2022)."""
    import_notice(sample_notice, PACKAGED_CONFIG_DIR, at=GIVEN)
    with Session(get_engine()) as session:
        return session.exec(
            select(Assignment.id)
            .join(Agency)
            .join(Directive)
            .where(Agency.code == "HND_TINH", Directive.number == "2.6")
        ).one()


def test_an_approval_resumed_through_the_api_extends_the_deadline(prefect_server, urgent_assignment: int) -> None:
    seen: set[UUID] = set()
    thread, result = review_in_background(urgent_assignment, date(2022, 10, 14))
    run_id = paused_run_id(seen)
    resume_flow_run(run_id, run_input={"approve": True, "approver": "Chánh Văn phòng Tỉnh ủy", "note": "Đồng ý."})
    thread.join(timeout=60)
    assert result and result[0].is_completed()
    assert "Đã đồng ý gia hạn đến 14/10/2022" in result[0].message
    with Session(get_engine()) as session:
        assignment = session.get(Assignment, urgent_assignment)
        history = session.exec(
            select(DeadlineChange).where(DeadlineChange.assignment_id == urgent_assignment).order_by(DeadlineChange.id)
        ).all()
        told = session.exec(
            select(Notification).where(
                Notification.assignment_id == urgent_assignment, Notification.kind == "extension_approved"
            )
        ).all()
        directive = session.get(Directive, assignment.directive_id)
    assert assignment.due_date == date(2022, 10, 14)
    assert [(c.kind, c.due_date) for c in history] == [
        ("original", date(2022, 9, 30)),
        ("extension", date(2022, 10, 14)),
    ]
    assert history[1].approved_by == "Chánh Văn phòng Tỉnh ủy" and history[1].requested_by == "Hội Nông dân tỉnh"
    assert told and told[0].payload["approver"] == "Chánh Văn phòng Tỉnh ủy"
    assert directive.next_action_at is not None  # marked: the next sweep re-plans from the new date


def test_a_rejection_keeps_the_deadline_and_tells_the_agency(prefect_server, urgent_assignment: int) -> None:
    with get_client(sync_client=True) as client:
        seen = {
            r.id for r in client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["review-extension"])))
        }
    thread, result = review_in_background(urgent_assignment, date(2022, 10, 14))
    run_id = paused_run_id(seen)
    resume_flow_run(
        run_id,
        run_input={"approve": False, "approver": "Chánh Văn phòng Tỉnh ủy", "note": "Cần hoàn thành trước hội nghị."},
    )
    thread.join(timeout=60)
    assert result and "Đã từ chối" in result[0].message
    with Session(get_engine()) as session:
        assignment = session.get(Assignment, urgent_assignment)
        rejected = session.exec(select(AuditEvent).where(AuditEvent.action == "assignment.extension_rejected")).one()
        told = session.exec(select(Notification).where(Notification.kind == "extension_rejected")).all()
    assert assignment.due_date == date(2022, 9, 30)
    assert rejected.details["note"] == "Cần hoàn thành trước hội nghị."
    assert told and told[0].payload["decision_note"] == "Cần hoàn thành trước hội nghị."
