"""Shared helpers for the intake tests: settings, the sample notice, clients, links and forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from config.intake import get_intake_settings
from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from intake.app import create_app
from intake.tokens import create_token
from models import Agency, Assignment, AuditEvent, Directive, StatusUpdate, get_engine
from models.db import session_scope
from tasks.notice_import import import_notice
from tasks.report_links import report_link, revoke_links

SECRET = "test-intake-secret-0123456789-abcdefghij"
OTHER_SECRET = "another-intake-secret-9876543210-zyxwvuts"
PUBLIC_URL = "https://dondoc.bacgiang.example"
GIVEN = at_local(date(2022, 9, 9), datetime.min.time().replace(hour=16))
TODAY = at_local(date(2022, 9, 20), datetime.min.time().replace(hour=9))


def use_intake(
    monkeypatch: pytest.MonkeyPatch, secret: str | None = SECRET, previous: str | None = None, **env: str
) -> None:
    """Configure the intake through its environment variables and drop the cached settings."""
    values = {
        "DONDOC_INTAKE_SECRET": secret,
        "DONDOC_INTAKE_SECRET_PREVIOUS": previous,
        "DONDOC_PUBLIC_URL": PUBLIC_URL,
    }
    values |= {f"DONDOC_{k.upper()}": v for k, v in env.items()}
    for name, value in values.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_intake_settings.cache_clear()


def import_sample() -> int:
    """Import the sample notice as received on 09/09/2022 16:00; return its id."""
    return import_notice(
        PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml", PACKAGED_CONFIG_DIR, at=GIVEN
    ).notice_id


def assignment_id(agency_code: str, directive_number: str) -> int:
    """The id of one agency's assignment on one directive."""
    with Session(get_engine()) as session:
        return session.exec(
            select(Assignment.id)
            .join(Agency, Agency.id == Assignment.agency_id)
            .join(Directive, Directive.id == Assignment.directive_id)
            .where(Agency.code == agency_code, Directive.number == directive_number)
        ).one()


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: datetime = TODAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def client(
    clock: datetime | Clock = TODAY, start_review: Callable[[dict[str, Any]], tuple[str, str]] | None = None
) -> TestClient:
    """A test client on a fresh app (fresh rate limits) whose clock stands at `clock` (or follows a Clock)."""
    tick = clock if isinstance(clock, Clock) else Clock(clock)
    return TestClient(create_app(clock=tick, start_review=start_review), base_url="https://testserver")


def link_path(assignment: int, agency_code: str, now: datetime = TODAY) -> str:
    """The path of a signed link (what follows DONDOC_PUBLIC_URL)."""
    return report_link(assignment, agency_code, settings=get_intake_settings(), now=now).removeprefix(PUBLIC_URL)


def csrf_of(html: str) -> str:
    """The CSRF field of a served page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def assignment(aid: int) -> Assignment:
    """An assignment read fresh."""
    with Session(get_engine()) as session:
        row = session.get(Assignment, aid)
        assert row is not None
        return row


def updates_of(aid: int) -> list[StatusUpdate]:
    """An assignment's progress reports, oldest first."""
    with Session(get_engine()) as session:
        return list(
            session.exec(select(StatusUpdate).where(StatusUpdate.assignment_id == aid).order_by(StatusUpdate.id)).all()
        )


def audit_actions(aid: int) -> list[str]:
    """The audit trail of an assignment, oldest first."""
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(AuditEvent.action)
                .where(AuditEvent.entity_type == "assignment", AuditEvent.entity_id == aid)
                .order_by(AuditEvent.id)
            ).all()
        )


def directive_next_action(aid: int) -> datetime | None:
    """When the sweep will next follow up the assignment's directive."""
    with Session(get_engine()) as session:
        row = session.get(Assignment, aid)
        return session.get(Directive, row.directive_id).next_action_at  # type: ignore[union-attr]


def token_for(code: str, label: str | None = "thử") -> str:
    """A fresh API token of one agency."""
    with session_scope() as session:
        return create_token(code, label=label, created_by="kiểm thử", session=session)[1]


def revoke_agency_links(code: str, now: datetime, reason: str | None = None) -> None:
    """Revoke one agency's links issued up to now, as the coordinator's command does."""
    with session_scope() as session:
        revoke_links(code, revoked_by="Văn phòng", reason=reason, now=now, session=session)
