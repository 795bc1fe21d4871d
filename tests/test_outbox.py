"""The outbox dispatcher against a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session

import notifications.outbox as outbox
from config.settings import get_settings
from models import Assignment, Notification, get_engine
from tests.outbox_helpers import (
    MON_0900,
    add_assignment,
    add_row,
    all_rows,
    deliver,
    get_row,
    received_keys,
    retry,
    use_policy,
    use_smtp,
)
from tests.smtp_server import SMTPTestServer, free_port


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


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A Vietnam wall-clock time (UTC+7, no DST) as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


# --- claiming -------------------------------------------------------------------------------


def test_two_runs_never_send_twice(db, smtp: SMTPTestServer) -> None:
    ids = [add_row(f"k{i}", address=f"a{i}@bacgiang.example") for i in range(3)]

    first = deliver(MON_0900)
    second = deliver(MON_0900 + timedelta(minutes=5))

    assert (first.claimed, first.sent, first.messages) == (3, 3, 3)
    assert (second.claimed, second.sent) == (0, 0)
    assert sorted(received_keys(smtp)) == ["k0", "k1", "k2"]
    for row_id in ids:
        row = get_row(row_id)
        assert row.state == "sent" and row.attempts == 1
        assert row.lease_owner is None and row.lease_until is None


def test_concurrent_dispatchers_share_the_rows_without_doubles(db, smtp: SMTPTestServer) -> None:
    for i in range(12):
        add_row(f"k{i}", address=f"a{i}@bacgiang.example")
    barrier = threading.Barrier(3)
    reports = []

    def run(worker: str) -> None:
        barrier.wait()
        reports.append(deliver(MON_0900, worker_id=worker))

    threads = [threading.Thread(target=run, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(r.sent for r in reports) == 12
    assert sorted(received_keys(smtp)) == sorted(f"k{i}" for i in range(12))
    assert all(r.state == "sent" and r.attempts == 1 for r in all_rows())


def test_row_not_yet_due_is_left_alone(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("later", at=MON_0900 + timedelta(hours=1))

    report = deliver(MON_0900)

    assert report.claimed == 0 and smtp.messages == []
    assert get_row(row_id).state == "pending"


# --- send window ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (local(2022, 9, 24, 9), local(2022, 9, 26, 7, 30)),  # Saturday → Monday morning
        (local(2022, 9, 26, 20), local(2022, 9, 27, 7, 30)),  # Monday 20:00 → Tuesday morning
        (local(2022, 9, 26, 6, 15), local(2022, 9, 26, 7, 30)),  # before opening → same morning
        (local(2022, 9, 26, 17, 0), local(2022, 9, 27, 7, 30)),  # the window closes at 17:00 sharp
        (local(2022, 9, 1, 10), local(2022, 9, 5, 7, 30)),  # 1–2/9/2022 National Day, then the weekend
    ],
)
def test_outside_the_window_is_held_to_the_next_opening(
    db, smtp: SMTPTestServer, moment: datetime, opening: datetime
) -> None:
    row_id = add_row("k", at=moment)

    held = deliver(moment)

    assert (held.held, held.claimed) == (1, 0) and smtp.messages == []
    row = get_row(row_id)
    assert row.state == "pending" and row.next_attempt_at == opening and row.attempts == 0

    sent = deliver(opening + timedelta(minutes=1))

    assert sent.sent == 1 and received_keys(smtp) == ["k"]


def test_bypass_kinds_go_out_at_any_hour(
    db, smtp: SMTPTestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_policy(tmp_path, monkeypatch, send_window={"bypass_kinds": ["escalation"]})
    evening = local(2022, 9, 26, 20)
    urgent = add_row(
        "esc",
        kind="escalation",
        at=evening,
        payload={"level": 2, "recipient_role": "supervisor", "recipient_agency": "UBND tỉnh", "days_overdue": 3},
    )
    routine = add_row("rem", at=evening, address="other@bacgiang.example")

    report = deliver(evening)

    assert (report.held, report.sent) == (1, 1)
    assert received_keys(smtp) == ["esc"]
    assert get_row(urgent).state == "sent"
    assert get_row(routine).state == "pending" and get_row(routine).next_attempt_at == local(2022, 9, 27, 7, 30)


# --- digest ---------------------------------------------------------------------------------


def test_three_rows_to_one_address_become_one_digest(db, smtp: SMTPTestServer) -> None:
    same = "stc@bacgiang.example"
    ids = [
        add_row("r1", kind="reminder", address=same, payload={"directive_number": "2.3"}),
        add_row(
            "r2",
            kind="overdue",
            address=same,
            payload={
                "directive_number": "2.4",
                "days_overdue": 2,
                "category": "overdue",
                "category_label": "Quá hạn 2 ngày làm việc",
            },
        ),
        add_row("r3", kind="due", address=same, payload={"directive_number": "2.5", "offset": 0}),
    ]
    alone = add_row("single", address="sct@bacgiang.example")

    report = deliver(MON_0900)

    assert (report.claimed, report.sent, report.digests, report.messages) == (4, 4, 1, 2)
    by_key = {m.message["X-Dondoc-Key"]: m.message for m in smtp.messages}
    assert set(by_key) - {"single"} and len(by_key) == 2
    [digest_key] = [k for k in by_key if k != "single"]
    assert digest_key.startswith("digest|email|stc@bacgiang.example|")
    digest = by_key[digest_key]
    subject = "[Tổng hợp đôn đốc] 3 việc cần xử lý – Sở Tài chính – ngày 26/09/2022"
    # Spaces compared loosely here: see test_long_vietnamese_subject_keeps_every_space.
    assert digest["Subject"] == subject
    text = digest.get_body(("plain",)).get_content()
    for number in ("Mục 2.3", "Mục 2.4", "Mục 2.5"):
        assert number in text
    assert "1. Nhắc việc" in text and "2. Quá hạn 2 ngày làm việc" in text and "3. Đến hạn hôm nay" in text
    html = digest.get_body(("html",)).get_content()
    assert html.count("<li>") == 3
    rows = [get_row(i) for i in ids]
    assert {r.state for r in rows} == {"sent"}
    assert len({r.provider_message_id for r in rows}) == 1 and rows[0].provider_message_id == digest["Message-ID"]
    for row in rows:
        [entry] = row.error_history
        assert entry["ok"] is True and entry["digest"] == digest_key
        assert "thư tổng hợp 3 việc" in entry["note"]
        assert row.subject == subject
    assert get_row(alone).subject.startswith("[Nhắc việc]")


def test_directive_scope_serves_its_recipients_with_all_their_items(db, smtp: SMTPTestServer) -> None:
    d1, _ = add_assignment("2.3")
    d2, _ = add_assignment("2.4")
    add_row("d1-stc", address="stc@bacgiang.example", directive_id=d1)
    add_row("d2-stc", address="stc@bacgiang.example", directive_id=d2, payload={"directive_number": "2.4"})
    other = add_row("d2-sct", address="sct@bacgiang.example", directive_id=d2)

    report = deliver(MON_0900, directive_id=d1)

    assert (report.sent, report.digests) == (2, 1)
    assert len(smtp.messages) == 1
    assert get_row(other).state == "pending"


# --- retries and dead letters ----------------------------------------------------------------


def test_temporary_error_is_retried_with_backoff_then_sent(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k")
    smtp.reply_to_data("451 4.3.0 Try again later")

    first = deliver(MON_0900)

    assert (first.retrying, first.sent) == (1, 0)
    row = get_row(row_id)
    assert row.state == "failed" and row.attempts == 1 and "451" in row.last_error
    # base 120 s ± 25 % jitter (config/notifications.yaml), counted from the attempt.
    wait = row.next_attempt_at - MON_0900
    assert timedelta(seconds=90) <= wait <= timedelta(seconds=151)
    assert deliver(MON_0900 + timedelta(seconds=60)).claimed == 0

    second = deliver(MON_0900 + timedelta(minutes=3))

    assert second.sent == 1 and received_keys(smtp) == ["k"]
    row = get_row(row_id)
    assert row.state == "sent" and row.attempts == 2
    assert [(e["attempt"], e["ok"], e["retryable"]) for e in row.error_history] == [(1, False, True), (2, True, None)]
    assert "451" in row.error_history[0]["error"]
    assert row.provider_message_id == smtp.messages[0].message["Message-ID"]


def test_permanent_error_is_dead_at_once(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k", address="nobody@bacgiang.example")
    smtp.reply_to_rcpt("nobody@bacgiang.example", "550 5.1.1 No such user")

    report = deliver(MON_0900)

    assert (report.dead, report.retrying) == (1, 0)
    row = get_row(row_id)
    assert row.state == "dead" and row.attempts == 1 and "550" in row.last_error
    assert [(e["ok"], e["retryable"]) for e in row.error_history] == [(False, False)]
    assert deliver(MON_0900 + timedelta(days=1)).claimed == 0


def test_dead_after_max_attempts_with_every_attempt_recorded(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_policy(tmp_path, monkeypatch, retry={"max_attempts": 3})
    use_smtp(monkeypatch, "127.0.0.1", free_port())  # nothing listens there
    row_id = add_row("k")

    reports = [deliver(MON_0900 + timedelta(hours=h)) for h in (0, 1, 2, 3)]

    assert [(r.retrying, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0)]
    row = get_row(row_id)
    assert row.state == "dead" and row.attempts == 3
    assert [e["attempt"] for e in row.error_history] == [1, 2, 3]
    assert all(e["retryable"] and "refused" in e["error"] for e in row.error_history)


def test_requeue_gives_a_dead_row_a_new_chance(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k", address="nobody@bacgiang.example")
    smtp.reply_to_rcpt("nobody@bacgiang.example", "550 5.1.1 No such user")
    deliver(MON_0900)
    smtp.reply_to_rcpt("nobody@bacgiang.example", None)

    assert retry(row_id, MON_0900 + timedelta(hours=1))
    report = deliver(MON_0900 + timedelta(hours=1))

    assert report.sent == 1 and received_keys(smtp) == ["k"]
    row = get_row(row_id)
    assert row.state == "sent" and row.attempts == 1
    assert [e.get("requeued", False) for e in row.error_history] == [False, True, False]
    assert not retry(row_id)  # a sent row is not re-queued


# --- cancellation -----------------------------------------------------------------------------


def test_cancelled_rows_are_not_sent(db, smtp: SMTPTestServer) -> None:
    cancelled = add_row("gone", state="cancelled")
    _, done_assignment = add_assignment("2.3", status="done")
    closed = add_row("closed", assignment_id=done_assignment, address="other@bacgiang.example")

    report = deliver(MON_0900)

    assert smtp.messages == []
    assert report.cancelled == 1 and report.sent == 0
    assert get_row(cancelled).state == "cancelled" and get_row(cancelled).attempts == 0
    row = get_row(closed)
    assert row.state == "cancelled" and row.attempts == 0 and "hoàn thành" in row.last_error


def test_row_cancelled_between_claim_and_send_is_not_sent(
    db, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = add_row("keep", address="a@bacgiang.example")
    drop = add_row("drop", address="b@bacgiang.example")
    real_claim = outbox.claim

    def claim_then_cancel(*args, **kwargs):  # another process cancels one row right after our claim
        rows = real_claim(*args, **kwargs)
        with Session(get_engine()) as session:
            session.exec(update(Notification).where(Notification.id == drop).values(state="cancelled"))  # type: ignore[call-overload]
            session.commit()
        return rows

    monkeypatch.setattr(outbox, "claim", claim_then_cancel)
    report = deliver(MON_0900)

    assert report.claimed == 2 and report.sent == 1
    assert received_keys(smtp) == ["keep"]
    assert get_row(keep).state == "sent" and get_row(drop).state == "cancelled"


def test_assignment_completed_after_claim_cancels_its_row(
    db, smtp: SMTPTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, assignment_id = add_assignment("2.3")
    row_id = add_row("k", assignment_id=assignment_id)
    real_claim = outbox.claim

    def claim_then_complete(*args, **kwargs):
        rows = real_claim(*args, **kwargs)
        with Session(get_engine()) as session:
            session.exec(update(Assignment).where(Assignment.id == assignment_id).values(status="done"))  # type: ignore[call-overload]
            session.commit()
        return rows

    monkeypatch.setattr(outbox, "claim", claim_then_complete)
    report = deliver(MON_0900)

    assert (report.claimed, report.cancelled, report.sent) == (1, 1, 0) and smtp.messages == []
    assert get_row(row_id).state == "cancelled"


# --- crash recovery in process ------------------------------------------------------------------


def test_expired_lease_is_taken_back(db, smtp: SMTPTestServer) -> None:
    started = add_row("in-flight", address="a@bacgiang.example")
    waiting = add_row("never-started", address="b@bacgiang.example")
    past = datetime.now(UTC) - timedelta(minutes=10)
    history = [{"time": MON_0900.isoformat(), "attempt": 1, "in_flight": True}]
    with Session(get_engine()) as session:  # as a dispatcher that died: one row mid-send, one claimed only
        session.exec(
            update(Notification)
            .where(Notification.id == started)
            .values(  # type: ignore[call-overload]
                state="sending", lease_owner="dead-worker", lease_until=past, attempts=1, error_history=history
            )
        )
        session.exec(
            update(Notification)
            .where(Notification.id == waiting)
            .values(  # type: ignore[call-overload]
                state="sending", lease_owner="dead-worker", lease_until=past
            )
        )
        session.commit()

    report = deliver(MON_0900 + timedelta(minutes=5))

    assert (report.recovered, report.sent) == (2, 2)
    assert sorted(received_keys(smtp)) == ["in-flight", "never-started"]
    interrupted = get_row(started)
    assert interrupted.attempts == 2
    assert [(e["attempt"], e.get("interrupted", False), e["ok"]) for e in interrupted.error_history] == [
        (1, True, None),
        (2, False, True),
    ]
    clean = get_row(waiting)
    assert clean.attempts == 1 and [e["ok"] for e in clean.error_history] == [True]


def test_live_lease_is_not_taken(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k")
    with Session(get_engine()) as session:
        session.exec(
            update(Notification)
            .where(Notification.id == row_id)
            .values(  # type: ignore[call-overload]
                state="sending", lease_owner="busy-worker", lease_until=datetime.now(UTC) + timedelta(minutes=5)
            )
        )
        session.commit()

    report = deliver(MON_0900)

    assert (report.recovered, report.claimed) == (0, 0) and smtp.messages == []


# --- e-mail as received -------------------------------------------------------------------------


def test_email_arrives_as_utf8_multipart_with_key_header(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("a12|R|2|2022-09-30|email|stc@bacgiang.example", kind="reminder", payload={"offset": 2})

    deliver(MON_0900)

    [received] = smtp.messages
    message = received.message
    expected_subject = "[Nhắc việc] Mục 2.3 Thông báo 1061-TB/TU: còn 2 ngày làm việc đến hạn 30/09/2022"
    assert message["Subject"] == expected_subject
    raw_subject = received.data.split(b"\r\nSubject: ", 1)[1].split(b"\r\n")[0]
    assert raw_subject.lower().startswith(b"=?utf-8?")
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["X-Dondoc-Key"] == "a12|R|2|2022-09-30|email|stc@bacgiang.example"
    assert received.rcpt_tos == ("stc@bacgiang.example",)
    text = message.get_body(("plain",)).get_content()
    assert "Kính gửi: Sở Tài chính" in text and "thứ Sáu, ngày 30/09/2022" in text
    row = get_row(row_id)
    assert (
        row.subject == expected_subject
        and row.body_text.replace("\r\n", "\n").strip() == text.replace("\r\n", "\n").strip()
    )
    assert row.body_html is not None and "<table" in row.body_html


def test_long_vietnamese_subject_keeps_every_space(db, smtp: SMTPTestServer) -> None:
    same = "stc@bacgiang.example"
    for key in ("r1", "r2", "r3"):
        add_row(key, address=same)

    deliver(MON_0900)

    [received] = smtp.messages
    # Three messages about one assignment count as one item (issue 14: each assignment once).
    assert received.message["Subject"] == "[Tổng hợp đôn đốc] 1 việc cần xử lý – Sở Tài chính – ngày 26/09/2022"


def test_user_text_is_escaped_in_html(db, smtp: SMTPTestServer) -> None:
    evil = "<script>alert('x')</script>"
    add_row(
        "k",
        kind="extension_rejected",
        payload={
            "directive_excerpt": f"Báo cáo {evil}",
            "decision_note": f"Không đủ căn cứ {evil}",
            "requested_until": "2022-10-14",
            "approver": "Văn phòng Tỉnh ủy",
        },
    )

    deliver(MON_0900)

    message = smtp.messages[0].message
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 2
    text = message.get_body(("plain",)).get_content()
    assert f"Lý do: Không đủ căn cứ {evil}" in text  # plain text is not HTML: shown as written


def test_unrenderable_row_is_dead_with_the_reason(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k", kind="nonsense")

    report = deliver(MON_0900)

    assert report.dead == 1 and smtp.messages == []
    assert "không có mẫu tin" in get_row(row_id).last_error


# --- fault: the SMTP server goes down and comes back ------------------------------------------------


def test_smtp_down_then_back_delivers_exactly_once(db, smtp: SMTPTestServer) -> None:
    row_id = add_row("k")
    smtp.stop()

    down_1 = deliver(MON_0900)
    down_2 = deliver(MON_0900 + timedelta(hours=1))
    smtp.start()
    back = deliver(MON_0900 + timedelta(hours=3))
    after = deliver(MON_0900 + timedelta(hours=5))

    assert (down_1.retrying, down_2.retrying, back.sent, after.claimed) == (1, 1, 1, 0)
    assert received_keys(smtp) == ["k"]
    row = get_row(row_id)
    assert row.state == "sent" and row.attempts == 3
    assert [(e["attempt"], e["ok"]) for e in row.error_history] == [(1, False), (2, False), (3, True)]
    assert all("refused" in e["error"] for e in row.error_history[:2])


# --- with the real follow-up's rows ----------------------------------------------------------------


def test_the_follow_ups_rows_render_and_each_address_gets_one_message(
    db, smtp: SMTPTestServer, sample_notice: Path
) -> None:
    from collections import Counter

    from sqlmodel import select

    from models import Directive
    from models.db import session_scope
    from tasks.directive_state import read_directive_state
    from tasks.notice_import import import_notice
    from tasks.outbox_writer import write_outbox
    from tasks.planning import plan_directive
    from tasks.rules import load_follow_up_rules

    import_notice(sample_notice, get_settings().config_dir)
    with Session(get_engine()) as session:
        directive_ids = session.exec(select(Directive.id)).all()
    rules = load_follow_up_rules()
    # The plain functions under the follow-up's task (its logging needs a Prefect run context).
    for directive_id in directive_ids:
        with session_scope() as session:
            state = read_directive_state(directive_id, MON_0900, session=session, rules=rules)
            write_outbox(state, plan_directive(state, MON_0900, rules=rules), MON_0900, session=session, rules=rules)
    rows = all_rows()
    assert rows, "the sample notice should have overdue work on 26/09/2022"

    report = deliver(MON_0900)

    assert report.sent == len(rows) and report.dead == report.retrying == 0
    per_address = Counter(m.rcpt_tos for m in smtp.messages)
    items = Counter((r.address,) for r in all_rows())
    assert per_address == Counter({address: -(-n // 25) for address, n in items.items()})  # 25 items per digest
    for received in smtp.messages:
        message = received.message
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        assert text.startswith("Kính gửi: ") and "Thông báo số TẠM-20220909/TB-TU" in text
        assert "Số ngày quá hạn: " in text and "thứ " in text
