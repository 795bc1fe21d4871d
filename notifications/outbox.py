"""The outbox dispatcher: claim due rows with a lease, render, send through one Apprise service, record.

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

Retries live here only (Apprise's are off): exponential backoff with jitter, dead after N
attempts, permanent errors dead at once; every attempt is appended to error_history.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, and_, select, tuple_, update
from sqlmodel import Session

from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import Settings
from domain.notification_policy import NotificationPolicy
from domain.workdays import WorkCalendar, local_date
from models import Notification, NotificationState
from models.db import pinned_session
from notifications import outbox_sql as sql
from notifications.channels import delivery_batch, send_message
from notifications.delivery import SendResult, install_log_masking, mask_secrets
from notifications.render import Rendered, RenderError, render_digest, render_message

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
class _Row:
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
class _Outcome:
    """The result of one send, for one or several rows (a digest)."""

    result: SendResult
    rendered: Rendered | None = None
    digest_key: str | None = None
    digest_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def utcnow() -> datetime:
    """The wall clock, aware UTC."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
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


def _is_postgres(session: Session) -> bool:
    """True on PostgreSQL (row locks with SKIP LOCKED); False on SQLite."""
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def _transaction(session: Session) -> Iterator[Connection]:
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


def _history_entry(when: datetime, attempt: int, **fields: Any) -> dict[str, Any]:
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
    if _is_postgres(session):
        statement = statement.with_for_update(skip_locked=True)
    recovered = interrupted = 0
    with _transaction(session) as conn:
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
    with _transaction(session) as conn:
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
) -> list[_Row]:
    """Claim up to limit due rows for owner (state 'sending' with a lease); committed on return."""
    candidates = (
        select(C.id).where(_scope(now, directive_id, kinds, None)).order_by(C.next_attempt_at, C.id).limit(limit)
    )
    if _is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(TABLE)
        .where(C.id.in_(candidates), C.state.in_(WAITING))
        .values(state=SENDING, lease_until=utcnow() + lease, lease_owner=owner)
        .returning(*_CLAIM_COLUMNS)
    )
    with _transaction(session) as conn:
        found = conn.execute(statement).all()
    rows = [
        _Row(
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


def group_rows(rows: Sequence[_Row], policy: NotificationPolicy) -> list[list[_Row]]:
    """Group claimed rows by (channel, address): digest channels get one group per address (chunked)."""
    groups: dict[tuple[str, str], list[_Row]] = {}
    singles: list[list[_Row]] = []
    for row in rows:
        if policy.digest.enabled and row.channel in policy.digest.channels and row.kind not in ("report", "digest"):
            groups.setdefault((row.channel, row.address), []).append(row)
        else:
            singles.append([row])
    out: list[list[_Row]] = []
    size = policy.digest.max_items
    for members in groups.values():
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out + singles


def digest_key(rows: Sequence[_Row]) -> str:
    """A stable key for a digest: the same members give the same key (and e-mail Message-ID)."""
    digest = hashlib.sha256("\n".join(sorted(r.idempotency_key for r in rows)).encode("utf-8")).hexdigest()[:24]
    return f"digest|{rows[0].channel}|{rows[0].address}|{digest}"


# --- the dispatcher ---------------------------------------------------------------------------


class _Dispatcher:
    """Sends one batch of claimed rows; each result is committed with the start of the next group.

    One transaction per message: record the outcome of the message just sent, renew the lease if
    due, and mark the next group in flight (after re-checking it is still ours and still wanted).
    """

    def __init__(
        self,
        session: Session,
        policy: NotificationPolicy,
        calendar: WorkCalendar,
        settings: Settings,
        owner: str,
        clock: Callable[[], datetime],
        report: DeliveryReport,
        groups: list[list[_Row]],
    ) -> None:
        """Keep what every send needs; each step commits on the caller's session."""
        self.session = session
        self.policy = policy
        self.calendar = calendar
        self.settings = settings
        self.owner = owner
        self.clock = clock
        self.report = report
        self.groups = groups
        self.position = 0  # the next group to start
        self.lease = timedelta(seconds=policy.lease_seconds)
        self.lease_until = utcnow() + self.lease
        self.rng = random.Random()
        self.postgres = _is_postgres(session)
        self.conn: Connection  # the connection of the current step's transaction (see _commit)
        bind = session.get_bind()
        # The batch's own connection (deliver_due pins one): its steps run on it directly, without
        # the session's transaction bookkeeping, which cost as much as the SQL of a step on SQLite.
        self.connection = bind if isinstance(bind, Connection) else None
        self.pinned: Connection | None = None  # PostgreSQL: set while one-statement steps are on (_postgres_batch)

    def run(self) -> None:
        """Deliver every group in order, over connections kept open for the whole batch."""
        with delivery_batch(), self._postgres_batch():
            started = self._commit([])
            while started:
                started = self._deliver(started)

    @contextmanager
    def _postgres_batch(self) -> Iterator[None]:
        """On PostgreSQL, keep the batch's connection for one-statement steps; commit without waiting for the WAL flush.

        One commit per message: waiting for each WAL flush cost more than the SMTP send (bench/README.md).
        A dispatcher that dies loses nothing either way (PostgreSQL still writes the commit); only a
        crash of the database server itself can forget the last fraction of a second of results,
        and those rows then go back to the queue (or are marked interrupted) and may be sent again.
        Set once on the batch's own connection (see deliver_due), and reset before it goes back to
        the pool: a connection that cannot be reset is discarded, never reused.
        """
        connection = self.connection
        if not self.postgres or connection is None:
            yield
            return
        with self._step() as conn:
            conn.exec_driver_sql("SET synchronous_commit = off")
        self.pinned = connection
        try:
            yield
        finally:
            self.pinned = None
            try:
                with self._step() as conn:
                    conn.exec_driver_sql("RESET synchronous_commit")
            except Exception:  # the batch's own error, if any, is the one to report
                logger.warning("Could not reset synchronous_commit; the connection is discarded", exc_info=True)
                connection.invalidate()

    @contextmanager
    def _step(self) -> Iterator[Connection]:
        """One committed transaction: on the batch's own connection when it has one, else on the session."""
        if self.connection is None:
            with _transaction(self.session) as conn:
                yield conn
            return
        with self.connection.begin():
            yield self.connection

    def _commit(self, records: list[tuple[list[_Row], _Outcome]], start_next: bool = True) -> list[_Row] | None:
        """One transaction: record outcomes, renew the lease if due, start the next group that still has rows."""
        if (
            self.pinned is not None
            and start_next
            and len(records) == 1
            and len(records[0][0]) == 1
            and self.position < len(self.groups)
            and len(self.groups[self.position]) == 1
            and not self._lease_renewal_due()
        ):
            return self._record_and_start(records[0][0][0], records[0][1], self.pinned)
        with self._step() as conn:
            self.conn = conn
            for rows, outcome in records:
                self._record(rows, outcome)
            self._renew_lease()
            while start_next and self.position < len(self.groups):
                group = self.groups[self.position]
                self.position += 1
                started = self._start(group)
                if started:
                    return started
        return None

    def _record_and_start(self, row: _Row, outcome: _Outcome, connection: Connection) -> list[_Row] | None:
        """PostgreSQL's usual step as ONE autocommit statement: record row's outcome, mark the next row in flight.

        One round trip instead of four (BEGIN, two UPDATEs, COMMIT); the statement is atomic, and
        the two parts need not be (a crash between them would leave the next row claimed but not
        started, which goes back to the queue as it was). Digests and multi-row groups keep the
        transaction path, so all the rows of one message are recorded together.
        """
        following = self.groups[self.position][0]
        when = self.clock()
        values = self._result_values(row, outcome, when, self.policy.retry.delay(row.attempts, self.rng))
        entry = _history_entry(when, following.attempts + 1, in_flight=True)
        params = {
            "owner": self.owner,
            "row_id": row.id,
            "next_id": following.id,
            "next_attempts": following.attempts + 1,
            "next_history": [*following.error_history, entry],
        } | {f"set_{name}": value for name, value in values.items()}
        connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with connection.begin():  # no BEGIN is sent in autocommit; the statement commits itself
                recorded, started = connection.execute(sql.record_and_start(tuple(values)), params).one()
        finally:
            connection.execution_options(isolation_level=connection.default_isolation_level)
        self._count_message(outcome, self._count(row, values, bool(recorded)))
        self.position += 1
        if started:
            following.attempts += 1
            return [following]
        with self._step() as conn:  # closed meanwhile, or no longer ours: as _start does
            self.conn = conn
            self._cancel_or_skip([following], when)
        return self._commit([])

    def _lease_renewal_due(self) -> bool:
        """True once half of the lease has passed."""
        return utcnow() >= self.lease_until - self.lease / 2

    def _renew_lease(self) -> None:
        """Extend the lease on every row this dispatcher still holds once half of it has passed."""
        if not self._lease_renewal_due():
            return
        self.lease_until = utcnow() + self.lease
        self.conn.execute(sql.RENEW, {"owner": self.owner, "lease_until": self.lease_until})

    def _start(self, group: list[_Row]) -> list[_Row]:
        """Mark each row in flight (attempt + 1) if it is still ours and its assignment still open.

        One conditional UPDATE per row in the usual case; only rows it did not match are looked at
        again, to cancel those whose assignment was closed and skip those no longer ours.
        """
        when = self.clock()
        started: list[_Row] = []
        missed: list[_Row] = []
        for row in group:
            entry = _history_entry(when, row.attempts + 1, in_flight=True)
            done = self.conn.execute(
                sql.START,
                {
                    "row_id": row.id,
                    "owner": self.owner,
                    "attempts": row.attempts + 1,
                    "error_history": [*row.error_history, entry],
                },
            )
            if done.rowcount:
                row.attempts += 1
                started.append(row)
            else:
                missed.append(row)
        if missed:
            self._cancel_or_skip(missed, when)
        return started

    def _cancel_or_skip(self, rows: list[_Row], when: datetime) -> None:
        """Cancel rows whose assignment was closed; leave rows another dispatcher or a cancel took."""
        statement = (
            select(C.id, C.state, C.lease_owner, sql.ASSIGNMENT.c.status)
            .select_from(TABLE.outerjoin(sql.ASSIGNMENT, sql.ASSIGNMENT.c.id == C.assignment_id))
            .where(C.id.in_([r.id for r in rows]))
        )
        current = {r.id: r for r in self.conn.execute(statement).all()}
        for row in rows:
            found = current.get(row.id)
            if found is None or found.state != SENDING or found.lease_owner != self.owner:
                logger.warning(
                    "Outbox row %s is no longer ours (state %s); not sent", row.id, found.state if found else "gone"
                )
                continue
            entry = _history_entry(when, row.attempts, ok=None, error=CANCEL_NOTE, retryable=False, cancelled=True)
            done = self.conn.execute(
                update(TABLE)
                .where(C.id == row.id, C.state == SENDING, C.lease_owner == self.owner)
                .values(
                    state=NotificationState.cancelled.value,
                    lease_until=None,
                    lease_owner=None,
                    last_error=CANCEL_NOTE,
                    error_history=[*row.error_history, entry],
                )
            )
            self.report.cancelled += done.rowcount or 0

    def _deliver(self, group: list[_Row]) -> list[_Row] | None:
        """Send a group as one digest (several rows) or one message; return the next group, started."""
        if len(group) > 1:
            try:
                rendered = self._render_digest(group)
            except (RenderError, ChannelError) as exc:
                logger.warning(
                    "Digest for %s could not be rendered (%s); sending its items one by one", group[0].address, exc
                )
                for row in group[:-1]:
                    self._commit([([row], self._send_single(row))], start_next=False)
                return self._commit([([group[-1]], self._send_single(group[-1]))])
            key = digest_key(group)
            return self._commit([(group, _Outcome(self._send(group[0], rendered, key), rendered, key, len(group)))])
        return self._commit([(group, self._send_single(group[0]))])

    def _send_single(self, row: _Row) -> _Outcome:
        """Render and send one row on its own."""
        try:
            rendered = render_message(
                row.kind, row.payload, row.channel, self.policy, local_date(self.clock()), self.calendar
            )
        except RenderError as exc:
            return _Outcome(SendResult.permanent(str(exc)))
        return _Outcome(self._send(row, rendered, row.idempotency_key), rendered)

    def _render_digest(self, group: list[_Row]) -> Rendered:
        """Render the digest of a group, each payload tagged with its row's kind."""
        payloads = [{**r.payload, "kind": r.kind} for r in group]
        return render_digest(payloads, group[0].channel, self.policy, local_date(self.clock()), self.calendar)

    def _send(self, row: _Row, rendered: Rendered, key: str) -> SendResult:
        """Hand one rendered message to its channel; never raises."""
        try:
            url = channel_url(row.channel, row.address, self.settings, self.policy, rendered.template_id)
        except ChannelError as exc:
            return SendResult.permanent(str(exc))
        try:
            return send_message(
                url,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                headers=None,
                attachments=list(rendered.attachments) or None,
                idempotency_key=key,
                template_data=rendered.template_data,
            )
        except Exception as exc:  # noqa: BLE001  # a plugin bug must not stop the batch; retrying may help
            return SendResult.retry_later(f"unexpected error: {type(exc).__name__}: {exc}")

    def _record(self, group: list[_Row], outcome: _Outcome) -> None:
        """Record one outcome on every row of its group (inside the caller's transaction)."""
        when = self.clock()
        delay = self.policy.retry.delay(max(r.attempts for r in group), self.rng)
        counted = 0
        for row in group:
            values = self._result_values(row, outcome, when, delay)
            done = self.conn.execute(sql.RECORD, {"row_id": row.id, "owner": self.owner, **values})
            counted += self._count(row, values, bool(done.rowcount))
        self._count_message(outcome, counted)

    def _result_values(self, row: _Row, outcome: _Outcome, when: datetime, delay: timedelta) -> dict[str, Any]:
        """The columns that record an outcome on one row (always the same keys in the same order per case)."""
        result = outcome.result
        error = mask_secrets(result.error) if result.error else None
        entry = _history_entry(
            when, row.attempts, ok=result.ok, error=error, retryable=None if result.ok else result.retryable
        )
        if result.provider_message_id:
            entry["provider_message_id"] = result.provider_message_id
        if outcome.digest_key:
            entry["digest"] = outcome.digest_key
            entry["note"] = f"Gửi gộp trong một thư tổng hợp {outcome.digest_size} việc"
        values: dict[str, Any] = {
            "lease_until": None,
            "lease_owner": None,
            "last_error": error,
            "error_history": [*row.error_history, entry],
        }
        if outcome.rendered is not None:
            values |= {
                "subject": outcome.rendered.subject,
                "body_text": outcome.rendered.text,
                "body_html": outcome.rendered.html,
            }
        if result.ok:
            values |= {
                "state": NotificationState.sent.value,
                "sent_at": when,
                "provider_message_id": result.provider_message_id,
            }
        elif result.retryable and row.attempts < self.policy.retry.max_attempts:
            values |= {"state": NotificationState.failed.value, "next_attempt_at": when + delay}
        else:
            values |= {"state": NotificationState.dead.value}
        return values

    def _count(self, row: _Row, values: dict[str, Any], recorded: bool) -> int:
        """Count a recorded row in the report (1), or log that another dispatcher took it over (0)."""
        if not recorded:
            logger.warning("Outbox row %s was taken over while sending; its result is not recorded here", row.id)
            return 0
        if values["state"] == NotificationState.sent.value:
            self.report.sent += 1
        elif values["state"] == NotificationState.failed.value:
            self.report.retrying += 1
        else:
            self.report.dead += 1
        return 1

    def _count_message(self, outcome: _Outcome, counted: int) -> None:
        """Count a delivered message (and digest) whose rows were recorded."""
        if outcome.result.ok and counted:
            self.report.messages += 1
            if outcome.digest_key:
                self.report.digests += 1


def deliver_due(
    now: datetime | None = None,
    *,
    session: Session,
    settings: Settings,
    directive_id: int | None = None,
    limit: int = 500,
    worker_id: str | None = None,
) -> DeliveryReport:
    """Deliver every outbox row due at now (default: the wall clock).

    With directive_id, only recipients of that directive's due rows are served, but each of them
    gets all its due rows (of any directive) in one digest. Outside the send window due rows are
    moved to the next opening (`held`), except the configured bypass kinds. Each step commits on
    session (claims before sending, every result right after its send).
    """
    policy = load_notification_policy(settings.config_dir)
    calendar = load_calendar(settings.config_dir)
    wall_start = utcnow()
    start = _aware(now) if now is not None else wall_start
    owner = (worker_id or default_worker_id())[:64]
    report = DeliveryReport()

    def clock() -> datetime:
        """The business clock: start, advancing with the wall clock during this batch."""
        return start + (utcnow() - wall_start)

    report.recovered = recover_expired_leases(start, policy, limit, session=session)
    window = policy.send_window
    kinds: list[str] | None = None
    if not window.is_open(start, calendar):
        report.held = hold_outside_window(
            start, window.next_opening(start, calendar), directive_id, window.bypass_kinds, session=session
        )
        if not window.bypass_kinds:
            return report
        kinds = list(window.bypass_kinds)
    rows = claim(start, owner, timedelta(seconds=policy.lease_seconds), limit, directive_id, kinds, session=session)
    report.claimed = len(rows)
    if rows:
        # The batch's steps run on one connection of their own, kept from its first commit to its last.
        with pinned_session(session) as batch:
            _Dispatcher(batch, policy, calendar, settings, owner, clock, report, group_rows(rows, policy)).run()
        logger.info(
            "Outbox: %d claimed, %d sent (%d digests), %d retrying, %d dead, %d cancelled",
            report.claimed,
            report.sent,
            report.digests,
            report.retrying,
            report.dead,
            report.cancelled,
        )
    return report


def requeue(notification_id: int, now: datetime | None = None, *, session: Session) -> bool:
    """Put a dead, failed or cancelled row back in the queue with a fresh attempt budget (CLI `outbox retry`)."""
    when = _aware(now) if now is not None else utcnow()
    with _transaction(session) as conn:
        row = conn.execute(
            select(C.state, C.attempts, C.error_history, C.next_attempt_at).where(C.id == notification_id)
        ).first()
        if row is None or row.state not in ("dead", "failed", "cancelled"):
            return False
        entry = _history_entry(
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
    "deliver_due",
    "digest_key",
    "group_rows",
    "requeue",
]
