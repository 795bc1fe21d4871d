"""Sending one claimed batch: render, send through the channels, record each result at once.

One short transaction per message records the result of the message just sent and marks the next
one in flight, so a dispatcher killed mid-batch loses at most the message in flight (the queue
side, claims and leases, is notifications/outbox.py). A message is rendered and built before it is
handed over, on PostgreSQL while the server runs the step that marks it (notifications/pg_overlap.py);
it is handed over only once that mark is committed. Retries live here only (Apprise's are off):
exponential backoff with jitter, dead after N attempts, permanent errors dead at once; every
attempt is appended to error_history.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update
from sqlmodel import Session

from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import Settings
from domain.notification_policy import NotificationPolicy
from domain.workdays import WorkCalendar, local_date
from models import NotificationState
from models.db import pinned_session
from notifications import outbox
from notifications import outbox_sql as sql
from notifications.channels import PreparedMessage, delivery_batch, prepare_message
from notifications.delivery import SendResult, install_log_masking, mask_secrets
from notifications.outbox import (
    CANCEL_NOTE,
    SENDING,
    TABLE,
    C,
    ChannelError,
    ClaimedRow,
    DeliveryReport,
    SendOutcome,
    aware,
    channel_url,
    default_worker_id,
    digest_key,
    group_rows,
    history_entry,
    hold_outside_window,
    is_postgres,
    recover_expired_leases,
    transaction,
    utcnow,
)
from notifications.pg_overlap import execute_while
from notifications.render import Rendered, RenderError, render_digest, render_message

logger = logging.getLogger(__name__)
install_log_masking(__name__)


@dataclass
class Started:
    """A group marked in flight (committed); a single row's message is already rendered and built."""

    group: list[ClaimedRow]
    send: Callable[[], SendOutcome] | None = None  # hands the built message over; None for a digest group


