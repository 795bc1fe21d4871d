"""Zalo OA webhook signature and event reading (domain/zalo_webhook.py), fed by the fake Zalo webhook sender."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from domain.zalo_webhook import SIGNATURE_HEADER, ZaloWebhookRefused, read_text_event, verify_zalo_call, zalo_signature
from tests.fake_zalo_webhook import FakeZaloWebhook

NOW = datetime(2022, 9, 20, 8, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def _verify(zalo: FakeZaloWebhook, body: bytes, signature: str | None, *, now: datetime = NOW) -> dict:
    return verify_zalo_call(body, signature, app_id=zalo.app_id, oa_secret_key=zalo.oa_secret_key, now=now)


def test_signature_is_sha256_of_app_id_body_timestamp_secret() -> None:
    """The documented formula, checked against hashlib directly on a known input."""
    import hashlib

    body = b'{"timestamp":"1699003881354"}'
    expected = hashlib.sha256(b"123" + body + b"1699003881354" + b"key").hexdigest()
    assert zalo_signature("123", body, "1699003881354", "key") == f"mac={expected}"


def test_genuine_text_event_is_read() -> None:
    """A call signed with the OA secret key verifies and reads into sender, message id and text."""
    zalo = FakeZaloWebhook()
    event = zalo.text_event("8421000000000000001", "Đã hoàn thành, CV 112/ĐPTTH", msg_id="m1", timestamp_ms=NOW_MS)
    body, headers = zalo.signed(event)
    payload = _verify(zalo, body, headers[SIGNATURE_HEADER])
    text = read_text_event(payload)
    assert text is not None
    assert (text.sender_id, text.msg_id, text.text, text.oa_id) == (
        "8421000000000000001",
        "m1",
        "Đã hoàn thành, CV 112/ĐPTTH",
        zalo.oa_id,
    )
    assert text.sent_at == NOW
    # The bare hex (without "mac=") is accepted too.
    assert _verify(zalo, body, headers[SIGNATURE_HEADER].removeprefix("mac="))["event_name"] == "user_send_text"


@pytest.mark.parametrize(
    "tamper",
    ["forged-key", "missing", "body-changed", "other-app", "too-old", "future", "not-json"],
)
def test_forged_or_stale_calls_are_refused(tamper: str) -> None:
    """Wrong key, no signature, a changed body, another app, a replay past Zalo's retry window: all refused."""
    zalo = FakeZaloWebhook()
    event = zalo.text_event("8421", "Đã hoàn thành", timestamp_ms=NOW_MS)
    body, headers = zalo.signed(event, forged=tamper == "forged-key")
    signature: str | None = headers[SIGNATURE_HEADER]
    now = NOW
    if tamper == "missing":
        signature = None
    elif tamper == "body-changed":
        body = body.replace("Đã hoàn thành".encode(), "Đang thực hiện".encode())
    elif tamper == "other-app":
        other = FakeZaloWebhook(app_id="999", oa_secret_key=zalo.oa_secret_key)
        body, headers = other.signed(other.text_event("8421", "x", timestamp_ms=NOW_MS))
        signature = headers[SIGNATURE_HEADER]
    elif tamper == "too-old":
        now = NOW + timedelta(hours=13)
    elif tamper == "future":
        now = NOW - timedelta(hours=1)
    elif tamper == "not-json":
        body = b"not json"
    with pytest.raises(ZaloWebhookRefused) as refused:
        _verify(zalo, body, signature, now=now)
    assert str(refused.value)[0].islower()


def test_other_events_are_not_text() -> None:
    """A follow event verifies but is not a text message."""
    zalo = FakeZaloWebhook()
    event = {"app_id": zalo.app_id, "event_name": "follow", "timestamp": str(NOW_MS), "follower": {"id": "1"}}
    body, headers = zalo.signed(event)
    assert read_text_event(_verify(zalo, body, headers[SIGNATURE_HEADER])) is None


def test_fake_sends_documented_shape() -> None:
    """The fake posts the exact signed bytes with the header, in the documented field layout."""
    zalo = FakeZaloWebhook()

    class Recorder:
        def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
            return path, content, headers

    path, content, headers = zalo.send_text(Recorder(), "/zalo/webhook", sender_id="8421", text="Đã nhận")
    event = json.loads(content)
    assert path == "/zalo/webhook"
    assert set(event) == {"app_id", "user_id_by_app", "event_name", "timestamp", "sender", "recipient", "message"}
    assert event["message"]["text"] == "Đã nhận" and event["sender"] == {"id": "8421"}
    assert headers[SIGNATURE_HEADER] == zalo_signature(zalo.app_id, content, event["timestamp"], zalo.oa_secret_key)
