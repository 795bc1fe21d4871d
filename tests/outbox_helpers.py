"""Shared helpers for the outbox tests: rows, policies, SMTP URLs, a slow SMTP sink."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections import Counter
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR, get_settings
from models import Agency, Assignment, Directive, Notice, Notification, get_engine
from models.db import session_scope
from notifications.dispatcher import deliver_due
from notifications.outbox import DeliveryReport, requeue
from tests.smtp_server import SMTPTestServer, free_port

# Monday 26/09/2022 09:00 in Vietnam (UTC+7): inside the default send window on a working day.
MON_0900 = datetime(2022, 9, 26, 2, 0, tzinfo=UTC)

PAYLOAD: dict[str, Any] = {
    "kind": "reminder",
    "level": None,
    "recipient_role": "assignee",
    "recipient_agency": "Sở Tài chính",
    "recipient_agency_code": "STC",
    "notice_number": "1061-TB/TU",
    "notice_title": "Kết luận của Ban Thường vụ Tỉnh ủy về Đề án OCOP",
    "directive_number": "2.3",
    "directive_excerpt": "Tham mưu bố trí kinh phí hỗ trợ các hợp tác xã tham gia Chương trình OCOP",
    "agency": "Sở Tài chính",
    "agency_code": "STC",
    "role": "lead",
    "due_date": "2022-09-30",
    "due_date_vi": "30/09/2022",
    "due_explanation": None,
    "period": None,
    "offset": 4,
    "days_overdue": 0,
    "category": "in_progress",
    "category_label": "Đang thực hiện trong hạn",
    "extended": False,
    "assignment_id": None,
    "directive_id": None,
}


def add_row(
    key: str,
    *,
    kind: str = "reminder",
    channel: str = "email",
    address: str = "stc@bacgiang.example",
    at: datetime = MON_0900,
    payload: dict[str, Any] | None = None,
    state: str = "pending",
    assignment_id: int | None = None,
    directive_id: int | None = None,
) -> int:
    """Insert one outbox row due at `at`; return its id."""
    body = dict(PAYLOAD) | {"kind": kind} | (payload or {})
    with Session(get_engine()) as session:
        row = Notification(
            idempotency_key=key,
            plan_key=key,
            kind=kind,
            channel=channel,
            address=address,
            payload=body,
            state=state,
            planned_at=at,
            next_attempt_at=at,
            assignment_id=assignment_id,
            directive_id=directive_id,
            created_at=at,
        )
        session.add(row)
        session.commit()
        return row.id  # type: ignore[return-value]


def get_row(row_id: int) -> Notification:
    """Read one outbox row fresh from the database."""
    with Session(get_engine()) as session:
        row = session.get(Notification, row_id)
        assert row is not None
        session.expunge(row)
        return row


def all_rows() -> list[Notification]:
    """Every outbox row, by id."""
    with Session(get_engine()) as session:
        rows = list(session.exec(select(Notification).order_by(Notification.id)).all())
        for row in rows:
            session.expunge(row)
        return rows


def add_assignment(directive_number: str = "2.3", status: str = "assigned") -> tuple[int, int]:
    """Create an agency, a notice, a directive and one assignment; return (directive id, assignment id)."""
    with Session(get_engine()) as session:
        agency = session.exec(select(Agency).where(Agency.code == "STC")).first()
        if agency is None:
            agency = Agency(code="STC", name="Sở Tài chính", kind="department")
            session.add(agency)
            session.flush()
        notice = session.exec(select(Notice).where(Notice.number == "1061-TB/TU")).first()
        if notice is None:
            notice = Notice(
                number="1061-TB/TU",
                issued_on=date(2022, 9, 9),
                issuer_id=agency.id,
                title="OCOP",
                spec_hash="0" * 64,
                spec_yaml="",
            )
            session.add(notice)
            session.flush()
        directive = Directive(
            notice_id=notice.id,
            number=directive_number,
            position=int(directive_number.split(".")[-1]),
            text="Tham mưu bố trí kinh phí",
            deadline_rule={},
        )
        session.add(directive)
        session.flush()
        assignment = Assignment(directive_id=directive.id, agency_id=agency.id, role="lead", status=status)  # type: ignore[arg-type]
        session.add(assignment)
        session.commit()
        return directive.id, assignment.id  # type: ignore[return-value]


def smtp_base_url(host: str, port: int) -> str:
    """A DONDOC_SMTP_URL for a loopback server (plain SMTP); the outbox adds to=."""
    return f"mailto://{host}:{port}?from=dondoc@bacgiang.example&mode=insecure"


def use_smtp(monkeypatch: pytest.MonkeyPatch, host: str, port: int) -> None:
    """Send e-mail rows through the given SMTP server."""
    monkeypatch.setenv("DONDOC_SMTP_URL", smtp_base_url(host, port))
    get_settings.cache_clear()


def use_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: Any) -> Path:
    """Copy the packaged config with notifications.yaml changes (nested dicts merge); point settings at it."""
    target = tmp_path / "config"
    shutil.copytree(PACKAGED_CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = target / "notifications.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = data[key] | value
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("DONDOC_CONFIG_DIR", str(target))
    get_settings.cache_clear()
    return target


def received_keys(server: SMTPTestServer) -> list[str]:
    """The X-Dondoc-Key of every message the server accepted, in order."""
    return [m.message["X-Dondoc-Key"] for m in server.messages]


class SlowSink:
    """An aiosmtpd handler that records each message on arrival, then waits before answering 250.

    A client killed during that wait has delivered the message without learning so: exactly the
    'in flight' case of a crash.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.keys: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(bytes(envelope.original_content or envelope.content), policy=policy.default)
        with self.lock:
            self.keys.append(str(message["X-Dondoc-Key"]))
        await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def counts(self) -> Counter[str]:
        """How many times each key arrived."""
        with self.lock:
            return Counter(self.keys)


def start_slow_sink(delay: float) -> tuple[Controller, SlowSink, int]:
    """Run a SlowSink on a free loopback port."""
    sink = SlowSink(delay)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, sink, port


def deliver(now: datetime | None = None, **options: Any) -> DeliveryReport:
    """deliver_due() the way its callers use it: one session_scope and the process settings."""
    with session_scope() as session:
        return deliver_due(now, session=session, settings=get_settings(), **options)


def retry(notification_id: int, now: datetime | None = None) -> bool:
    """requeue() in its own session_scope."""
    with session_scope() as session:
        return requeue(notification_id, now, session=session)
