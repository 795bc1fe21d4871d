"""Reading many directives' follow-up inputs together gives exactly what reading each alone gives."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import tasks.directive_state as directive_state
from config.settings import get_settings
from models import Assignment, Directive
from models.db import session_scope
from tasks.directive_state import read_directive_state, read_directive_states
from tasks.notice_import import import_notice
from tasks.outbox_writer import write_outbox
from tasks.planning import plan_directive
from tasks.rules import load_follow_up_rules
from tasks.status_recording import record_status_update
from tests.outbox_helpers import MON_0900


@pytest.mark.usefixtures("db")
def test_reading_directives_together_equals_reading_each_alone(
    sample_notice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_notice(sample_notice, get_settings().config_dir)
    rules = load_follow_up_rules()
    with session_scope() as session:
        directive_ids = [d for d in session.exec(select(Directive.id).order_by(Directive.id)).all() if d]
        assignments = session.exec(select(Assignment).order_by(Assignment.id)).all()
        # Histories that differ per assignment: two reports for one, one report for another.
        for assignment, status in (
            (assignments[0], "in_progress"),
            (assignments[0], "done"),
            (assignments[5], "acknowledged"),
        ):
            record_status_update(
                assignment.id or 0,
                session=session,
                status=status,
                reported_by="Kiểm thử",
                source="paper",
                document_number="12/BC-STC",
                at=MON_0900 - timedelta(days=3 if status != "done" else 2),
            )
    for directive_id in directive_ids:
        with session_scope() as session:
            state = read_directive_state(directive_id, MON_0900, session=session, rules=rules)
            write_outbox(state, plan_directive(state, MON_0900, rules=rules), MON_0900, session=session, rules=rules)
    with session_scope(read_only=True) as session:
        alone = [asdict(read_directive_state(d, MON_0900, session=session, rules=rules)) for d in directive_ids]
    assert any(s["sent_keys"] for s in alone) and any(s["last_update"] for s in alone)
    assert len({len(s["assignments"]) for s in alone}) > 1, "the sample notice's directives differ in size"
    # Small chunks, so that the IN (...) lists are split and put back together as well.
    monkeypatch.setattr(directive_state, "ID_CHUNK", 3)
    order = [*list(reversed(directive_ids)), directive_ids[0]]
    with session_scope(read_only=True) as session:
        together = [asdict(s) for s in read_directive_states(order, MON_0900, session=session, rules=rules)]
    by_id = {s["directive_id"]: s for s in alone}
    assert together == [by_id[d] for d in order]


@pytest.mark.usefixtures("db")
def test_an_unknown_directive_is_refused_by_id(sample_notice: Path) -> None:
    import_notice(sample_notice, get_settings().config_dir)
    with session_scope(read_only=True) as session, pytest.raises(LookupError, match="directive 999999 does not exist"):
        read_directive_states([1, 999999], MON_0900, session=session, rules=load_follow_up_rules())
