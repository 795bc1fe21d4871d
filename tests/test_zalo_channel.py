"""Zalo OA / ZNS channel against a local fake Zalo that answers in the documented shapes."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notifications.channels import SendResult, describe_url, send_message
from notifications.plugins.zalo import normalize_vn_phone, truncate_text
from notifications.zalo_tokens import FileZaloTokenStore, ZaloTokens
from tests.fake_zalo import (
    BAD_PHONE,
    NO_INTERACTION,
    NOT_FOLLOWER,
    OUT_OF_QUOTA,
    RATE_LIMITED,
    UNKNOWN_ERROR,
    FakeZalo,
)

APP_ID = "1234567890"
USER_ID = "2468013579"


@pytest.fixture
def fake() -> FakeZalo:
    with FakeZalo(app_id=APP_ID) as server:
        yield server


@pytest.fixture
def token_file(fake: FakeZalo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every Zalo base URL and the token store at the fake / tmp_path via the environment."""
    path = tmp_path / "zalo_tokens.json"
    monkeypatch.setenv("DONDOC_ZALO_APP_SECRET", fake.app_secret)
    monkeypatch.setenv("DONDOC_ZALO_TOKEN_FILE", str(path))
    monkeypatch.setenv("DONDOC_ZALO_OPENAPI_URL", fake.base_url)
    monkeypatch.setenv("DONDOC_ZALO_BUSINESS_URL", fake.base_url)
    monkeypatch.setenv("DONDOC_ZALO_OAUTH_URL", fake.base_url)
    monkeypatch.delenv("DONDOC_ZALO_REFRESH_TOKEN", raising=False)
    return path


def seed(path: Path, access: str | None, refresh: str | None, expires_in: timedelta = timedelta(hours=20)) -> None:
    """Write tokens for APP_ID into the store as a previous run would have."""
    tokens = ZaloTokens(access, refresh, datetime.now(UTC) + expires_in)
    FileZaloTokenStore(path).update(APP_ID, lambda _current: tokens)


def stored(path: Path) -> dict[str, str | None]:
    """The raw JSON entry for APP_ID."""
    return json.loads(path.read_text(encoding="utf-8"))[APP_ID]


def send_oa(
    text: str = "Nhắc việc: Sở Tài chính – hạn 23/09/2022", key: str = "k-oa-1", url: str | None = None
) -> SendResult:
    return send_message(
        url or f"zalo://{APP_ID}/{USER_ID}",
        subject="ignored for Zalo",
        text=text,
        html="<p>ignored</p>",
        headers=None,
        attachments=None,
        idempotency_key=key,
    )


def send_zns(phone: str = "0912 345 678", key: str = "assign-7:stc:zns:2022-09-20") -> SendResult:
    return send_message(
        f"zns://{APP_ID}/{phone}?template=231456",
        subject="",
        text="",
        html=None,
        headers=None,
        attachments=None,
        idempotency_key=key,
        template_data={"ten_co_quan": "Sở Tài chính", "han": "23/09/2022"},
    )


# --- success and the documented request shapes ------------------------------------------


def test_oa_success_sends_documented_request(fake: FakeZalo, token_file: Path) -> None:
    access, refresh = fake.issue_tokens()
    seed(token_file, access, refresh)

    result = send_oa()

    assert result.ok and not result.retryable and result.error is None
    assert result.provider_message_id is not None and result.provider_message_id.startswith("oa-msg-")
    [call] = fake.calls("oa")
    assert call.path == "/v3.0/oa/message/cs"
    assert call.headers["access_token"] == access
    assert call.json == {
        "recipient": {"user_id": USER_ID},
        "message": {"text": "Nhắc việc: Sở Tài chính – hạn 23/09/2022"},
    }
    assert fake.calls("oauth") == []


def test_zns_success_tracking_id_is_idempotency_key(fake: FakeZalo, token_file: Path) -> None:
    access, refresh = fake.issue_tokens()
    seed(token_file, access, refresh)

    result = send_zns(key="assign-7:stc:zns:2022-09-20")

    assert result.ok and result.provider_message_id.startswith("zns-msg-")
    [call] = fake.calls("zns")
    assert call.path == "/message/template"
    assert call.headers["access_token"] == access
    assert call.json == {
        "phone": "84912345678",
        "template_id": "231456",
        "template_data": {"ten_co_quan": "Sở Tài chính", "han": "23/09/2022"},
        "tracking_id": "assign-7:stc:zns:2022-09-20",
    }


def test_zns_template_data_may_come_as_json_text(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, *fake.issue_tokens())
    result = send_message(
        f"zns://{APP_ID}/84912345678?template=231456",
        subject="",
        text='{"ma": "1061-TB/TU"}',
        html=None,
        headers=None,
        attachments=None,
        idempotency_key="k-json",
    )
    assert result.ok
    assert fake.calls("zns")[0].json["template_data"] == {"ma": "1061-TB/TU"}


