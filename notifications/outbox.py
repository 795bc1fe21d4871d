"""The outbox queue: claim due rows with a lease, recover expired leases, hold rows outside the send window.

Sending a claimed batch is notifications/dispatcher.py (`deliver_due`).

Crash safety: the claim (state 'sending' with a lease) is committed BEFORE anything is sent.
Just before each send the row is marked in flight (attempts + 1, an `in_flight` history entry),
and right after the send one short transaction records the result (replacing that entry) and
marks the next message in flight. A process killed mid-batch therefore loses at most the message
in flight; its rows stay 'sending' until the lease runs out, and the next run takes them back:
rows never started go back to the queue as they were, the one in flight gets an `interrupted`
history entry (it may have been delivered, so it may arrive twice, and the record says so).

Claims: on PostgreSQL `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`, so
several dispatchers never take the same row; on SQLite the same UPDATE is one atomic statement
(SQLite has one writer at a time). Results are written only while the row is still ours
(state 'sending' and our lease_owner).

Times: `now` is the business clock (injectable for simulations and tests) and drives due times,
the send window, backoff and the recorded times; leases use the wall clock, because they are
about real processes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, and_, select, tuple_, update
from sqlmodel import Session

from config.settings import Settings
from domain.notification_policy import NotificationPolicy
from models import Notification, NotificationState
from notifications.delivery import SendResult, install_log_masking
from notifications.render import Rendered

logger = logging.getLogger(__name__)
install_log_masking(__name__)

TABLE = Notification.__table__  # type: ignore[attr-defined]
C = TABLE.c
WAITING = (NotificationState.pending.value, NotificationState.failed.value)
SENDING = NotificationState.sending.value
CANCEL_NOTE = "Đã hủy: việc đã hoàn thành hoặc được thu hồi"
INTERRUPTED_NOTE = "Lần gửi bị gián đoạn (tiến trình dừng khi đang gửi); tin có thể đã đến người nhận"
_CLAIM_COLUMNS = (
    C.id,
    C.idempotency_key,
    C.kind,
    C.channel,
    C.address,
    C.payload,
    C.attempts,
    C.error_history,
    C.assignment_id,
    C.next_attempt_at,
)


class ChannelError(ValueError):
    """A row's channel cannot be turned into a URL (unknown channel, Zalo not configured)."""


