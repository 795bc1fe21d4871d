"""Plays Zalo calling dondoc's webhook: builds and sends calls in the documented shape (see domain/zalo_webhook.py).

    zalo = FakeZaloWebhook()
    response = zalo.send_text(client, "/zalo/webhook", sender_id="8421...", text="Đã hoàn thành")

`client` is any httpx-style client (httpx.Client, FastAPI's TestClient). The body is serialised
once and the signature computed over exactly those bytes, as Zalo does. `forged=True` signs with
a wrong secret key; `signature=` overrides the header outright.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from domain.zalo_webhook import SIGNATURE_HEADER, TEXT_EVENT, zalo_signature


@dataclass
class FakeZaloWebhook:
    """Zalo's side of the webhook: an app id, an OA id and the OA secret key it signs with."""

    app_id: str = "2553928453557884079"
    oa_id: str = "3662729599332560487"
    oa_secret_key: str = "oa-secret-KEY-for-tests"
    sent: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def text_event(
        self, sender_id: str, text: str, *, msg_id: str | None = None, timestamp_ms: int | None = None
    ) -> dict[str, Any]:
        """A user_send_text event as Zalo documents it."""
        return {
            "app_id": self.app_id,
            "user_id_by_app": f"app-{sender_id}",
            "event_name": TEXT_EVENT,
            "timestamp": str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)),
            "sender": {"id": sender_id},
            "recipient": {"id": self.oa_id},
            "message": {"text": text, "msg_id": msg_id or f"fakemsg{next(self._ids):06d}"},
        }

    def signed(self, event: dict[str, Any], *, forged: bool = False) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers of a call carrying `event`, signed as Zalo signs it."""
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        key = self.oa_secret_key + ("-forged" if forged else "")
        signature = zalo_signature(self.app_id, body, str(event["timestamp"]), key)
        return body, {"Content-Type": "application/json", SIGNATURE_HEADER: signature}

    def send(
        self, client: Any, path: str, event: dict[str, Any], *, forged: bool = False, signature: str | None = None
    ) -> Any:
        """POST one call to `path` on `client` and return the response."""
        body, headers = self.signed(event, forged=forged)
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        self.sent.append(event)
        return client.post(path, content=body, headers=headers)

    def send_text(
        self, client: Any, path: str, *, sender_id: str, text: str, forged: bool = False, msg_id: str | None = None
    ) -> Any:
        """Send a user_send_text call from `sender_id`."""
        return self.send(client, path, self.text_event(sender_id, text, msg_id=msg_id), forged=forged)