def test_zns_body_that_is_not_json_is_permanent(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, *fake.issue_tokens())
    result = send_message(
        f"zns://{APP_ID}/84912345678?template=231456",
        subject="",
        text="plain words",
        html=None,
        headers=None,
        attachments=None,
        idempotency_key="k-notjson",
    )
    assert not result.ok and not result.retryable
    assert fake.calls("zns") == []


# --- token refresh ---------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["invalid", "expired"])
def test_token_error_refreshes_once_then_succeeds(fake: FakeZalo, token_file: Path, failure: str) -> None:
    access, refresh = fake.issue_tokens()
    if failure == "invalid":
        access = "AT-revoked-by-zalo-0000"  # unknown to the fake → −216
    else:
        fake.expire(access)  # → −220
    seed(token_file, access, refresh)

    result = send_oa()

    assert result.ok
    oa_calls = fake.calls("oa")
    assert len(oa_calls) == 2
    assert oa_calls[0].headers["access_token"] == access
    [oauth] = fake.calls("oauth")
    assert oauth.path == "/v4/oa/access_token"
    assert oauth.headers["secret_key"] == fake.app_secret
    assert oauth.form == {"refresh_token": refresh, "app_id": APP_ID, "grant_type": "refresh_token"}
    entry = stored(token_file)
    new_access = oa_calls[1].headers["access_token"]
    assert new_access != access and entry["access_token"] == new_access
    assert entry["refresh_token"] not in (None, refresh)  # the rotated one is persisted
    assert refresh in fake.used_refresh
    expires = datetime.fromisoformat(entry["expires_at"])
    assert timedelta(hours=24) < expires - datetime.now(UTC) <= timedelta(seconds=90000)


def test_rotated_refresh_token_is_used_next_time_not_the_old_one(fake: FakeZalo, token_file: Path) -> None:
    _, first_refresh = fake.issue_tokens()
    seed(token_file, "AT-revoked-by-zalo-0000", first_refresh)
    assert send_oa(key="k1").ok
    second_refresh = stored(token_file)["refresh_token"]

    fake.expire(stored(token_file)["access_token"])
    assert send_oa(key="k2").ok

    refresh_forms = [c.form["refresh_token"] for c in fake.calls("oauth")]
    assert refresh_forms == [first_refresh, second_refresh]
    assert stored(token_file)["refresh_token"] not in (first_refresh, second_refresh)


def test_token_refreshed_proactively_when_stored_expiry_passed(fake: FakeZalo, token_file: Path) -> None:
    access, refresh = fake.issue_tokens()
    seed(token_file, access, refresh, expires_in=timedelta(minutes=-1))

    assert send_oa().ok

    assert [r.endpoint for r in fake.requests] == ["oauth", "oa"]
    assert fake.calls("oa")[0].headers["access_token"] != access


def test_seed_refresh_token_from_environment_is_used_once(
    fake: FakeZalo, token_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, seed_refresh = fake.issue_tokens()
    monkeypatch.setenv("DONDOC_ZALO_REFRESH_TOKEN", seed_refresh)

    assert send_oa(key="k1").ok  # empty store: refresh with the seed first
    rotated = stored(token_file)["refresh_token"]
    fake.expire(stored(token_file)["access_token"])
    assert send_oa(key="k2").ok  # the seed is still in the environment but already consumed

    assert [c.form["refresh_token"] for c in fake.calls("oauth")] == [seed_refresh, rotated]


def test_rejected_refresh_is_retryable_and_asks_for_reauthorisation(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, "AT-revoked-by-zalo-0000", "RT-already-used-refresh-9999")

    result = send_oa()

    assert not result.ok and result.retryable
    assert "re-authorise" in result.error
    assert len(fake.calls("oa")) == 1 and len(fake.calls("oauth")) == 1


def test_two_concurrent_refreshes_use_the_refresh_token_once(fake: FakeZalo, token_file: Path) -> None:
    _, refresh = fake.issue_tokens()
    seed(token_file, "AT-revoked-by-zalo-0000", refresh)
    fake.oauth_delay = 0.3  # keeps the first refresh in flight while the second thread arrives
    results: list[SendResult] = []
    barrier = threading.Barrier(2)

    def worker(key: str) -> None:
        barrier.wait()
        results.append(send_oa(key=key))

    threads = [threading.Thread(target=worker, args=(f"k{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [r.ok for r in results] == [True, True]
    assert len(fake.calls("oauth")) == 1  # the second thread found fresh tokens under the lock


# --- classification ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        (NOT_FOLLOWER, False),  # −213
        (NO_INTERACTION, False),  # −230
        (RATE_LIMITED, True),  # −32
        (OUT_OF_QUOTA, True),  # −211
        (UNKNOWN_ERROR, True),  # −100
    ],
)
def test_oa_error_classification(fake: FakeZalo, token_file: Path, answer: dict, retryable: bool) -> None:
    seed(token_file, *fake.issue_tokens())
    fake.script("oa", answer)

    result = send_oa()

    assert not result.ok
    assert result.retryable is retryable
    assert f"Zalo error {answer['error']}" in result.error
    assert len(fake.calls("oa")) == 1 and fake.calls("oauth") == []


@pytest.mark.parametrize(("answer", "retryable"), [(BAD_PHONE, False), (RATE_LIMITED, True), (UNKNOWN_ERROR, True)])
def test_zns_error_classification(fake: FakeZalo, token_file: Path, answer: dict, retryable: bool) -> None:
    seed(token_file, *fake.issue_tokens())
    fake.script("zns", answer)

    result = send_zns()

    assert not result.ok and result.retryable is retryable
    assert f"Zalo error {answer['error']}" in result.error


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (429, True), (404, False)])
def test_http_level_failures(fake: FakeZalo, token_file: Path, status: int, retryable: bool) -> None:
    seed(token_file, *fake.issue_tokens())
    fake.script("oa", (status, {"message": "upstream trouble"}))

    result = send_oa()

    assert not result.ok and result.retryable is retryable
    assert f"HTTP {status}" in result.error


