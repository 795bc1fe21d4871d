"""Replies as reports (issue 15): a real reminder through SMTP, the agency's reply through a real Dovecot.

End to end: the −2 working-day reminder of 2.6 goes to Hội Nông dân tỉnh through aiosmtpd; the
clerk's reply (In-Reply-To that reminder's Message-ID) is appended to Dovecot; the next poll records
the completion with its document number, cancels the pending reminders and queues the
acknowledgement, which goes out through SMTP; polling again records nothing. Then every reply that
must not count (stranger, auto-reply, unparseable, digest without item number) is held and
changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, col, select

from domain.planner import at_local
from models import Assignment, AuditEvent, Directive, Notification, StatusUpdate, get_engine
from models.db import session_scope
from models.intake import PolledItem
from tasks.directive_state import load_directive_state
from tasks.outbox_writer import write_outbox
from tasks.planning import plan_follow_up
from tasks.replies import held_replies
from tasks.reply_intake import handle_email, poll_reply_mailbox, publish_held_replies
from tasks.reply_mailbox import MailboxSpec, server_folder
from tasks.rules import load_follow_up_rules
from tests.intake_helpers import PUBLIC_URL, assignment_id, import_sample, use_intake
from tests.outbox_helpers import deliver, use_smtp
from tests.smtp_server import SMTPTestServer

if TYPE_CHECKING:
    from tests.imap_server import ImapAccount

pytest_plugins = ("tests.imap_server",)  # the dovecot and imap_account fixtures

HND_OFFICE = "vanthu@hoinongdan.bacgiang.example"


def local(day: date, hour: int) -> datetime:
    return at_local(day, datetime.min.time().replace(hour=hour))


REMINDER_AT = local(date(2022, 9, 28), 8)  # the −2 working-day reminder of 2.6 (due 30/09)
REPLY_AT = local(date(2022, 9, 29), 9)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> SMTPTestServer:
    with SMTPTestServer() as server:
        use_smtp(monkeypatch, server.host, server.port)
        yield server


def _directive(number: str) -> int:
    with Session(get_engine()) as session:
        return session.exec(select(Directive.id).where(Directive.number == number)).one()


def follow_up(number: str, as_of: datetime, *, send: bool = True) -> None:
    """Read, plan and write the outbox of one directive (as the follow-up flow does), then deliver."""
    state = load_directive_state.fn(_directive(number), as_of)
    with session_scope() as session:
        write_outbox(state, plan_follow_up.fn(state, as_of), as_of, session=session, rules=load_follow_up_rules())
    if send:
        deliver(as_of, directive_id=_directive(number))


def hnd_office_address() -> str:
    """Hội Nông dân tỉnh's office e-mail, as registered in agencies.yaml."""
    from models import Agency, AgencyContact

    with Session(get_engine()) as session:
        return session.exec(
            select(AgencyContact.address)
            .join(Agency, Agency.id == AgencyContact.agency_id)
            .where(Agency.code == "HND_TINH", AgencyContact.channel == "email", AgencyContact.role == "office")
        ).one()


def reminder_message_id(smtp: SMTPTestServer, address: str) -> str:
    """The Message-ID of the reminder the SMTP server received for address."""
    mails = [m for m in smtp.messages if address in m.rcpt_tos]
    assert len(mails) == 1, [m.rcpt_tos for m in smtp.messages]
    return str(mails[0].message["Message-ID"])


