"""Zalo replies (issue 15 §4): the fake Zalo sends signed user_send_text calls to the intake's webhook."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from domain.planner import at_local
from models import Agency, AgencyContact, Assignment, AuditEvent, Notification, StatusUpdate, get_engine
from models.db import session_scope
from models.intake import PolledItem
from tests.fake_zalo_webhook import FakeZaloWebhook
from tests.intake_helpers import client, import_sample, use_intake

SENT_AT = at_local(date(2022, 9, 28), datetime.min.time().replace(hour=8))
NOW = at_local(date(2022, 9, 29), datetime.min.time().replace(hour=9))
PATH = "/api/zalo/webhook"


@pytest.fixture
def zalo(monkeypatch: pytest.MonkeyPatch) -> FakeZaloWebhook:
    fake = FakeZaloWebhook()
    monkeypatch.setenv("DONDOC_ZALO_APP_ID", fake.app_id)
    monkeypatch.setenv("DONDOC_ZALO_OA_SECRET_KEY", fake.oa_secret_key)
    return fake


def _zalo_contact_with_assignment() -> tuple[int, str]:
    """An assignment whose agency has an active Zalo contact, and that contact's user id."""
    with Session(get_engine()) as session:
        aid, address = session.exec(
            select(Assignment.id, AgencyContact.address)
            .join(Agency, Agency.id == Assignment.agency_id)
            .join(AgencyContact, AgencyContact.agency_id == Agency.id)
            .where(AgencyContact.channel == "zalo", AgencyContact.active == True)  # noqa: E712
            .order_by(Assignment.id)
        ).first()
    return aid, address


def _sent_zalo_reminder(aid: int, address: str) -> None:
    """The reminder dondoc sent that user on Zalo (as the outbox records a delivered OA message)."""
    with session_scope() as session:
        assignment = session.get(Assignment, aid)
        contact = session.exec(select(AgencyContact).where(AgencyContact.address == address)).first()
        session.add(
            Notification(
                idempotency_key="zalo-reminder-1",
                plan_key="zalo-reminder-1",
                kind="reminder",
                assignment_id=aid,
                recipient_agency_id=assignment.agency_id,
                contact_id=contact.id,
                channel="zalo",
                address=address,
                payload={},
                state="sent",
                planned_at=SENT_AT,
                next_attempt_at=SENT_AT,
                sent_at=SENT_AT,
                provider_message_id="zalo-oa-msg-1",
            )
        )


def _updates(aid: int) -> list[StatusUpdate]:
    with Session(get_engine()) as session:
        return list(session.exec(select(StatusUpdate).where(StatusUpdate.assignment_id == aid)).all())


def test_zalo_reply_is_recorded_once(db, zalo, monkeypatch) -> None:
    """A signed text from the agency's Zalo contact records progress (source zalo-reply) once, and queues an acknowledgement."""
    use_intake(monkeypatch)
    import_sample()
    aid, user = _zalo_contact_with_assignment()
    _sent_zalo_reminder(aid, user)
    app = client(NOW)
    event = zalo.text_event(
        user, "Dạ đơn vị đang thực hiện, đạt 60% ạ", msg_id="zmsg-1", timestamp_ms=int(NOW.timestamp() * 1000)
    )
    first = zalo.send(app, PATH, event)
    again = zalo.send(app, PATH, event)  # Zalo retries: the same msg_id
    assert first.status_code == 200 and first.json()["state"] == "recorded"
    assert again.status_code == 200 and again.json()["state"] == "duplicate"
    updates = _updates(aid)
    assert [(u.source, u.status, u.percent) for u in updates] == [("zalo-reply", "in_progress", 60)]
    assert updates[0].note == "Dạ đơn vị đang thực hiện, đạt 60% ạ"  # the clerk's words; the msg_id is in the audit
    with Session(get_engine()) as session:
        recorded = session.exec(select(AuditEvent).where(AuditEvent.action == "reply.recorded")).one()
        assert (recorded.details["message_id"], recorded.details["update_ids"]) == ("zmsg-1", [updates[0].id])
        acks = session.exec(select(Notification).where(Notification.kind == "reply_ack")).all()
    assert [(a.channel, a.address) for a in acks] == [("zalo", user)]
    assert "đang thực hiện, đạt 60%" in acks[0].payload["understood"]


@pytest.mark.parametrize("case", ["forged", "stale", "stranger", "unparseable"])
def test_forged_or_unusable_zalo_calls_change_nothing(db, zalo, monkeypatch, case) -> None:
    """A forged or replayed call is refused (403); a stranger's or an unclear text is held; nothing is recorded."""
    use_intake(monkeypatch)
    import_sample()
    aid, user = _zalo_contact_with_assignment()
    _sent_zalo_reminder(aid, user)
    app = client(NOW)
    sender, text, stamp = user, "Đã hoàn thành", int(NOW.timestamp() * 1000)
    if case == "stranger":
        sender = "9999999999999999999"
    elif case == "unparseable":
        text = "Anh ơi cho em hỏi việc này là gì ạ?"
    elif case == "stale":
        stamp -= 13 * 3600 * 1000
    event = zalo.text_event(sender, text, msg_id=f"zmsg-{case}", timestamp_ms=stamp)
    response = zalo.send(app, PATH, event, forged=case == "forged")
    if case in ("forged", "stale"):
        assert response.status_code == 403 and "Từ chối" in response.json()["detail"]
        with Session(get_engine()) as session:
            assert session.exec(select(PolledItem)).all() == []
    else:
        assert response.status_code == 200 and response.json()["state"] == "held"
    assert _updates(aid) == []
    with Session(get_engine()) as session:
        assert session.exec(select(Notification).where(Notification.kind == "reply_ack")).all() == []
        assert session.get(Assignment, aid).status == "assigned"