class BatchDispatcher:
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
        groups: list[list[ClaimedRow]],
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
        self.postgres = is_postgres(session)
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
            while started is not None:
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
            with transaction(self.session) as conn:
                yield conn
            return
        with self.connection.begin():
            yield self.connection

    def _commit(self, records: list[tuple[list[ClaimedRow], SendOutcome]], start_next: bool = True) -> Started | None:
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
        started: list[ClaimedRow] = []
        with self._step() as conn:
            self.conn = conn
            for rows, outcome in records:
                self._record(rows, outcome)
            self._renew_lease()
            while start_next and not started and self.position < len(self.groups):
                group = self.groups[self.position]
                self.position += 1
                started = self._start(group)
        # Built after the commit: the transaction (on SQLite, the write lock) is not held meanwhile.
        return self._started(started) if started else None

    def _started(self, group: list[ClaimedRow]) -> Started:
        """A started group; a single row's message is rendered and built now."""
        return Started(group, self._prepare_single(group[0]) if len(group) == 1 else None)

    def _record_and_start(self, row: ClaimedRow, outcome: SendOutcome, connection: Connection) -> Started | None:
        """PostgreSQL's usual step as ONE autocommit statement: record row's outcome, mark the next row in flight.

        One round trip instead of four (BEGIN, two UPDATEs, COMMIT); the statement is atomic, and
        the two parts need not be (a crash between them would leave the next row claimed but not
        started, which goes back to the queue as it was). While PostgreSQL runs it, the next row's
        message is rendered and built (pg_overlap); it is handed over only once the statement has
        committed and reported the row started, and discarded otherwise. Digests and multi-row
        groups keep the transaction path, so all the rows of one message are recorded together.
        """
        following = self.groups[self.position][0]
        when = self.clock()
        values = self._result_values(row, outcome, when, self.policy.retry.delay(row.attempts, self.rng))
        entry = history_entry(when, following.attempts + 1, in_flight=True)
        params = {
            "owner": self.owner,
            "row_id": row.id,
            "next_id": following.id,
            "next_attempts": following.attempts + 1,
            "next_history": [*following.error_history, entry],
        } | {f"set_{name}": value for name, value in values.items()}
        (recorded, started), send = execute_while(
            connection, sql.record_and_start(tuple(values)), params, lambda: self._prepare_single(following)
        )
        self._count_message(outcome, self._count(row, values, bool(recorded)))
        self.position += 1
        if started:
            following.attempts += 1
            return Started([following], send)
        with self._step() as conn:  # closed meanwhile, or no longer ours: as _start does; its message is dropped
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

    def _start(self, group: list[ClaimedRow]) -> list[ClaimedRow]:
        """Mark each row in flight (attempt + 1) if it is still ours and its assignment still open.

        One conditional UPDATE per row in the usual case; only rows it did not match are looked at
        again, to cancel those whose assignment was closed and skip those no longer ours.
        """
        when = self.clock()
        started: list[ClaimedRow] = []
        missed: list[ClaimedRow] = []
        for row in group:
            entry = history_entry(when, row.attempts + 1, in_flight=True)
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

    def _cancel_or_skip(self, rows: list[ClaimedRow], when: datetime) -> None:
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
            entry = history_entry(when, row.attempts, ok=None, error=CANCEL_NOTE, retryable=False, cancelled=True)
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

    def _deliver(self, started: Started) -> Started | None:
        """Send a started group as one message (built already) or one digest; return the next group, started."""
        group = started.group
        if started.send is not None:
            return self._commit([(group, started.send())])
        try:
            rendered = self._render_digest(group)
        except (RenderError, ChannelError) as exc:
            logger.warning(
                "Digest for %s could not be rendered (%s); sending its items one by one", group[0].address, exc
            )
            for row in group[:-1]:
                self._commit([([row], self._prepare_single(row)())], start_next=False)
            return self._commit([([group[-1]], self._prepare_single(group[-1])())])
        key = digest_key(group)
        result = self._hand_over(self._prepare(group[0], rendered, key))
        return self._commit([(group, SendOutcome(result, rendered, key, len(group)))])

    def _prepare_single(self, row: ClaimedRow) -> Callable[[], SendOutcome]:
        """Render and build one row's message now; the returned call hands it to its channel."""
        try:
            rendered = render_message(
                row.kind, row.payload, row.channel, self.policy, local_date(self.clock()), self.calendar
            )
        except RenderError as exc:
            failed = SendOutcome(SendResult.permanent(str(exc)))
            return lambda: failed
        message = self._prepare(row, rendered, row.idempotency_key)
        return lambda: SendOutcome(self._hand_over(message), rendered)

    def _render_digest(self, group: list[ClaimedRow]) -> Rendered:
        """Render the digest of a group, each payload tagged with its row's kind."""
        payloads = [{**r.payload, "kind": r.kind} for r in group]
        return render_digest(payloads, group[0].channel, self.policy, local_date(self.clock()), self.calendar)

    def _prepare(self, row: ClaimedRow, rendered: Rendered, key: str) -> PreparedMessage:
        """Get one rendered message ready for its channel (an e-mail is built); never raises."""
        try:
            url = channel_url(row.channel, row.address, self.settings, self.policy, rendered.template_id)
        except ChannelError as exc:
            return PreparedMessage.failed(SendResult.permanent(str(exc)), key)
        try:
            return prepare_message(
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
            return PreparedMessage.failed(SendResult.retry_later(f"unexpected error: {type(exc).__name__}: {exc}"), key)

    def _hand_over(self, message: PreparedMessage) -> SendResult:
        """Hand a prepared message to its channel; never raises."""
        try:
            return message.send()
        except Exception as exc:  # noqa: BLE001  # a plugin bug must not stop the batch; retrying may help
            return SendResult.retry_later(f"unexpected error: {type(exc).__name__}: {exc}")

    def _record(self, group: list[ClaimedRow], outcome: SendOutcome) -> None:
        """Record one outcome on every row of its group (inside the caller's transaction)."""
        when = self.clock()
        delay = self.policy.retry.delay(max(r.attempts for r in group), self.rng)
        counted = 0
        for row in group:
            values = self._result_values(row, outcome, when, delay)
            done = self.conn.execute(sql.RECORD, {"row_id": row.id, "owner": self.owner, **values})
            counted += self._count(row, values, bool(done.rowcount))
        self._count_message(outcome, counted)

    def _result_values(self, row: ClaimedRow, outcome: SendOutcome, when: datetime, delay: timedelta) -> dict[str, Any]:
        """The columns that record an outcome on one row (always the same keys in the same order per case)."""
        result = outcome.result
        error = mask_secrets(result.error) if result.error else None
        entry = history_entry(
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

    def _count(self, row: ClaimedRow, values: dict[str, Any], recorded: bool) -> int:
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

    def _count_message(self, outcome: SendOutcome, counted: int) -> None:
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
    start = aware(now) if now is not None else wall_start
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
    rows = outbox.claim(
        start, owner, timedelta(seconds=policy.lease_seconds), limit, directive_id, kinds, session=session
    )
    report.claimed = len(rows)
    if rows:
        # The batch's steps run on one connection of their own, kept from its first commit to its last.
        with pinned_session(session) as batch:
            BatchDispatcher(batch, policy, calendar, settings, owner, clock, report, group_rows(rows, policy)).run()
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


__all__ = ["BatchDispatcher", "deliver_due"]
