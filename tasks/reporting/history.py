"""The periodic report's bulk read of the history: every assignment with its deadlines and its updates.

At 100,000 assignments this is about 100,000 assignment rows, 100,000 deadline entries and 320,000
status updates. The three queries are ordered by assignment and read side by side, in batches through
SQLAlchemy Core (no ORM loading, no dictionary of the whole province between them). The histories are
yielded one by one, to be judged as they stream past: the province's history is never held at once.
A run of assignments shares one compact UpdateLog, and equal values (instants, deadline histories,
statuses) are one object each within it; the next run starts afresh, so a judged run can be freed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from itertools import chain, groupby
from operator import itemgetter
from typing import Any, TypeAlias

from sqlalchemy import Row, Select, select
from sqlmodel import Session, col

from domain.report_lines import AssignmentHistory, DeadlineEntry, DirectiveInfo
from domain.timeliness import Obligation
from domain.update_log import UpdateLog
from models import Assignment, DeadlineChange, StatusUpdate

STREAM_ROWS = 10_000  # rows fetched and converted at a time
RUN_ASSIGNMENTS = 2_000  # assignments that share one UpdateLog and one set of shared values

AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"
AnyRow: TypeAlias = "Row[*tuple[Any, ...]]"
Histories: TypeAlias = Iterator[tuple[AssignmentHistory, tuple[Obligation, ...]]]
Runs: TypeAlias = "Iterator[tuple[Any, Iterator[AnyRow]]]"
Ahead: TypeAlias = "tuple[Any, Iterator[AnyRow]] | None"


def stream(statement: AnySelect, *, session: Session) -> Iterator[AnyRow]:
    """The statement's rows through SQLAlchemy Core, fetched and converted in batches (no ORM loading, no per-row fetch)."""
    result = session.connection().execute(statement.execution_options(yield_per=STREAM_ROWS))
    return chain.from_iterable(result.partitions())


def _runs(statement: AnySelect, *, session: Session) -> Runs:
    """(assignment id, its rows) in assignment order, from a statement whose first column is the assignment id."""
    return groupby(stream(statement, session=session), key=itemgetter(0))


def _run_of(runs: Runs, ahead: Ahead, assignment_id: int) -> tuple[list[AnyRow], Ahead]:
    """(the rows of assignment_id, the next run ahead), skipping rows of assignments not read."""
    while ahead is not None and ahead[0] < assignment_id:
        ahead = next(runs, None)
    if ahead is not None and ahead[0] == assignment_id:
        rows = list(ahead[1])  # taken before the next run: groupby's runs share one iterator
        return rows, next(runs, None)
    return [], ahead


def read_histories(
    given: AnySelect,
    until: datetime,
    directives: Mapping[int, DirectiveInfo],
    obligations: Mapping[int, tuple[Obligation, ...]],
    agencies: Mapping[int, tuple[str, str | None]],
    *,
    session: Session,
) -> Histories:
    """Every assignment in given (ordered by id) with its deadline history and its updates up to until, one by one.

    The rows are read as the histories are taken: take them all while session is open. agencies maps
    an agency id to its code and its supervisor's code. Who asked for an extension and who reported are
    not shown by the report: they are not read.
    """
    deadline_runs = _runs(
        select(
            col(DeadlineChange.assignment_id),
            col(DeadlineChange.created_at),
            col(DeadlineChange.kind),
            col(DeadlineChange.due_date),
            col(DeadlineChange.reason),
            col(DeadlineChange.approved_by),
        )
        .where(col(DeadlineChange.assignment_id).in_(given))
        .order_by(col(DeadlineChange.assignment_id), col(DeadlineChange.created_at), col(DeadlineChange.id)),
        session=session,
    )
    update_runs = _runs(
        select(
            col(StatusUpdate.assignment_id),
            col(StatusUpdate.reported_at),
            col(StatusUpdate.status),
            col(StatusUpdate.percent),
            col(StatusUpdate.document_number),
            col(StatusUpdate.note),
        )
        .where(col(StatusUpdate.assignment_id).in_(given), col(StatusUpdate.reported_at) <= until)
        .order_by(col(StatusUpdate.assignment_id), col(StatusUpdate.reported_at), col(StatusUpdate.id)),
        session=session,
    )
    assignments = stream(
        select(
            col(Assignment.id),
            col(Assignment.directive_id),
            col(Assignment.agency_id),
            col(Assignment.role),
            col(Assignment.status),
            col(Assignment.created_at),
            col(Assignment.due_date),
            col(Assignment.withdrawn_at),
        )
        .where(col(Assignment.id).in_(given))
        .order_by(col(Assignment.id)),
        session=session,
    )
    # The assignments of a directive are given together, with the same original deadline at the same moment:
    # equal instants, entries and whole deadline histories are kept once (per run of assignments).
    times: dict[datetime, datetime] = {}
    entries: dict[DeadlineEntry, DeadlineEntry] = {}
    deadline_histories: dict[tuple[DeadlineEntry, ...], tuple[DeadlineEntry, ...]] = {}
    values: dict[str | date | None, Any] = {}  # roles, statuses, due dates
    log = UpdateLog()
    next_deadlines, next_updates = next(deadline_runs, None), next(update_runs, None)
    for count, (assignment_id, directive_id, agency_id, role, status, created_at, due_date, withdrawn_at) in enumerate(
        assignments, 1
    ):
        rows, next_deadlines = _run_of(deadline_runs, next_deadlines, assignment_id)
        deadlines: tuple[DeadlineEntry, ...] = ()
        if rows:
            found = tuple(
                entries.setdefault(entry, entry)
                for entry in (DeadlineEntry(times.setdefault(r[1], r[1]), r[2], r[3], r[4], None, r[5]) for r in rows)
            )
            deadlines = deadline_histories.setdefault(found, found)
        rows, next_updates = _run_of(update_runs, next_updates, assignment_id)
        start = len(log)
        add = log.add
        for r in rows:
            add(r[1], r[2], r[3], r[4], r[5])
        agency_code, supervisor_code = agencies[agency_id]
        directive = directives[directive_id]
        history = AssignmentHistory(
            assignment_id=assignment_id,
            directive_id=directive.directive_id,  # one int object per directive
            agency_code=agency_code,
            role=values.setdefault(role, role),
            created_at=times.setdefault(created_at, created_at),
            status=values.setdefault(status, status),
            due_date=values.setdefault(due_date, due_date),
            withdrawn_at=withdrawn_at,
            deadlines=deadlines,
            updates=log.span(start, len(log)) if len(log) > start else (),
            supervisor_code=supervisor_code,
        )
        yield history, obligations[directive_id]
        if count % RUN_ASSIGNMENTS == 0:
            # The run just yielded has been judged: what only its histories held can now be freed.
            times, entries, deadline_histories, values = {}, {}, {}, {}
            log = UpdateLog()