def reply_mail(sender: str, in_reply_to: str | None, body: str, **headers: str) -> bytes:
    """A clerk's reply as their mail client would store it."""
    message = EmailMessage()
    message["From"] = f"Văn thư Hội Nông dân <{sender}>"
    message["To"] = "dondoc@tinhuy.bacgiang.example"
    message["Subject"] = headers.pop("Subject", "Re: [Nhắc hạn] Mục 2.6")
    message["Date"] = format_datetime(REPLY_AT)
    message["Message-ID"] = make_msgid(domain="hoinongdan.bacgiang.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def _spec(account: ImapAccount) -> MailboxSpec:
    return MailboxSpec(host=account.host, port=account.port, user=account.user, password=account.password, tls="none")


def _hnd_updates() -> list[StatusUpdate]:
    hnd = assignment_id("HND_TINH", "2.6")
    with Session(get_engine()) as session:
        return list(session.exec(select(StatusUpdate).where(StatusUpdate.assignment_id == hnd)).all())


def _outbox_count() -> int:
    with Session(get_engine()) as session:
        return len(session.exec(select(Notification.id)).all())


QUOTE = "\n\nVào Th 4, 28 thg 9, 2022 lúc 08:00 Văn phòng Tỉnh ủy đã viết:\n> Nhắc hạn: đề nghị hoàn thành trước 30/09/2022\n"


def test_reply_through_dovecot_records_completion_once_and_acknowledges(db, smtp, imap_account, monkeypatch) -> None:
    """Reminder by SMTP → reply in Dovecot → poll records done + document number, cancels, acknowledges; poll again: nothing."""
    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    reminder_id = reminder_message_id(smtp, office)
    follow_up("2.6", local(date(2022, 9, 30), 8), send=False)  # the due-day reminder, still pending
    hnd = assignment_id("HND_TINH", "2.6")
    with Session(get_engine()) as session:
        pending = session.exec(
            select(Notification.id).where(Notification.assignment_id == hnd, Notification.state == "pending")
        ).all()
    assert pending, "the test needs a pending reminder to see it cancelled"
    sent_before = len(smtp.messages)

    body = "Dạ, Hội Nông dân tỉnh đã hoàn thành, văn bản số 245-BC/HND ngày 28/9/2022.\n\nTrân trọng,\nVăn thư" + QUOTE
    raw = reply_mail(office, reminder_id, body)
    imap_account.append(raw)
    rules = load_follow_up_rules()
    first = poll_reply_mailbox("hnd", _spec(imap_account), rules=rules, as_of=REPLY_AT)
    assert [o.state for o in first.outcomes] == ["recorded"]

    updates = _hnd_updates()
    assert [(u.source, u.status, u.document_number, u.percent) for u in updates] == [
        ("email-reply", "done", "245-BC/HND", 100)
    ]
    assert "245-BC/HND" in (updates[0].note or "") and "Trân trọng" not in (updates[0].note or "")
    with Session(get_engine()) as session:
        assert session.get(Assignment, hnd).status == "done"  # type: ignore[union-attr]
        states = {session.get(Notification, i).state for i in pending}  # type: ignore[union-attr]
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.action.in_(["reply.recorded", "assignment.status"]))
        ).all()  # type: ignore[attr-defined]
    assert states == {"cancelled"}
    assert sorted(actions) == ["assignment.status", "reply.recorded"]
    # Leaders read the note in the report: the clerk's words, not a Message-ID; the trace is the audit event.
    assert updates[0].note == "Dạ, Hội Nông dân tỉnh đã hoàn thành, văn bản số 245-BC/HND ngày 28/9/2022."
    with Session(get_engine()) as session:
        recorded = session.exec(select(AuditEvent).where(AuditEvent.action == "reply.recorded")).one()
    assert recorded.details["message_id"] == message_id_of(raw).strip()
    assert recorded.details["update_ids"] == [updates[0].id]

    deliver(REPLY_AT)
    acks = [m for m in smtp.messages[sent_before:] if office in m.rcpt_tos]
    assert len(acks) == 1, [str(m.message["Subject"]) for m in acks]
    ack = acks[0].message
    text = ack.get_body(preferencelist=("plain",)).get_content()
    assert ack["Subject"].startswith("[Đã ghi nhận báo cáo] Mục 2.6")
    assert "đã hoàn thành, văn bản số 245-BC/HND" in text
    assert f"{PUBLIC_URL}/r/v1.{hnd}.HND_TINH." in text  # the link to correct it

    with imap_account.client() as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
        assert client.select_folder(server_folder(client, "dondoc/da-xu-ly"))[b"EXISTS"] == 1
    outbox_before = _outbox_count()
    second = poll_reply_mailbox("hnd", _spec(imap_account), rules=rules, as_of=REPLY_AT)
    assert second.mailbox.read == 0 and second.outcomes == []
    # The same message once more (forwarded by hand, or delivered twice): recorded once.
    again = handle_email(raw, rules=rules, as_of=REPLY_AT)
    assert again.state == "duplicate"
    assert len(_hnd_updates()) == 1 and _outbox_count() == outbox_before


