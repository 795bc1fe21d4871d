"""The shipped migrations give exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from models import Agency, Assignment, Directive, Notice, StatusUpdate, build_engine, get_engine
from models.migrate import current_revision


def test_migrations_match_the_models(db) -> None:
    with get_engine().connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
    assert current_revision() is not None


def test_the_sweep_index_and_unique_constraints_exist(db) -> None:
    inspector = inspect(get_engine())
    schema = db.schema
    indexes = {ix["name"]: ix for ix in inspector.get_indexes("directive", schema=schema)}
    assert indexes["ix_directive_next_action_at"]["column_names"] == ["next_action_at"]
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("assignment", schema=schema)}
    assert ("directive_id", "agency_id") in uniques
    uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("directive", schema=schema)}
    assert ("notice_id", "number") in uniques


def _notice(session: Session) -> Notice:
    agency = Agency(code="TTTU", name="Thường trực Tỉnh ủy", kind="party_standing")
    session.add(agency)
    session.flush()
    notice = Notice(
        number="1-TB/TU", issued_on=date(2022, 9, 9), issuer_id=agency.id, title="t", spec_hash="h", spec_yaml="y"
    )
    session.add(notice)
    session.flush()
    return notice


def test_duplicate_notice_numbers_are_refused_by_the_database(db) -> None:
    with Session(get_engine()) as session:
        notice = _notice(session)
        session.add(
            Notice(
                number=notice.number,
                issued_on=date(2022, 9, 10),
                issuer_id=notice.issuer_id,
                title="t",
                spec_hash="h",
                spec_yaml="y",
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_foreign_keys_are_enforced(db) -> None:
    with Session(get_engine()) as session:
        session.add(Assignment(directive_id=9999, agency_id=9999, role="lead"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_roles_outside_lead_and_support_are_refused(db) -> None:
    with Session(get_engine()) as session:
        notice = _notice(session)
        directive = Directive(
            notice_id=notice.id, number="2.1", position=1, text="t", deadline_rule={"kind": "ongoing"}
        )
        session.add(directive)
        session.flush()
        session.add(Assignment(directive_id=directive.id, agency_id=notice.issuer_id, role="boss"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_timestamps_come_back_timezone_aware_utc(db) -> None:
    local = datetime(2022, 9, 9, 8, 30, tzinfo=timezone(timedelta(hours=7)))
    with Session(get_engine()) as session:
        notice = _notice(session)
        directive = Directive(
            notice_id=notice.id,
            number="2.1",
            position=1,
            text="t",
            deadline_rule={"kind": "ongoing"},
            next_action_at=local,
        )
        session.add(directive)
        session.commit()
    with Session(get_engine()) as session:
        stored = session.exec(select(Directive)).one().next_action_at
    assert stored == local and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2022, 9, 9, 1, 30, tzinfo=UTC)


def test_naive_timestamps_are_refused(db) -> None:
    with Session(get_engine()) as session:
        notice = _notice(session)
        session.add(
            Directive(
                notice_id=notice.id,
                number="2.1",
                position=1,
                text="t",
                deadline_rule={},
                next_action_at=datetime(2022, 9, 9),
            )
        )
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()


def test_status_updates_are_append_only(db) -> None:
    with Session(get_engine()) as session:
        notice = _notice(session)
        directive = Directive(
            notice_id=notice.id, number="2.1", position=1, text="t", deadline_rule={"kind": "ongoing"}
        )
        session.add(directive)
        session.flush()
        assignment = Assignment(directive_id=directive.id, agency_id=notice.issuer_id, role="lead")
        session.add(assignment)
        session.flush()
        update = StatusUpdate(
            assignment_id=assignment.id,
            reported_at=datetime.now(UTC),
            reported_by="STC",
            source="cli",
            status="in_progress",
            percent=40,
        )
        session.add(update)
        session.commit()
        update.percent = 90
        with pytest.raises(PermissionError, match="append-only"):
            session.flush()
        session.rollback()
        session.delete(session.get(StatusUpdate, update.id))
        with pytest.raises(PermissionError, match="append-only"):
            session.flush()


def test_sqlite_runs_with_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=5000)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()
