"""PostgreSQL: run one autocommit statement while the caller does other work, on the same connection.

The outbox's usual step (record a result, mark the next message in flight) waits about a
millisecond for the server; building the next message does not depend on it. psycopg's pipeline
mode sends the statement and returns at once; the server runs it while `work()` runs here, and
the pipeline's end (a Sync: the statement commits) is awaited before the statement's row is
returned. The caller acts on the row (e.g. hands the built message over) only after that, so
nothing happens before the statement is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

T = TypeVar("T")


@dataclass(frozen=True)
class DriverStatement:
    """A SQLAlchemy statement compiled once for psycopg: its SQL, its fixed parameters, its type conversions."""

    sql: str
    fixed: dict[str, Any]  # values written into the statement, e.g. the states it compares with
    processors: dict[str, Callable[[Any], Any]]  # as SQLAlchemy converts them (JSON, time zones)

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's parameters for values (keyed as the statement's bind parameters)."""
        merged = self.fixed | dict(values)
        for name, process in self.processors.items():
            merged[name] = process(merged[name])
        return merged


@lru_cache(maxsize=32)
def driver_statement(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """Compile statement for dialect's driver, once per statement and dialect."""
    compiled = statement.compile(dialect=dialect)
    fixed: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():  # type: ignore[attr-defined]  # an SQLCompiler's
        if not bind.required:
            fixed[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return DriverStatement(str(compiled), fixed, processors)


def execute_while(
    connection: Connection, statement: ClauseElement, values: Mapping[str, Any], work: Callable[[], T]
) -> tuple[tuple[Any, ...], T]:
    """Run statement in autocommit on connection (psycopg) while work() runs; return its one row, committed, and work's result.

    If the statement fails, its error is raised (as SQLAlchemy's) once work() has run; the caller
    must then discard what work() made. Without pipeline support in the client library, the
    statement runs first and work() after it.
    """
    compiled = driver_statement(statement, connection.dialect)
    parameters = compiled.parameters(values)
    driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    connection.execution_options(isolation_level="AUTOCOMMIT")  # no BEGIN: the statement commits itself
    try:
        if not psycopg.Pipeline.is_supported():
            row = _fetch_one(driver.execute(compiled.sql, parameters), compiled.sql)
            return row, work()
        with driver.pipeline():
            cursor = driver.cursor()
            cursor.execute(compiled.sql, parameters)  # sent; PostgreSQL runs it while work() runs here
            done = work()
        # The pipeline has ended: its Sync committed the statement, and the row has arrived.
        return _fetch_one(cursor, compiled.sql), done
    except psycopg.Error as exc:
        # Raised by the driver outside SQLAlchemy's wrapping: give callers the SQLAlchemy error they handle.
        raise DBAPIError.instance(compiled.sql, parameters, exc, psycopg.Error) from exc
    finally:
        connection.execution_options(isolation_level=connection.default_isolation_level)


def _fetch_one(cursor: psycopg.Cursor[Any], sql: str) -> tuple[Any, ...]:
    """The one row a statement returned."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError(f"the statement returned no row: {sql[:80]}")
    return tuple(row)


__all__ = ["DriverStatement", "driver_statement", "execute_while"]
