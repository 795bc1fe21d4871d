"""The dispatcher's per-message steps: record a result and start the next message, on both databases.

On PostgreSQL the usual step is one autocommit statement on the batch's own connection; these
tests hold it to the same results as the transaction path (SQLite, digests) and check that the
connection goes back to the pool as it was taken.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import Session

import notifications.outbox as outbox
from config.settings import get_settings
from models import Assignment, get_engine
from tests.outbox_helpers import MON_0900, add_assignment, add_row, deliver, get_row, received_keys, use_smtp
from tests.smtp_server import SMTPTestServer


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