@dataclass
class DeliveryReport:
    """What one deliver_due() call did (rows, except `messages` and `digests`, which count sends)."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    held: int = 0
    digests: int = 0
    cancelled: int = 0
    recovered: int = 0
    messages: int = 0


@dataclass
class ClaimedRow:
    """A claimed outbox row, as plain data."""

    id: int
    idempotency_key: str
    kind: str
    channel: str
    address: str
    payload: dict[str, Any]
    attempts: int
    error_history: list[dict[str, Any]]
    assignment_id: int | None
    next_attempt_at: datetime


@dataclass
class SendOutcome:
    """The result of one send, for one or several rows (a digest)."""

    result: SendResult
    rendered: Rendered | None = None
    digest_key: str | None = None
    digest_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def utcnow() -> datetime:
    """The wall clock, aware UTC."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """Take a naive datetime as UTC; return aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def default_worker_id() -> str:
    """A lease owner id unique to this call: host, process and a random suffix."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- channel URLs -------------------------------------------------------------------------


def _with_recipient(base_url: str, address: str) -> str:
    """Add to=ADDRESS to an Apprise mailto(s) base URL, replacing any to= it had (raw, so +Headers survive)."""
    head, _, query = base_url.partition("?")
    kept = [p for p in query.split("&") if p and not p.lower().startswith("to=")]
    kept.append("to=" + quote(address, safe="@"))
    return f"{head}?{'&'.join(kept)}"


def mailbox_url(address: str, settings: Settings, policy: NotificationPolicy) -> str:
    """The local mailbox folder URL (DONDOC_HOME/mailbox) for one recipient."""
    folder = (settings.home / "mailbox").resolve()
    return f"mailbox://{quote(str(folder), safe='/~')}?to={quote(address, safe='@')}&from={quote(policy.mailbox_from, safe='@')}"


def channel_url(
    channel: str, address: str, settings: Settings, policy: NotificationPolicy, template_id: str | None = None
) -> str:
    """The Apprise URL that delivers one row: e-mail via DONDOC_SMTP_URL or the mailbox, Zalo, ZNS, or as given."""
    if channel == "email":
        return (
            _with_recipient(settings.smtp_url, address) if settings.smtp_url else mailbox_url(address, settings, policy)
        )
    if channel == "mailbox":
        return mailbox_url(address, settings, policy)
    if channel in ("zalo", "zns"):
        if not settings.zalo_app_id:
            raise ChannelError("chưa cấu hình DONDOC_ZALO_APP_ID cho kênh Zalo")
        query = [f"oa={quote(settings.zalo_oa)}"] if settings.zalo_oa else []
        if channel == "zns":
            if not template_id:
                raise ChannelError("thiếu mã mẫu ZNS")
            query.insert(0, f"template={template_id}")
        suffix = f"?{'&'.join(query)}" if query else ""
        return f"{channel}://{quote(settings.zalo_app_id, safe='')}/{quote(address, safe='')}{suffix}"
    if channel == "apprise":
        return address
    raise ChannelError(f"kênh không được hỗ trợ: {channel!r}")


# --- database steps ---------------------------------------------------------------------------


def is_postgres(session: Session) -> bool:
    """True on PostgreSQL (row locks with SKIP LOCKED); False on SQLite."""
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def transaction(session: Session) -> Iterator[Connection]:
    """One committed step on the caller's session: commit when the block ends, roll back if it raises.

    The outbox commits step by step (claim before send, each result right after it), so a crash
    loses at most the message in flight; the caller's session_scope() then finds nothing left to commit.
    """
    try:
        yield session.connection()
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _due(now: datetime) -> Any:
    """Rows waiting for an attempt at or before now."""
    return and_(C.state.in_(WAITING), C.next_attempt_at <= now)


def _scope(now: datetime, directive_id: int | None, kinds: Sequence[str] | None, exclude: Sequence[str] | None) -> Any:
    """Due rows, optionally only to the addresses that one directive's due rows go to (so digests stay whole)."""
    condition = _due(now)
    if kinds is not None:
        condition = and_(condition, C.kind.in_(list(kinds)))
    if exclude:
        condition = and_(condition, C.kind.not_in(list(exclude)))
    if directive_id is not None:
        seeds = select(C.channel, C.address).where(C.directive_id == directive_id, _due(now))
        condition = and_(condition, tuple_(C.channel, C.address).in_(seeds))
    return condition


def history_entry(when: datetime, attempt: int, **fields: Any) -> dict[str, Any]:
    """One error_history entry (times ISO 8601 UTC)."""
    return {"time": when.isoformat(), "attempt": attempt, **fields}


def recover_expired_leases(now: datetime, policy: NotificationPolicy, limit: int, *, session: Session) -> int:
    """Take back rows left 'sending' by a dead dispatcher (lease run out); mark the one in flight interrupted."""
    wall = utcnow()
    statement = (
        select(C.id, C.attempts, C.error_history, C.lease_owner, C.lease_until)
        .where(C.state == SENDING, C.lease_until < wall)
        .order_by(C.id)
        .limit(limit)
    )
    if is_postgres(session):
        statement = statement.with_for_update(skip_locked=True)
    recovered = interrupted = 0
    with transaction(session) as conn:
        for row in conn.execute(statement).all():
            history = list(row.error_history or [])
            values: dict[str, Any] = {"lease_until": None, "lease_owner": None}
            if history and history[-1].get("in_flight"):
                started = history.pop()
                history.append(
                    started
                    | {
                        "in_flight": False,
                        "ok": None,
                        "error": INTERRUPTED_NOTE,
                        "retryable": True,
                        "interrupted": True,
                        "recovered_at": now.isoformat(),
                    }
                )
                dead = row.attempts >= policy.retry.max_attempts
                values |= {
                    "state": NotificationState.dead.value if dead else NotificationState.failed.value,
                    "next_attempt_at": now,
                    "last_error": INTERRUPTED_NOTE,
                    "error_history": history,
                }
            else:  # claimed but never started: back to the queue as it was
                values["state"] = NotificationState.failed.value if row.attempts else NotificationState.pending.value
            owner_match = C.lease_owner.is_(None) if row.lease_owner is None else C.lease_owner == row.lease_owner
            done = conn.execute(
                update(TABLE)
                .where(C.id == row.id, C.state == SENDING, owner_match, C.lease_until == row.lease_until)
                .values(**values)
            )
            recovered += done.rowcount or 0
            interrupted += (done.rowcount or 0) if "error_history" in values else 0
    if recovered:
        logger.warning(
            "Took back %d outbox row(s) from a stopped dispatcher (%d interrupted mid-send)", recovered, interrupted
        )
    return recovered


