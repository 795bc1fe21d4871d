"""A follow-up's database work as one Prefect task run: poll, read, classify and plan, write the outbox.

Each task run costs the Prefect server a few events to record (about 0.06 s of server CPU each at
1,000 follow-ups, bench/README.md), so the steps that only make sense together run in one: the
pure planning step is a plain function call between the read and the write, not a task of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from models.db import session_scope
from tasks.directive_state import DirectiveState, read_directive_state
from tasks.outbox_writer import record_outbox
from tasks.planning import FollowUpPlan, plan_directive
from tasks.polling import poll_status_sources_task
from tasks.retries import IO_RETRIES
from tasks.rules import load_follow_up_rules


@dataclass
class Reconciled:
    """What one reconcile read, planned and queued."""

    state: DirectiveState
    planned: FollowUpPlan
    written: int


# Retried on transient I/O errors only (IO_RETRIES); a retry starts again from the read, and the outbox's
# deterministic keys make writing the same messages twice a no-op. Polling never raises (a source that is
# down waits for its own backoff), so it cannot be the cause of a retry.
@task(name="Đọc trạng thái, lập kế hoạch, ghi hộp thư đi", cache_policy=NONE, **IO_RETRIES)
def reconcile_directive(directive_id: int, as_of: datetime) -> Reconciled:
    """Poll the status sources, read the directive, classify and plan, and write the messages due now."""
    poll_status_sources_task.fn(directive_id, as_of)  # before reading: what the sources report counts in this run
    rules = load_follow_up_rules()
    with session_scope(read_only=True) as session:
        state = read_directive_state(directive_id, as_of, session=session, rules=rules)
    planned = plan_directive(state, as_of, rules=rules)
    written = record_outbox.fn(state, planned, as_of)
    return Reconciled(state, planned, written)
