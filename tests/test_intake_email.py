"""Reminders carry a signed link for one assignment, only to its own agency; user text in e-mail stays escaped."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlmodel import Session, select

from config.notifications import load_notification_policy
from config.settings import get_settings
from domain.planner import at_local
from models import Directive, Notification, get_engine
from models.db import session_scope
from notifications.render import render_message
from tasks.directive_state import load_directive_state
from tasks.outbox_writer import record_outbox
from tasks.planning import plan_follow_up
from tasks.status_recording import record_status_update
from tests.intake_helpers import PUBLIC_URL, assignment_id, client, import_sample, use_intake
from tests.outbox_helpers import deliver, use_smtp
from tests.smtp_server import SMTPTestServer

SCRIPT = "<script>alert(1)</script>"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/r/v1\.([0-9]+)\.([A-Z0-9_]+)\.[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}")


def local(day: date, hour: int) -> datetime:
    return at_local(day, datetime.min.time().replace(hour=hour))


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> SMTPTestServer:
    with SMTPTestServer() as server:
        use_smtp(monkeypatch, server.host, server.port)
        yield server


def follow_up(number: str, as_of: datetime) -> None:
    """What the follow-up flow does, without Prefect: read, plan, write the outbox, deliver."""
    with Session(get_engine()) as session:
        directive = session.exec(select(Directive.id).where(Directive.number == number)).one()
    state = load_directive_state.fn(directive, as_of)
    record_outbox.fn(state, plan_follow_up.fn(state, as_of), as_of)
    deliver(as_of, directive_id=directive)


def test_each_agency_gets_the_link_of_its_own_assignment_and_nobody_else_gets_one(db, smtp, monkeypatch) -> None:
    use_intake(monkeypatch)
    import_sample()
    # Tue 11/10/2022: the Q3 report of 2.3 (due 20/09) is overdue, so the ladder reaches supervisors too.
    follow_up("2.3", local(date(2022, 10, 11), 9))
    with Session(get_engine()) as session:
        rows = session.exec(select(Notification).where(Notification.directive_id.is_not(None))).all()  # type: ignore[union-attr]
    assert rows
    for row in rows:
        link = row.payload.get("report_link")
        if row.payload["recipient_role"] in ("assignee", "assignee_head"):
            found = LINK.fullmatch(link or "")
            assert found and (int(found[1]), found[2]) == (row.assignment_id, row.payload["agency_code"])
        else:
            assert link is None  # a supervisor or monitor is told, but cannot report for the agency
    assert any(r.payload["recipient_role"] not in ("assignee", "assignee_head") for r in rows)
    so_ct = assignment_id("SO_CT", "2.3")
    mail = next(m for m in smtp.messages if "vanthu@sct.bacgiang.example" in m.rcpt_tos)  # Sở Công Thương's office
    text = mail.message.get_body(preferencelist=("plain",)).get_content()
    html = mail.message.get_body(preferencelist=("html",)).get_content()
    links = {m.group(0) for m in LINK.finditer(text)}
    assert links and all(f"/r/v1.{so_ct}.SO_CT." in link for link in links)
    assert any(f'href="{link}"' in html for link in links)
    # The follow-up signs each link at its own as_of: an official opening the mail that day is let in,
    # on an intake whose clock is that day (a link "issued in the future" would be refused, issue 12).
    opened = local(date(2022, 10, 11), 10)
    assert client(opened).get(next(iter(links)).removeprefix(PUBLIC_URL)).status_code == 200


def test_without_an_intake_key_reminders_go_out_without_a_link(db, smtp, monkeypatch) -> None:
    use_intake(monkeypatch, secret=None)
    import_sample()
    follow_up("2.6", local(date(2022, 9, 28), 8))
    assert smtp.messages
    with Session(get_engine()) as session:
        payloads = [r.payload for r in session.exec(select(Notification)).all()]
    assert payloads and all(p.get("report_link") is None for p in payloads)
    text = smtp.messages[0].message.get_body(preferencelist=("plain",)).get_content()
    assert "/r/v1." not in text and "Đề nghị gửi văn bản báo cáo tiến độ, kết quả thực hiện" in text


def test_a_script_in_a_note_never_reaches_an_email_as_markup(db, smtp, monkeypatch) -> None:
    use_intake(monkeypatch)
    import_sample()
    hnd = assignment_id("HND_TINH", "2.6")
    with session_scope() as session:
        record_status_update(
            hnd,
            session=session,
            status="in_progress",
            percent=20,
            note=f"Ghi chú {SCRIPT}",
            document_number=f"1/{SCRIPT}",
            reported_by=f"Người {SCRIPT}",
            source="web",
            at=local(date(2022, 9, 26), 9),
        )
    follow_up("2.6", local(date(2022, 9, 28), 8))  # the −2 working-day reminder
    assert smtp.messages
    for received in smtp.messages:
        raw = received.data.decode("utf-8", "replace")
        for part in received.message.walk():
            if part.get_content_maintype() == "text":
                assert "<script" not in part.get_content()
        assert "<script" not in raw


def test_free_text_that_e_mails_do_show_is_escaped_in_html() -> None:
    policy = load_notification_policy(get_settings().config_dir)
    payload = {
        "agency": "Hội Nông dân tỉnh",
        "recipient_agency": "Hội Nông dân tỉnh",
        "directive_number": "2.6",
        "notice_number": "1/TB",
        "due_date": "2022-09-30",
        "decision_note": SCRIPT,
        "approver": SCRIPT,
        "report_link": f'{PUBLIC_URL}/r/x"><script>',
    }
    rendered = render_message("extension_rejected", payload, "email", policy)
    assert "<script" not in (rendered.html or "") and "&lt;script&gt;alert(1)&lt;/script&gt;" in (rendered.html or "")
