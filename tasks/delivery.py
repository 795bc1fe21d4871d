"""Delivery as a Prefect task: the outbox dispatcher, which does its own retrying."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE

from config.settings import get_settings
from models.db import session_scope
from notifications.dispatcher import deliver_due
from notifications.outbox import DeliveryReport


# No Prefect retries here: the outbox retries each message with backoff and jitter (docs/architecture.md, "Sessions, settings and retries").
@task(name="Gửi tin nhắn đến hạn", cache_policy=NONE)
def deliver_outbox(as_of: datetime, directive_id: int | None = None) -> DeliveryReport:
    """Deliver every outbox row due at as_of (optionally only one directive's)."""
    settings = get_settings()
    # The outbox commits each claim and each result on this session itself (crash safety).
    with session_scope() as session:
        return deliver_due(as_of, session=session, settings=settings, directive_id=directive_id)
