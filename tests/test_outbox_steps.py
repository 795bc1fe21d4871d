"""The dispatcher's per-message steps: record a result and start the next message, on both databases.

On PostgreSQL the usual step is one autocommit statement on the batch's own connection, and the
next message is built while the server runs it; these tests hold it to the same results as the
transaction path (SQLite, digests), check that no message reaches the server before its in-flight
mark is committed, and that the connection goes back to the pool as it was taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

import notifications.outbox as outbox
from config.settings import get_settings
from models import Assignment, Notification, get_engine
from models.db import session_scope
from tests.outbox_helpers import MON_0900, add_assignment, add_row, deliver, get_row, received_keys, use_smtp
from tests.smtp_server import SMTPTestServer

REFUSED = "refused by the test"


@pytest.fixture(autouse=True)
def no_real_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own SMTP or Zalo settings must never receive test messages."""
    for name in ("DONDOC_SMTP_URL", "DONDOC_ZALO_APP_ID", "DONDOC_ZALO_OA", "DONDOC_ZALO_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> SMTPTestServer:
    """A real aiosmtpd server; e-mail rows go to it."""
    with SMTPTestServer() as server:
        use_smtp(monkeypatch, server.host, server.port)
        yield server


def test_a_batch_records_each_result_and_skips_a_row_closed_mid_batch(
    db, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = add_row("k1", address="a@bacgiang.example")
    _, assignment_id = add_assignment("2.3")
    closed = add_row("k2", address="b@bacgiang.example", assignment_id=assignment_id)
    last = add_row("k3", address="c@bacgiang.example")
    real_claim = outbox.claim

    def claim_then_complete(*args, **kwargs):  # the middle row's assignment is finished right after the claim
        rows = real_claim(*args, **kwargs)
        with Session(get_engine()) as session:
            session.exec(update(Assignment).where(Assignment.id == assignment_id).values(status="done"))  # type: ignore[call-overload]
            session.commit()
        return rows

    monkeypatch.setattr(outbox, "claim", claim_then_complete)
    report = deliver(MON_0900)

    assert (report.claimed, report.sent, report.cancelled, report.messages) == (3, 2, 1, 2)
    assert received_keys(smtp) == ["k1", "k3"]
    for row_id in (first, last):
        row = get_row(row_id)
        assert (row.state, row.attempts, row.lease_owner, row.lease_until) == ("sent", 1, None, None)
        assert [(e["attempt"], e["ok"], e.get("in_flight", False)) for e in row.error_history] == [(1, True, False)]
        assert row.provider_message_id and row.sent_at is not None and row.subject.startswith("[Nhắc việc]")
    skipped = get_row(closed)
    assert (skipped.state, skipped.attempts) == ("cancelled", 0)
    assert [e.get("cancelled") for e in skipped.error_history] == [True]


def test_the_batch_connection_goes_back_to_the_pool_as_it_was(db, smtp: SMTPTestServer) -> None:
    for i in range(3):
        add_row(f"k{i}", address=f"agency{i}@bacgiang.example")

    assert deliver(MON_0900).sent == 3

    # Take every pooled connection at once (and a new one): none keeps a setting the batch changed.
    # Asked of the driver directly: a SQLAlchemy transaction on SQLite would take the write lock.
    engine = get_engine()
    connections = [engine.connect() for _ in range(engine.pool.size() + 1)]  # type: ignore[attr-defined]
    try:
        drivers = [c.connection.driver_connection for c in connections]
        if db.backend == "postgres":
            modes = {d.execute("SHOW synchronous_commit").fetchone()[0] for d in drivers}  # type: ignore[union-attr]
            autocommits = {d.autocommit for d in drivers}  # type: ignore[union-attr]
            assert (modes, autocommits) == ({"on"}, {False})
        else:
            assert {d.execute("PRAGMA synchronous").fetchone()[0] for d in drivers} == {1}  # type: ignore[union-attr]
    finally:
        for connection in connections:
            connection.close()


def test_a_message_reaches_the_server_only_after_its_in_flight_mark_is_committed(db, smtp: SMTPTestServer) -> None:
    keys = [f"k{i}" for i in range(5)]
    for i, key in enumerate(keys):
        add_row(key, address=f"agency{i}@bacgiang.example")
    seen: dict[str, tuple[Any, ...]] = {}

    def look(message: EmailMessage) -> None:  # from another connection, while the dispatcher waits for the reply
        key = str(message["X-Dondoc-Key"])
        with session_scope(read_only=True) as session:
            row = session.exec(select(Notification).where(Notification.idempotency_key == key)).one()
            last = row.error_history[-1] if row.error_history else {}
            seen[key] = (row.state, row.attempts, last.get("attempt"), last.get("in_flight"))

    smtp.on_data(look)
    assert deliver(MON_0900).sent == len(keys)

    assert received_keys(smtp) == keys
    # Every message found its row committed as in flight: a dispatcher killed now is noticed and recorded.
    assert seen == {key: ("sending", 1, 1, True) for key in keys}


@contextmanager
def refused_start(db, key: str) -> Iterator[None]:
    """Make the database refuse to mark the row of key in flight (a trigger raises), for the block."""
    if db.backend == "postgres":
        create = [
            "CREATE FUNCTION refuse_start() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSED}'; END $$",
            "CREATE TRIGGER refuse_start BEFORE UPDATE ON notification FOR EACH ROW "
            f"WHEN (NEW.idempotency_key = '{key}' AND NEW.attempts > OLD.attempts) EXECUTE FUNCTION refuse_start()",
        ]
        drop = ["DROP TRIGGER refuse_start ON notification", "DROP FUNCTION refuse_start()"]
    else:
        create = [
            "CREATE TRIGGER refuse_start BEFORE UPDATE OF attempts ON notification "
            f"WHEN NEW.idempotency_key = '{key}' AND NEW.attempts > OLD.attempts "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END"
        ]
        drop = ["DROP TRIGGER refuse_start"]
    with get_engine().begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with get_engine().begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_a_step_that_fails_hands_nothing_over(db, smtp: SMTPTestServer) -> None:
    ids = [add_row(f"k{i}", address=f"agency{i}@bacgiang.example") for i in range(3)]

    # The step that records k0 and starts k1 fails; on PostgreSQL k1's message is already built by then.
    with refused_start(db, "k1"), pytest.raises(DBAPIError, match=REFUSED):
        deliver(MON_0900)

    assert received_keys(smtp) == ["k0"]
    for row_id in ids[1:]:
        row = get_row(row_id)
        assert (row.state, row.attempts, row.error_history) == ("sending", 0, [])