def hold_outside_window(
    now: datetime, opening: datetime, directive_id: int | None, bypass: Sequence[str], *, session: Session
) -> int:
    """Outside the send window: move due rows (except bypass kinds) to the next opening."""
    with transaction(session) as conn:
        done = conn.execute(
            update(TABLE).where(_scope(now, directive_id, None, bypass)).values(next_attempt_at=opening)
        )
    return done.rowcount or 0


def claim(
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int,
    directive_id: int | None = None,
    kinds: Sequence[str] | None = None,
    *,
    session: Session,
) -> list[ClaimedRow]:
    """Claim up to limit due rows for owner (state 'sending' with a lease); committed on return."""
    candidates = (
        select(C.id).where(_scope(now, directive_id, kinds, None)).order_by(C.next_attempt_at, C.id).limit(limit)
    )
    if is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(TABLE)
        .where(C.id.in_(candidates), C.state.in_(WAITING))
        .values(state=SENDING, lease_until=utcnow() + lease, lease_owner=owner)
        .returning(*_CLAIM_COLUMNS)
    )
    with transaction(session) as conn:
        found = conn.execute(statement).all()
    rows = [
        ClaimedRow(
            r.id,
            r.idempotency_key,
            r.kind,
            r.channel,
            r.address,
            dict(r.payload or {}),
            r.attempts,
            list(r.error_history or []),
            r.assignment_id,
            r.next_attempt_at,
        )
        for r in found
    ]
    return sorted(rows, key=lambda r: (r.next_attempt_at, r.id))


def group_rows(rows: Sequence[ClaimedRow], policy: NotificationPolicy) -> list[list[ClaimedRow]]:
    """Group claimed rows by (channel, address): digest channels get one group per address (chunked)."""
    groups: dict[tuple[str, str], list[ClaimedRow]] = {}
    singles: list[list[ClaimedRow]] = []
    for row in rows:
        if policy.digest.enabled and row.channel in policy.digest.channels and row.kind not in ("report", "digest"):
            groups.setdefault((row.channel, row.address), []).append(row)
        else:
            singles.append([row])
    out: list[list[ClaimedRow]] = []
    size = policy.digest.max_items
    for members in groups.values():
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out + singles


def digest_key(rows: Sequence[ClaimedRow]) -> str:
    """A stable key for a digest: the same members give the same key (and e-mail Message-ID)."""
    digest = hashlib.sha256("\n".join(sorted(r.idempotency_key for r in rows)).encode("utf-8")).hexdigest()[:24]
    return f"digest|{rows[0].channel}|{rows[0].address}|{digest}"


# --- the dispatcher ---------------------------------------------------------------------------


def requeue(notification_id: int, now: datetime | None = None, *, session: Session) -> bool:
    """Put a dead, failed or cancelled row back in the queue with a fresh attempt budget (CLI `outbox retry`)."""
    when = aware(now) if now is not None else utcnow()
    with transaction(session) as conn:
        row = conn.execute(
            select(C.state, C.attempts, C.error_history, C.next_attempt_at).where(C.id == notification_id)
        ).first()
        if row is None or row.state not in ("dead", "failed", "cancelled"):
            return False
        entry = history_entry(
            when, row.attempts, ok=None, error=None, note="Đưa lại vào hàng đợi theo yêu cầu", requeued=True
        )
        done = conn.execute(
            update(TABLE)
            .where(C.id == notification_id, C.state == row.state)
            # Due at once, in real time and in a simulation alike (the row's last schedule is in its past).
            .values(
                state=NotificationState.pending.value,
                next_attempt_at=min(when, row.next_attempt_at),
                attempts=0,
                error_history=[*(row.error_history or []), entry],
            )
        )
    return bool(done.rowcount)


__all__ = [
    "ChannelError",
    "DeliveryReport",
    "channel_url",
    "claim",
    "digest_key",
    "group_rows",
    "requeue",
]
