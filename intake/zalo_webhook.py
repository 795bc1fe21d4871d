"""The Zalo Official Account webhook: an agency contact answers a reminder in Zalo, dondoc reads it as a report.

POST /api/zalo/webhook receives Zalo's event calls. The signature is checked as Zalo documents it
(domain/zalo_webhook.py: X-ZEvent-Signature = "mac=" + sha256(app id + body + timestamp + OA secret
key)); a forged or stale call gets 403 and changes nothing. A verified user_send_text event is handled
like an e-mail reply (tasks/replies.py): matched to the last message dondoc sent to that Zalo user,
the sender must be a registered Zalo contact of the agency, and what is not understood is held.
Every verified call is answered 200 quickly, since Zalo retries any other answer for 12 hours.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.zalo_webhook import SIGNATURE_HEADER, ZaloWebhookRefused, read_text_event, verify_zalo_call
from intake.deps import IntakeState
from tasks.replies import Reply
from tasks.reply_intake import handle_reply

router = APIRouter(prefix="/api/zalo", tags=["Zalo"], include_in_schema=False)
logger = logging.getLogger("dondoc.intake")


class ZaloWebhookSettings(BaseSettings):
    """The app id and OA secret key the webhook is checked with (DONDOC_ZALO_APP_ID, DONDOC_ZALO_OA_SECRET_KEY)."""

    model_config = SettingsConfigDict(env_prefix="DONDOC_", env_file=".env", extra="ignore")

    zalo_app_id: str | None = Field(default=None)
    zalo_oa_secret_key: SecretStr | None = Field(default=None)


@router.post("/webhook")
async def zalo_webhook(request: Request) -> JSONResponse:
    """Verify one Zalo event call; read a user's text message as a reply to dondoc's last message."""
    state: IntakeState = request.app.state.intake
    settings = ZaloWebhookSettings()
    raw = await request.body()
    secret = settings.zalo_oa_secret_key.get_secret_value() if settings.zalo_oa_secret_key else ""
    try:
        payload = verify_zalo_call(
            raw,
            request.headers.get(SIGNATURE_HEADER),
            app_id=settings.zalo_app_id or "",
            oa_secret_key=secret,
            now=state.clock(),
        )
        event = read_text_event(payload)
    except ZaloWebhookRefused as exc:
        logger.warning("Zalo webhook refused: %s", exc)
        return JSONResponse({"detail": f"Từ chối: {exc}."}, status_code=403)
    if event is None:
        return JSONResponse({"ok": True, "ignored": str(payload.get("event_name", ""))})
    reply = Reply("zalo", event.msg_id, event.sender_id, event.text, state.clock())
    outcome = await run_in_threadpool(
        handle_reply, reply, rules=state.rules, start_review=state.start_review, as_of=state.clock()
    )
    return JSONResponse({"ok": True, "state": outcome.state})
