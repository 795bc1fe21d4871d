"""The outbox dispatcher's per-message statements, built once (SQLAlchemy then only binds parameters).

Building, hashing and compiling an UPDATE for every message was most of the dispatcher's own
time. `RECORD`, `START` and `RENEW` take their SET clause from the column names among the
parameters; `record_and_start()` is PostgreSQL's one-statement step (see its docstring).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update

from models import Assignment, Notification, NotificationState

TABLE = Notification.__table__  # type: ignore[attr-defined]
C = TABLE.c
ASSIGNMENT = Assignment.__table__  # type: ignore[attr-defined]
SENDING = NotificationState.sending.value
CLOSED_ASSIGNMENT = ("done", "withdrawn")

# Plain comparisons, not IN (…): an IN list is expanded into the SQL again at every execution.
CLOSED = exists().where(ASSIGNMENT.c.id == C.assignment_id, or_(*(ASSIGNMENT.c.status == s for s in CLOSED_ASSIGNMENT)))
# Results are written only while the row is still ours.
OURS = and_(C.state == SENDING, C.lease_owner == bindparam("owner"))
RECORD = update(TABLE).where(C.id == bindparam("row_id"), OURS)
START = update(TABLE).where(C.id == bindparam("row_id"), OURS, ~CLOSED)
RENEW = update(TABLE).where(OURS)


@lru_cache(maxsize=16)
def record_and_start(columns: tuple[str, ...]) -> Select[Any]:
    """PostgreSQL: record one row's result (setting `columns`) and mark the next row in flight, in ONE statement.

    Two data-modifying CTEs on different rows, run in autocommit: one round trip per message
    instead of BEGIN, two UPDATEs and COMMIT. Either part may match nothing (the row was taken
    over, the next assignment closed); the counts say which did. Parameters: owner, row_id,
    set_<column> for each column, next_id, next_attempts, next_history.
    """
    recorded = (
        update(TABLE)
        .where(C.id == bindparam("row_id"), OURS)
        .values({name: bindparam(f"set_{name}", type_=C[name].type) for name in columns})
        .returning(C.id)
        .cte("recorded")
    )
    started = (
        update(TABLE)
        .where(C.id == bindparam("next_id"), OURS, ~CLOSED)
        .values(
            attempts=bindparam("next_attempts", type_=C.attempts.type),
            error_history=bindparam("next_history", type_=C.error_history.type),
        )
        .returning(C.id)
        .cte("started")
    )
    return select(
        select(func.count()).select_from(recorded).scalar_subquery(),
        select(func.count()).select_from(started).scalar_subquery(),
    )


__all__ = ["ASSIGNMENT", "CLOSED", "CLOSED_ASSIGNMENT", "RECORD", "RENEW", "START", "record_and_start"]
