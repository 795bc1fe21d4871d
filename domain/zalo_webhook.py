"""Zalo Official Account webhook: verifying a call's signature and reading the user-sends-text event.

What Zalo documents (found with the search tool; the official developers.zalo.me page itself is
not in the stored corpus, these pages restate it):

- https://hainh.me/zalo-api-php-webhook-callback-official-account.html and
  https://tinhoc88.com/zalo-api---php-xu-ly-su-kien-webhook.html ("Các vấn đề khi xây dựng
  Webhook", 1): compare the header ``X-ZEvent-Signature`` with the SHA-256 hash of the
  concatenation, in this order, of (1) the application's ID, (2) the JSON string of the body,
  (3) the ``timestamp`` taken from that JSON, (4) the OA Secret Key of the linked Official
  Account (not the App Secret Key). Zalo retries a call that did not get HTTP 200 within 2 s for
  up to 12 hours. Implementations in public code send and accept the header as ``mac=<hex>``.

      X-ZEvent-Signature: mac=sha256_hex(app_id + raw_body + timestamp + oa_secret_key)

  It is a plain SHA-256 over the concatenation (a keyed hash by construction), not an HMAC.

- The ``user_send_text`` event (https://docs.a4b.vn/xbot/integration-guide/integrates-with-multiple-channels/api-reference/webhook/zalopushtoxbot,
  https://webhook.diennuochp.com.vn/Help/Api/POST-api-ZaloCallback-receiveMessageFromUser)::

      {"app_id": "2553928453557884079", "user_id_by_app": "979122185046046317",
       "event_name": "user_send_text", "timestamp": "1699003881354",
       "sender": {"id": "<the user's id for this OA>"}, "recipient": {"id": "<the OA's id>"},
       "message": {"text": "Chào A4B", "msg_id": "cb31dff1c39642cc1b83"}}

  ``timestamp`` is milliseconds since the epoch, as a string; ``sender.id`` is the id dondoc's
  ``zalo://`` channel sends to, so it is what an agency contact registers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "X-ZEvent-Signature"
TEXT_EVENT = "user_send_text"
MAX_BODY_BYTES = 64 * 1024
# Zalo retries for 12 hours with the original body (and so the original timestamp); older calls are replays.
MAX_AGE = timedelta(hours=12, minutes=5)
MAX_FUTURE = timedelta(minutes=5)


class ZaloWebhookRefused(ValueError):
    """A webhook call that is not from Zalo, or not readable; the message is Vietnamese."""


@dataclass(frozen=True)
class ZaloTextEvent:
    """A user's text message to the Official Account."""

    app_id: str
    oa_id: str
    sender_id: str
    msg_id: str
    text: str
    sent_at: datetime


def zalo_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The header value Zalo sends: "mac=" + sha256 hex of app id, raw body, timestamp and OA secret key."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return f"mac={digest}"


def verify_zalo_call(
    raw_body: bytes,
    signature: str | None,
    *,
    app_id: str,
    oa_secret_key: str,
    now: datetime,
) -> dict[str, Any]:
    """Return the call's JSON once its signature, app id and timestamp check out; refuse anything else."""
    if not app_id or not oa_secret_key:
        raise ZaloWebhookRefused("chưa cấu hình app_id và OA secret key của Zalo")
    if len(raw_body) > MAX_BODY_BYTES:
        raise ZaloWebhookRefused("nội dung gọi webhook quá lớn")
    if not signature:
        raise ZaloWebhookRefused(f"thiếu chữ ký {SIGNATURE_HEADER}")
    try:
        payload = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ZaloWebhookRefused("nội dung gọi webhook không phải JSON hợp lệ") from exc
    if not isinstance(payload, dict):
        raise ZaloWebhookRefused("nội dung gọi webhook không phải đối tượng JSON")
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, str | int) or not str(timestamp).isdigit():
        raise ZaloWebhookRefused("thiếu trường timestamp")
    expected = zalo_signature(app_id, raw_body, str(timestamp), oa_secret_key)
    given = signature.strip()
    given = given if given.lower().startswith("mac=") else f"mac={given}"
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise ZaloWebhookRefused("chữ ký webhook Zalo không đúng")
    if str(payload.get("app_id", "")) != app_id:
        raise ZaloWebhookRefused("app_id trong webhook không phải của ứng dụng này")
    sent_at = datetime.fromtimestamp(int(timestamp) / 1000, tz=UTC)
    if sent_at < now - MAX_AGE or sent_at > now + MAX_FUTURE:
        raise ZaloWebhookRefused("thời điểm gọi webhook quá cũ hoặc ở tương lai (có thể là gọi lại trái phép)")
    return payload


def read_text_event(payload: dict[str, Any]) -> ZaloTextEvent | None:
    """The user-sends-text event of a verified call, or None for every other event."""
    if payload.get("event_name") != TEXT_EVENT:
        return None
    sender, recipient, message = payload.get("sender"), payload.get("recipient"), payload.get("message")
    if not (isinstance(sender, dict) and isinstance(recipient, dict) and isinstance(message, dict)):
        raise ZaloWebhookRefused("sự kiện user_send_text thiếu sender, recipient hoặc message")
    sender_id, msg_id, text = sender.get("id"), message.get("msg_id"), message.get("text")
    if not (isinstance(sender_id, str) and sender_id and isinstance(msg_id, str) and msg_id):
        raise ZaloWebhookRefused("sự kiện user_send_text thiếu sender.id hoặc message.msg_id")
    if not isinstance(text, str):
        raise ZaloWebhookRefused("sự kiện user_send_text thiếu message.text")
    return ZaloTextEvent(
        app_id=str(payload.get("app_id", "")),
        oa_id=str(recipient.get("id", "")),
        sender_id=sender_id,
        msg_id=msg_id,
        text=text,
        sent_at=datetime.fromtimestamp(int(str(payload["timestamp"])) / 1000, tz=UTC),
    )