def test_zalo_unreachable_is_retryable(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, *fake.issue_tokens())
    fake.stop()

    result = send_oa()

    assert not result.ok and result.retryable


def test_missing_app_secret_is_permanent(fake: FakeZalo, token_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DONDOC_ZALO_APP_SECRET")
    seed(token_file, "AT-revoked-by-zalo-0000", fake.issue_tokens()[1])

    result = send_oa()

    assert not result.ok and not result.retryable
    assert "DONDOC_ZALO_APP_SECRET" in result.error


# --- base URLs through the URL query -------------------------------------------------------


def test_base_urls_from_url_query(fake: FakeZalo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAPI", "BUSINESS", "OAUTH"):
        monkeypatch.delenv(f"DONDOC_ZALO_{name}_URL", raising=False)
    monkeypatch.delenv("DONDOC_ZALO_APP_SECRET", raising=False)
    monkeypatch.setenv("DONDOC_ZALO_TOKEN_FILE", str(tmp_path / "t.json"))
    _, refresh = fake.issue_tokens()
    url = (
        f"zalo://{APP_ID}/{USER_ID}?secret={fake.app_secret}&refresh_token={refresh}"
        f"&openapi={fake.base_url}&oauth={fake.base_url}"
    )

    result = send_oa(url=url)

    assert result.ok
    assert [r.endpoint for r in fake.requests] == ["oauth", "oa"]


@pytest.mark.parametrize("base", ["http://example.com", "ftp://127.0.0.1", "notaurl"])
def test_cleartext_or_odd_base_url_refused(token_file: Path, base: str) -> None:
    result = send_oa(url=f"zalo://{APP_ID}/{USER_ID}?openapi={base}")
    assert not result.ok and not result.retryable
    assert "invalid channel URL" in result.error


# --- phone numbers and text limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912345678", "84912345678"),
        ("0912 345 678", "84912345678"),
        ("091.234.5678", "84912345678"),
        ("+84 912-345-678", "84912345678"),
        ("84 3 8765 4321", "84387654321"),
        ("0084987654321", "84987654321"),
        ("912345678", "84912345678"),  # leading 0 dropped by a spreadsheet
        ("0704123456", "84704123456"),
        ("0201234567", None),  # landline prefix 02x
        ("01234567890", None),  # pre-2018 11-digit mobile
        ("091234567", None),  # too short
        ("09123456789", None),  # too long
        ("0612345678", None),  # 06x is not a mobile prefix
        ("", None),
        ("abc", None),
    ],
)
def test_normalize_vn_phone(raw: str, expected: str | None) -> None:
    assert normalize_vn_phone(raw) == expected


