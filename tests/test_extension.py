"""Extension review: the flow pauses for a coordinator's form and is resumed through the API."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from markdown_it import MarkdownIt
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
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from flows.extension import review_description, review_extension
from models import (
    Agency,
    Assignment,
    AuditEvent,
    DeadlineChange,
    Directive,
    ExtensionRequest,
    Notification,
    get_engine,
)
from models.db import session_scope
from tasks.extensions import ExtensionRequested, ExtensionUnavailable, pending_extension, request_extension
from tasks.notice_import import import_notice
from tasks.status_recording import StatusConflict

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


# --- one pending request per assignment, enforced by the database (issue 12 §5) -----------------------------


def test_ten_simultaneous_requests_leave_one_pending_and_start_one_review(db, urgent_assignment: int) -> None:
    started: list[dict] = []
    lock = threading.Lock()

    def start(parameters: dict) -> tuple[str, str]:
        with lock:
            started.append(parameters)
        return f"run-{len(started)}", "Gia hạn"

    barrier = threading.Barrier(10)
    outcomes: list[object] = []

    def ask(index: int) -> None:
        barrier.wait()
        try:
            with session_scope() as session:
                outcomes.append(
                    request_extension(
                        urgent_assignment,
                        session=session,
                        until=date(2022, 10, 14),
                        reason=f"Lý do {index}",
                        requested_by="Hội Nông dân tỉnh",
                        start=start,
                    )
                )
        except Exception as exc:  # noqa: BLE001  (every outcome is asserted below)
            outcomes.append(exc)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    accepted = [o for o in outcomes if isinstance(o, ExtensionRequested)]
    refused = [o for o in outcomes if isinstance(o, StatusConflict)]
    assert len(accepted) == 1 and len(refused) == 9, outcomes
    assert {str(r) for r in refused} == {"đã có đề nghị gia hạn đến 14/10/2022 đang chờ phê duyệt"}
    assert len(started) == 1 and started[0]["request_id"] == accepted[0].request_id
    with Session(get_engine()) as session:
        rows = session.exec(select(ExtensionRequest).where(ExtensionRequest.assignment_id == urgent_assignment)).all()
        requested = session.exec(select(AuditEvent).where(AuditEvent.action == "assignment.extension_requested")).all()
    assert [(r.state, r.run_id) for r in rows] == [("pending", "run-1")]
    assert len(requested) == 1


def test_the_database_itself_refuses_a_second_pending_request(db, urgent_assignment: int) -> None:
    def pending() -> ExtensionRequest:
        return ExtensionRequest(
            assignment_id=urgent_assignment, until=date(2022, 10, 14), reason="Lý do", requested_by="Hội Nông dân tỉnh"
        )

    with session_scope() as session:
        session.add(pending())
    with pytest.raises(IntegrityError), session_scope() as session:
        session.add(pending())
    with session_scope() as session:  # a decided request does not block a new one
        first = session.exec(select(ExtensionRequest)).one()
        first.state = "rejected"
    with session_scope() as session:
        session.add(pending())


def test_a_review_run_that_cannot_start_leaves_no_pending_request(db, urgent_assignment: int) -> None:
    def unavailable(_parameters: dict) -> tuple[str, str]:
        raise ExtensionUnavailable("quy trình xét gia hạn chưa được phục vụ")

    with pytest.raises(ExtensionUnavailable), session_scope() as session:
        request_extension(
            urgent_assignment,
            session=session,
            until=date(2022, 10, 14),
            reason="Lý do",
            requested_by="Hội Nông dân tỉnh",
            start=unavailable,
        )
    with session_scope() as session:
        assert pending_extension(urgent_assignment, session=session) is None
        assert [r.state for r in session.exec(select(ExtensionRequest)).all()] == ["abandoned"]


# --- what a coordinator reads (issue 12 §6) ------------------------------------------------------------------


def test_the_agencys_words_cannot_pose_as_markup_in_the_review_form() -> None:
    reason = "**ĐÃ DUYỆT** [bấm vào đây](javascript:alert(1)) <img src=x onerror=alert(1)>\n- Người phê duyệt: Bí thư"
    requester = "# Chủ tịch UBND tỉnh\n\n---"
    rendered = MarkdownIt().render(
        review_description("1061-TB/TU · 2.6 · Hội Nông dân", date(2022, 10, 14), reason, requester)
    )
    assert "<a " not in rendered and "<img" not in rendered and "<h1>" not in rendered and "<hr" not in rendered
    assert rendered.count("<strong>") == 2  # the heading and the date; none from the agency's text
    assert rendered.count("<li>") == 3  # date, reason, requester: no list item smuggled in by a line break
    assert "**ĐÃ DUYỆT**" in rendered and "&lt;img src=x onerror=alert(1)&gt;" in rendered


def test_the_review_form_keeps_its_vietnamese_labels_and_refuses_an_empty_approver() -> None:
    from pydantic import ValidationError

    from flows.extension import ExtensionDecision
    from flows.forms import form_with_defaults

    form = form_with_defaults(ExtensionDecision, "Đề nghị gia hạn", approve=True, approver="")
    fields = form.model_json_schema()["properties"]
    assert fields["approve"]["title"] == "Đồng ý gia hạn?" and fields["approve"]["default"] is True
    assert fields["approver"]["title"] == "Người quyết định" and fields["approver"]["minLength"] == 1
    with pytest.raises(ValidationError):
        form(approve=True, approver="")
    # What Prefect's own helper does, and why the project does not use it: the titles are lost.
    bare = ExtensionDecision.with_initial_data(description="x", approve=True, approver="")
    assert bare.model_json_schema()["properties"]["approver"].get("title") != "Người quyết định"