def message_id_of(raw: bytes) -> str:
    from email import message_from_bytes, policy

    return str(message_from_bytes(raw, policy=policy.default)["Message-ID"])


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("stranger", "không phải đầu mối đã đăng ký"),
        ("auto-reply", "trả lời tự động"),
        ("bounce", "thư báo lỗi gửi thư"),
        ("unparseable", "không hiểu nội dung trả lời"),
        ("unmatched", "không khớp với tin nhắc việc nào"),
    ],
)
def test_replies_that_must_not_count_are_held_and_change_nothing(db, smtp, monkeypatch, case, reason) -> None:
    """Each is held with its reason, listed for a coordinator, and writes no update and no message."""
    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    reminder_id = reminder_message_id(smtp, office)
    sender, answers, body, headers = office, reminder_id, "Đã hoàn thành, văn bản số 245-BC/HND.", {}
    if case == "stranger":
        sender = "ai.do@gmail.example"
    elif case == "auto-reply":
        headers = {"Auto_Submitted": "auto-replied", "Subject": "Trả lời tự động: Vắng mặt"}
    elif case == "bounce":
        sender, headers = "MAILER-DAEMON@mx.hoinongdan.bacgiang.example", {"Subject": "Undeliverable: Nhắc hạn"}
    elif case == "unparseable":
        body = "Việc này do cơ quan nào chủ trì ạ?"
    elif case == "unmatched":
        answers = "<khong-phai-cua-dondoc@example>"
    hnd = assignment_id("HND_TINH", "2.6")
    with Session(get_engine()) as session:
        status_before = session.get(Assignment, hnd).status  # type: ignore[union-attr]
    outbox_before = _outbox_count()

    outcome = handle_email(reply_mail(sender, answers, body, **headers), rules=load_follow_up_rules(), as_of=REPLY_AT)

    assert outcome.state == "held" and reason in outcome.reasons[0]
    assert _hnd_updates() == [] and _outbox_count() == outbox_before
    with Session(get_engine()) as session:
        assert session.get(Assignment, hnd).status == status_before  # type: ignore[union-attr]
    with session_scope(read_only=True) as session:
        held = held_replies(session=session)
    assert len(held) == 1 and reason in held[0]["reasons"][0]
    shown: list[str] = []
    assert publish_held_replies(lambda **kw: shown.append(kw["markdown"])) == 1
    assert reason in shown[0]


def _fake_digest(agency_code: str, directives: list[str], message_id: str) -> list[int]:
    """Two sent rows that went out as one digest (one Message-ID) to the agency's office, in digest order."""
    from models import Agency, AgencyContact

    ids = [assignment_id(agency_code, number) for number in directives]
    with session_scope() as session:
        agency = session.exec(select(Agency).where(Agency.code == agency_code)).one()
        contact = session.exec(
            select(AgencyContact).where(AgencyContact.agency_id == agency.id, AgencyContact.channel == "email")
        ).first()
        for n, aid in enumerate(ids):
            session.add(
                Notification(
                    idempotency_key=f"digest-test-{n}",
                    plan_key=f"digest-test-{n}",
                    kind="reminder",
                    assignment_id=aid,
                    recipient_agency_id=agency.id,
                    contact_id=contact.id,  # type: ignore[union-attr]
                    channel="email",
                    address=contact.address,  # type: ignore[union-attr]
                    payload={},
                    state="sent",
                    planned_at=REMINDER_AT,
                    next_attempt_at=REMINDER_AT,
                    sent_at=REMINDER_AT,
                    provider_message_id=message_id,
                )
            )
    return ids


def _agency_with_two_assignments() -> tuple[str, list[str], str]:
    """An agency that has assignments in two directives, and its office e-mail."""
    from models import Agency, AgencyContact

    with Session(get_engine()) as session:
        rows = session.exec(
            select(Agency.code, Directive.number)
            .join(Assignment, Assignment.agency_id == Agency.id)
            .join(Directive, Directive.id == Assignment.directive_id)
            .order_by(col(Agency.code), col(Directive.position))
        ).all()
        by_agency: dict[str, list[str]] = {}
        for code, number in rows:
            by_agency.setdefault(code, []).append(number)
        code = next(c for c, numbers in by_agency.items() if len(numbers) >= 2)
        address = session.exec(
            select(AgencyContact.address)
            .join(Agency, Agency.id == AgencyContact.agency_id)
            .where(Agency.code == code, AgencyContact.channel == "email")
        ).first()
    assert address
    return code, by_agency[code][:2], address


def test_digest_reply_needs_item_numbers(db, monkeypatch) -> None:
    """A reply to a two-item digest without item numbers is held; with "1. …" "2. …" each item is recorded."""
    use_intake(monkeypatch)
    import_sample()
    code, directives, address = _agency_with_two_assignments()
    first, second = _fake_digest(code, directives, "<dondoc.digest-1@tinhuy.bacgiang.example>")
    rules = load_follow_up_rules()
    held = handle_email(
        reply_mail(address, "<dondoc.digest-1@tinhuy.bacgiang.example>", "Đã hoàn thành."), rules=rules, as_of=REPLY_AT
    )
    assert held.state == "held" and "cần ghi số thứ tự việc" in held.reasons[0]
    with Session(get_engine()) as session:
        assert session.exec(select(StatusUpdate)).all() == []
    body = "1. Đã hoàn thành, văn bản số 12-BC/XX\n2. Đang thực hiện, đạt 60%"
    done = handle_email(
        reply_mail(address, "<dondoc.digest-1@tinhuy.bacgiang.example>", body), rules=rules, as_of=REPLY_AT
    )
    assert done.state == "recorded"
    with Session(get_engine()) as session:
        got = {
            (u.assignment_id, u.status, u.percent, u.document_number) for u in session.exec(select(StatusUpdate)).all()
        }
        items = session.exec(select(PolledItem.outcome).where(PolledItem.source == "reply:email")).all()
    assert got == {(first, "done", 100, "12-BC/XX"), (second, "in_progress", 60, None)}
    assert sorted(items) == ["recorded", "rejected"]


