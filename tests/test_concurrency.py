"""Simultaneous status updates to one assignment serialise: the assignment ends as its newest report says."""

from __future__ import annotations

import threading
from itertools import pairwise

from sqlmodel import Session, col, select

from models import AuditEvent, StatusUpdate, get_engine
from models.db import session_scope
from tasks.status_recording import record_status_update
from tests.intake_helpers import assignment, assignment_id, import_sample

STATUSES = ("acknowledged", "in_progress", "done")


def test_twenty_simultaneous_updates_leave_the_assignment_equal_to_its_newest_report(db) -> None:
    import_sample()
    aid = assignment_id("HND_TINH", "2.6")
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def report(index: int) -> None:
        barrier.wait()
        try:
            with session_scope() as session:  # each thread its own session and transaction
                record_status_update(
                    aid,
                    session=session,
                    status=STATUSES[index % 3],
                    percent=index * 5,
                    reported_by=f"Cán bộ {index}",
                    source="test",
                )
        except BaseException as exc:  # noqa: BLE001  (asserted below: none may fail)
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Session(get_engine()) as session:
        history = session.exec(
            select(StatusUpdate).where(StatusUpdate.assignment_id == aid).order_by(col(StatusUpdate.id))
        ).all()
        changes = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "assignment.status", AuditEvent.entity_id == aid)
            .order_by(col(AuditEvent.id))
        ).all()
    assert len(history) == 20 and len(changes) == 20
    newest = history[-1]
    final = assignment(aid)
    assert final.status == newest.status and final.percent == newest.percent
    # Each change starts from the status the one before it left: no update read a stale assignment.
    assert changes[0].details["from"] == "assigned"
    for before, after in pairwise(changes):
        assert after.details["from"] == before.details["to"]
    assert [c.details["update_id"] for c in changes] == [u.id for u in history]