def test_invalid_phone_is_refused_before_any_request(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, *fake.issue_tokens())

    result = send_zns(phone="0201234567")

    assert not result.ok and not result.retryable
    assert fake.requests == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 2000, "a" * 2000),  # at the limit: untouched
        ("a" * 2001, "a" * 1999 + "…"),
        # 'x' + U+0301 has no precomposed form: the mark must stay with its letter or go with it.
        ("a" * 1998 + "x\u0301" + "b" * 10, "a" * 1998 + "…"),
        # NFD Vietnamese composes under NFC first, so nothing is lost or split.
        (unicodedata.normalize("NFD", "ệ" * 1000), "ệ" * 1000),
        ("ệ" * 1999 + "ố" * 5, "ệ" * 1999 + "…"),
        # an emoji ZWJ sequence straddling the cut is dropped whole
        ("a" * 1997 + "👩\u200d💻" + "z" * 5, "a" * 1997 + "…"),
    ],
)
def test_truncate_text(text: str, expected: str) -> None:
    assert truncate_text(text) == expected
    assert len(truncate_text(text)) <= 2000


def test_long_oa_text_is_truncated_on_the_wire(fake: FakeZalo, token_file: Path) -> None:
    seed(token_file, *fake.issue_tokens())
    # 80 × 38 = 3,040 characters; 1,999 = 52 × 38 + 23 keeps "…chính b" (no trailing space to strip).
    text = "Đề nghị Sở Tài chính báo cáo tiến độ. " * 80

    assert send_oa(text=text).ok

    sent = fake.calls("oa")[0].json["message"]["text"]
    assert len(sent) == 2000
    assert sent.endswith("…")
    assert text.startswith(sent[:-1].rstrip())


# --- secrets never leak ------------------------------------------------------------------


def test_tokens_never_in_logs_or_errors(fake: FakeZalo, token_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)  # everything, Apprise's TRACE included
    access, refresh = fake.issue_tokens()
    fake.expire(access)
    seed(token_file, access, refresh)
    fake.script("oa", (200, {"error": -220, "message": "Access token has expired"}), RATE_LIMITED)

    results = [send_oa(key="k1")]  # −220 → refresh → −32
    fake.script(
        "oauth", {"error": -14014, "error_name": "Invalid refresh token", "error_description": f"bad {refresh}"}
    )
    fake.expire(stored(token_file)["access_token"])
    results.append(send_oa(key="k2"))  # −220 → refresh rejected
    url_with_secrets = (
        f"zalo://{APP_ID}/{USER_ID}?secret={fake.app_secret}&refresh_token=RT-in-url-secret-1234"
        f"&openapi={fake.base_url}"
    )
    results.append(send_oa(url=url_with_secrets, key="k3"))
    described = describe_url(url_with_secrets)

    secrets = {fake.app_secret, "RT-in-url-secret-1234", access, refresh}
    secrets |= {c.headers["access_token"] for c in fake.calls("oa")}
    secrets |= {c.form["refresh_token"] for c in fake.calls("oauth")}
    secrets |= set(stored(token_file).values()) - {
        None,
        stored(token_file)["expires_at"],
        stored(token_file)["consumed_seed"],
    }
    assert len(secrets) >= 5
    texts = [caplog.text, described] + [r.error or "" for r in results]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert [r.retryable for r in results] == [True, True, True]
    assert any("Zalo" in record.getMessage() for record in caplog.records)


# --- the token store itself ---------------------------------------------------------------


def test_token_store_writes_atomically_and_privately(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileZaloTokenStore(path)
    store.update("app", lambda _c: ZaloTokens("A1", "R1"))

    assert json.loads(path.read_text())["app"]["refresh_token"] == "R1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert store.load("app") == ZaloTokens("A1", "R1")
    assert store.load("other") is None


def test_token_store_keeps_old_file_when_the_write_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    store = FileZaloTokenStore(path)
    store.update("app", lambda _c: ZaloTokens("A1", "R1"))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.update("app", lambda _c: ZaloTokens("A2", "R2"))

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_token_freshness_uses_stored_expiry() -> None:
    now = datetime(2022, 9, 20, 8, 0, tzinfo=UTC)
    assert ZaloTokens("A", "R", now + timedelta(hours=1)).is_fresh(now)
    assert not ZaloTokens("A", "R", now + timedelta(minutes=4)).is_fresh(now)  # within the 5-minute margin
    assert not ZaloTokens("A", "R", now - timedelta(seconds=1)).is_fresh(now)
    assert not ZaloTokens(None, "R", now + timedelta(hours=1)).is_fresh(now)
    assert ZaloTokens("A", "R", None).is_fresh(now)  # unknown expiry: trust it until Zalo says −220


def test_logging_records_are_masked_for_registered_secrets(caplog: pytest.LogCaptureFixture) -> None:
    from notifications.delivery import register_secret

    caplog.set_level(logging.DEBUG, logger="apprise")
    register_secret("ZZ-registered-secret-42")
    logging.getLogger("apprise").warning("header was %s", "ZZ-registered-secret-42")
    assert "ZZ-registered-secret-42" not in caplog.text
    assert "header was ***" in caplog.text