def test_cli_reply_file_and_held_list(db, smtp, monkeypatch, tmp_path) -> None:
    """`dondoc intake reply FILE.eml` records a saved reply (once); `dondoc intake held` lists a stranger's, with why."""
    from typer.testing import CliRunner

    from cli.main import app

    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    reminder_id = reminder_message_id(smtp, office)
    saved = tmp_path / "tra-loi.eml"
    saved.write_bytes(reply_mail(office, reminder_id, "Đang thực hiện, đạt 60%."))
    stranger = tmp_path / "nguoi-la.eml"
    stranger.write_bytes(reply_mail("ai.do@gmail.example", reminder_id, "Đã hoàn thành."))

    recorded = CliRunner().invoke(app, ["intake", "reply", str(saved)])
    repeated = CliRunner().invoke(app, ["intake", "reply", str(saved)])
    held = CliRunner().invoke(app, ["intake", "reply", str(stranger)])
    listed = CliRunner().invoke(app, ["intake", "held"])

    assert recorded.exit_code == 0 and "Đã ghi nhận" in recorded.output and "60%" in recorded.output
    assert repeated.exit_code == 0 and "đã được xử lý trước đó" in repeated.output
    assert held.exit_code == 2 and "không phải đầu mối đã đăng ký" in held.output
    assert listed.exit_code == 0 and "ai.do@gmail.example" in listed.output and "1 tin chờ xem xét" in listed.output
    assert [(u.status, u.percent) for u in _hnd_updates()] == [("in_progress", 60)]


def test_extension_request_by_reply_starts_the_review(db, smtp, monkeypatch) -> None:
    """ "Đề nghị gia hạn đến … vì …" starts the existing review flow (one pending request) and is acknowledged."""
    from models import ExtensionRequest

    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    started: list[dict] = []

    def start_review(parameters: dict) -> tuple[str, str]:
        started.append(parameters)
        return "run-1", "xet-gia-han-1"

    body = "Hội Nông dân tỉnh đề nghị gia hạn đến 14/10/2022 vì chờ ý kiến của Sở Tài chính về kinh phí."
    outcome = handle_email(
        reply_mail(office, reminder_message_id(smtp, office), body),
        rules=load_follow_up_rules(),
        start_review=start_review,
        as_of=REPLY_AT,
    )
    hnd = assignment_id("HND_TINH", "2.6")
    assert outcome.state == "recorded" and [t.assignment_id for t in outcome.extensions] == [hnd]
    assert (
        started
        == [
            {
                "assignment_id": hnd,
                "until": "2022-10-14",
                "reason": "chờ ý kiến của Sở Tài chính về kinh phí",
                "requested_by": started[0]["requested_by"],
                "request_id": started[0]["request_id"],
            }
        ]
        and office in started[0]["requested_by"]
    )
    with Session(get_engine()) as session:
        pending = session.exec(select(ExtensionRequest).where(ExtensionRequest.assignment_id == hnd)).all()
        ack = session.exec(select(Notification).where(Notification.kind == "reply_ack")).one()
    assert [p.state for p in pending] == ["pending"]
    assert "đề nghị gia hạn đến 14/10/2022" in ack.payload["understood"]
    assert _hnd_updates() == []  # a request changes no status until a coordinator decides


def test_reply_to_a_message_from_the_local_mailbox_channel_matches_by_derived_message_id(db, monkeypatch) -> None:
    """The mailbox channel reports a file name, not the Message-ID: the reply still matches (the id is derived from the key)."""
    from email import message_from_bytes, policy

    from config.settings import get_settings

    use_intake(monkeypatch)
    import_sample()
    follow_up("2.6", REMINDER_AT)
    office = hnd_office_address()
    with Session(get_engine()) as session:
        sent = session.exec(
            select(Notification).where(Notification.address == office, Notification.state == "sent")
        ).first()
    assert sent is not None and sent.channel == "email" and not (sent.provider_message_id or "").startswith("<")
    eml = next((get_settings().home / "mailbox").glob(f"*{sent.provider_message_id}*"))
    message_id = str(message_from_bytes(eml.read_bytes(), policy=policy.default)["Message-ID"])
    outcome = handle_email(
        reply_mail(office, message_id, "Đã hoàn thành, văn bản số 245-BC/HND"),
        rules=load_follow_up_rules(),
        as_of=REPLY_AT,
    )
    assert outcome.state == "recorded", outcome.reasons
    assert [(u.status, u.document_number) for u in _hnd_updates()] == [("done", "245-BC/HND")]
