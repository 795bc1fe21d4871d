"""The database engine, created once and lazily, with SQLite and PostgreSQL tuned on connect."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from config.settings import get_settings
from models.tables import StatusUpdate

READ_ONLY_OPTION = "dondoc_read_only"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _tune_sqlite(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    """Turn on WAL, a busy timeout and foreign keys for every new SQLite connection."""
    # The driver's own transaction handling would open a deferred transaction late; we emit BEGIN
    # ourselves in _begin_sqlite, so the driver is put in autocommit mode.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    """Start every SQLite transaction holding the write lock, unless the session is read-only.

    SQLite has no SELECT ... FOR UPDATE: a deferred transaction reads, then two writers race for
    the lock and the loser overwrites what the winner wrote. BEGIN IMMEDIATE takes the lock before
    the first read (waiting up to the busy timeout), so a read-modify-write is serialised.
    """
    read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
    # Straight to the driver: SQLAlchemy's execution machinery around a bare BEGIN cost as much as
    # a small UPDATE, and loops of short transactions (the outbox commits once per message) pay it each time.
    statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    try:
        connection.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        # The driver's own error, raised outside SQLAlchemy's wrapping: give callers the SQLAlchemy error
        # they handle ("database is locked" is retried by tasks/retries.py and told in Vietnamese by the CLI).
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _use_schema(dbapi_connection: Any, schema: str) -> None:
    """Point a PostgreSQL connection's search_path at dondoc's schema."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f'SET search_path TO "{schema}"')
    cursor.close()
    dbapi_connection.commit()


def build_engine(url: str, *, schema: str | None = None, busy_timeout_ms: int = 30_000) -> Engine:
    """Create an engine for url; SQLite gets its pragmas, PostgreSQL its schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", lambda conn, _record: _tune_sqlite(conn, busy_timeout_ms))
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if schema:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid PostgreSQL schema name: {schema!r}")
        event.listen(engine, "connect", lambda conn, _record: _use_schema(conn, schema))
    return engine


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine for the configured database."""
    settings = get_settings()
    return build_engine(
        settings.effective_database_url,
        schema=settings.database_schema,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )


@contextmanager
def session_scope(engine: Engine | Connection | None = None, *, read_only: bool = False) -> Iterator[Session]:
    """One short unit of work: commit when the block ends, roll back if it raises.

    Bound to a Connection, the session commits its own transactions on it and leaves it open.

    read_only=True starts a plain deferred transaction on SQLite (no write lock), for long reads
    such as reports; any write in it is a programming error that SQLite itself refuses.
    """
    bind: Engine | Connection = engine or get_engine()
    if read_only:
        bind = bind.execution_options(**{READ_ONLY_OPTION: True})
    with Session(bind) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def pinned_session(session: Session) -> Iterator[Session]:
    """A session of its own on ONE connection of session's database, kept across its commits.

    A session on the engine hands its connection back to the pool at every commit and takes one
    again for its next transaction (with a ping on PostgreSQL, pool_pre_ping); a loop of many
    short transactions, such as the outbox's one per message, would pay that every time.
    """
    bind = session.get_bind()
    if isinstance(bind, Connection):  # already on one connection
        yield session
        return
    with bind.connect() as connection, session_scope(connection) as pinned:
        yield pinned


def reset_engine() -> None:
    """Dispose of the cached engine (tests and CLI --database switches use this)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


@event.listens_for(OrmSession, "before_flush")
def _refuse_history_rewrites(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Status updates are append-only: refuse edits and deletes at the ORM level."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, StatusUpdate) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("status updates are append-only; record a new update instead")
