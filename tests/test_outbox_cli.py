"""`dondoc outbox list|deliver|retry`, the dead-letter artifact, and the mailbox and Zalo channels via the outbox."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import common as cli_common
from cli.outbox import register
from config.settings import get_settings
from models.db import session_scope
from notifications import dead_letters
from notifications.dead_letters import ARTIFACT_KEY, dead_letter_rows, publish_dead_letters
from notifications.zalo_tokens import FileZaloTokenStore, ZaloTokens
from tests.fake_zalo import NOT_FOLLOWER, FakeZalo
from tests.outbox_helpers import MON_0900, add_row, deliver, get_row, use_smtp
from tests.smtp_server import SMTPTestServer

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_real_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own SMTP or Zalo settings must never receive test messages."""
    for name in ("DONDOC_SMTP_URL", "DONDOC_ZALO_APP_ID", "DONDOC_ZALO_OA", "DONDOC_ZALO_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables at 80 columns without a terminal; tests read whole cells."""
    monkeypatch.setattr(cli_common.console, "width", 250)
    monkeypatch.setattr(cli_common.err, "width", 250)


def app() -> typer.Typer:
    """A Typer app with just the outbox commands."""
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """Keep the app a command group."""

    register(root)
    return root


def make_dead(key: str, address: str, smtp: SMTPTestServer) -> int:
    """A row the server refuses for good."""
    row_id = add_row(key, address=address)
    smtp.reply_to_rcpt(address, "550 5.1.1 No such user")
    deliver(MON_0900)
    smtp.reply_to_rcpt(address, None)
    return row_id


def test_deliver_writes_to_the_local_mailbox_by_default(db, isolated_settings: Path) -> None:
    add_row("k1", address="stc@bacgiang.example")
    add_row("k2", address="stc@bacgiang.example", kind="due", payload={"offset": 0})

    result = runner.invoke(app(), ["outbox", "deliver", "--as-of", "2022-09-26T09:00"])

    assert result.exit_code == 0, result.output
    assert "Đã nhận 2 tin: đã gửi 2 (trong đó 1 thư tổng hợp)" in result.output
    [eml] = (isolated_settings / "mailbox").glob("*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "stc@bacgiang.example" and message["From"] == "dondoc@localhost"
    assert message["X-Dondoc-Key"].startswith("digest|email|stc@bacgiang.example|")
    # Two messages about one assignment: one item in the digest, with both headlines.
    body = message.get_body(("plain",)).get_content()
    assert "1. " in body and "Đến hạn hôm nay" in body and "\n2. " not in body


def test_deliver_outside_the_window_holds(db, isolated_settings: Path) -> None:
    add_row("k1", at=MON_0900 + timedelta(hours=12))

    result = runner.invoke(app(), ["outbox", "deliver", "--as-of", "2022-09-26T21:00"])

    assert result.exit_code == 0, result.output
    assert "hoãn đến khung giờ gửi 1" in result.output
    assert not (isolated_settings / "mailbox").exists()


def test_list_dead_then_retry(db, monkeypatch: pytest.MonkeyPatch) -> None:
    with SMTPTestServer() as smtp:
        use_smtp(monkeypatch, smtp.host, smtp.port)
        dead = make_dead("dead-1", "nobody@bacgiang.example", smtp)
        add_row("waiting", address="sct@bacgiang.example", at=MON_0900 + timedelta(days=1))

        listed = runner.invoke(app(), ["outbox", "list", "--state", "dead"])

        assert listed.exit_code == 0, listed.output
        for text in (
            "Hàng đợi gửi tin — không gửi được",
            "Loại tin",
            "Người nhận",
            "Lần gửi tới",
            "Nhắc hạn",
            "Thư điện tử",
            "nobody@bacgiang.example",
            "Không gửi được",
            "550 5.1.1 No such user",
            "1 tin.",
        ):
            assert text in listed.output, text
        assert "sct@bacgiang.example" not in listed.output

        pending = runner.invoke(app(), ["outbox", "list", "--state", "pending"])
        assert "sct@bacgiang.example" in pending.output and "27/09/2022 09:00" in pending.output

        retried = runner.invoke(app(), ["outbox", "retry", str(dead)])
        assert retried.exit_code == 0, retried.output
        assert f"Đã đưa tin {dead} trở lại hàng đợi" in retried.output
        assert get_row(dead).state == "pending"
        assert deliver(MON_0900 + timedelta(hours=1)).sent == 1
        assert [m.message["X-Dondoc-Key"] for m in smtp.messages] == ["dead-1"]

        again = runner.invoke(app(), ["outbox", "retry", str(dead)])
        assert again.exit_code == 1 and "không đưa lại được tin" in again.stderr


def test_list_refuses_an_unknown_state(db) -> None:
    result = runner.invoke(app(), ["outbox", "list", "--state", "lost"])

    assert result.exit_code == 2 and "trạng thái «lost» không có" in result.stderr


def test_dead_letters_table_and_artifact(db, monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[dict[str, object]] = []
    monkeypatch.setattr(dead_letters, "create_table_artifact", lambda **kw: published.append(kw))
    with SMTPTestServer() as smtp:
        use_smtp(monkeypatch, smtp.host, smtp.port)
        dead = make_dead("dead-1", "nobody@bacgiang.example", smtp)
        add_row("ok", address="stc@bacgiang.example")
        deliver(MON_0900)
    hook = add_row("hook", channel="apprise", address="json://127.0.0.1:9/hook?token=s3cr3t-value-123", state="dead")

    with session_scope(read_only=True) as session:
        rows = dead_letter_rows(session=session)

    assert [r["Mã"] for r in rows] == [hook, dead]
    first = rows[1]
    assert first["Loại tin"] == "Nhắc hạn" and first["Kênh"] == "Thư điện tử"
    assert first["Về việc"] == "Mục 2.3 TB 1061-TB/TU" and first["Người nhận"] == "Sở Tài chính"
    assert "550" in first["Lỗi cuối"] and first["Lần thử cuối"] == "26/09/2022 09:00"
    assert "s3cr3t-value-123" not in json.dumps(rows, ensure_ascii=False)

    with session_scope() as session:
        assert publish_dead_letters(session=session) == 2
    [artifact] = published
    assert artifact["key"] == ARTIFACT_KEY == "dondoc-thu-khong-gui-duoc"
    assert artifact["table"] == rows and "2 tin không gửi được" in str(artifact["description"])


@pytest.fixture
def zalo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeZalo:
    """A fake Zalo with a valid stored token; the outbox's Zalo settings point at it."""
    with FakeZalo(app_id="1234567890") as fake:
        token_file = tmp_path / "zalo_tokens.json"
        for name, value in {
            "DONDOC_ZALO_APP_ID": fake.app_id,
            "DONDOC_ZALO_APP_SECRET": fake.app_secret,
            "DONDOC_ZALO_TOKEN_FILE": str(token_file),
            "DONDOC_ZALO_OPENAPI_URL": fake.base_url,
            "DONDOC_ZALO_BUSINESS_URL": fake.base_url,
            "DONDOC_ZALO_OAUTH_URL": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("DONDOC_ZALO_REFRESH_TOKEN", raising=False)
        get_settings.cache_clear()
        access, refresh = fake.issue_tokens()
        FileZaloTokenStore(token_file).update(fake.app_id, lambda _: ZaloTokens(access, refresh, None))
        yield fake


def test_zalo_rows_go_out_as_oa_text_and_digests_fit(db, zalo: FakeZalo) -> None:
    single = add_row("z1", channel="zalo", address="2468013579")
    many = [
        add_row(f"zd{n}", channel="zalo", address="1357924680", payload={"directive_number": f"2.{n}"})
        for n in range(20)
    ]

    report = deliver(MON_0900)

    assert (report.sent, report.digests, report.messages) == (21, 1, 2)
    calls = {c.json["recipient"]["user_id"]: c.json["message"]["text"] for c in zalo.calls("oa")}
    assert calls["2468013579"].startswith("[Nhắc việc] Mục 2.3 Thông báo 1061-TB/TU")
    # Without a link the message says where to send a written report, and asks for no reply.
    assert "báo cáo tiến độ, kết quả thực hiện về Văn phòng Tỉnh ủy" in calls["2468013579"]
    assert "trả lời" not in calls["2468013579"]
    digest = calls["1357924680"]
    assert len(digest) <= 2000 and digest.startswith("[Tổng hợp đôn đốc] 20 việc cần xử lý")
    assert "việc khác" in digest
    assert get_row(single).provider_message_id.startswith("oa-msg-")
    assert {get_row(i).state for i in many} == {"sent"}


def test_zalo_follower_error_is_permanent(db, zalo: FakeZalo) -> None:
    zalo.script("oa", NOT_FOLLOWER)
    row_id = add_row("z1", channel="zalo", address="2468013579")

    report = deliver(MON_0900)

    assert report.dead == 1
    assert "-213" in get_row(row_id).last_error or "not following" in get_row(row_id).last_error


def test_zalo_without_app_id_is_dead_with_a_clear_reason(db) -> None:
    row_id = add_row("z1", channel="zalo", address="2468013579")

    deliver(MON_0900)

    row = get_row(row_id)
    assert row.state == "dead" and "DONDOC_ZALO_APP_ID" in row.last_error


def test_notify_test_sends_on_each_channel_of_the_agency_and_prints_the_result(isolated_settings, monkeypatch) -> None:
    """Every contact of the agency gets a test message; the mailbox (the embedded default) receives the e-mails."""
    from email import message_from_bytes, policy

    from typer.testing import CliRunner

    from cli import common
    from cli.main import app

    monkeypatch.setattr(common.console, "width", 250)
    result = CliRunner().invoke(app, ["notify", "test", "Sở Tài chính"])
    # Sở Tài chính has two e-mail contacts and one Zalo contact; Zalo is not configured here.
    assert "Đã gửi" in result.output and "Chưa cấu hình" in result.output
    assert result.exit_code == 1  # one channel did not work: the command says so in its exit code
    files = sorted((isolated_settings / "mailbox").glob("*.eml"))
    assert len(files) == 2
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("[Thử] Kiểm tra kênh liên lạc") and "Sở Tài chính" in message["Subject"]
