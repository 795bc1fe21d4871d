"""Recording a periodic report once per scope and period, and queueing its delivery in the same transaction."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from domain.planner import at_local
from domain.report_periods import ReportPeriod
from domain.timeliness import Category
from models import Agency, AgencyContact, Notification, NotificationState
from models.reports import ReportRun
from tasks.outbox_writer import insert_outbox_rows
from tasks.reporting.build import Built, ReportConfig, Scope, summary_lines


@dataclass(frozen=True)
class RecordedRun:
    """What was recorded when a period's report was made: its dates, fingerprint and files (plain data)."""

    generated_at: datetime
    send_on: date
    content_hash: str
    files: list[dict[str, Any]]


def find_run(scope: Scope, period: ReportPeriod, *, session: Session) -> RecordedRun | None:
    """The recorded run of a scope and period, if the report was already made."""
    found = (
        session.execute(
            select(ReportRun).where(col(ReportRun.scope) == scope.key, col(ReportRun.period) == period.label)
        )
        .scalars()
        .first()
    )
    if found is None:
        return None
    return RecordedRun(found.generated_at, found.send_on, found.content_hash, list(found.files))


def _contacts(
    codes: list[str], role: str, enabled: frozenset[str], *, session: Session
) -> list[tuple[str, int, AgencyContact]]:
    """(agency code, agency id, contact) to deliver to: the wanted role's contacts, else every enabled contact."""
    ids = {
        row.code: row.id
        for row in session.execute(select(col(Agency.code), col(Agency.id)).where(col(Agency.code).in_(codes)))
    }
    contacts: dict[int, list[AgencyContact]] = defaultdict(list)
    query = (
        select(AgencyContact)
        .where(col(AgencyContact.agency_id).in_(list(ids.values())), col(AgencyContact.active).is_(True))
        .order_by(col(AgencyContact.id))
    )
    for contact in session.execute(query).scalars():
        if contact.channel in enabled:
            contacts[contact.agency_id].append(contact)
    out = []
    for code in codes:
        if code not in ids:
            continue
        every = contacts[ids[code]]
        for contact in [c for c in every if c.role == role] or every:
            out.append((code, ids[code], contact))
    return out


def outbox_rows(
    built: Built, files: list[Path], as_of: datetime, config: ReportConfig, *, session: Session
) -> list[dict[str, Any]]:
    """One outbox row per recipient contact: kind report, the files attached, due on the send date."""
    meta, period = built.meta, built.period
    planned = at_local(meta.send_on, config.send_at)
    single = meta.notices[0] if len(meta.notices) == 1 else None
    base = {
        "kind": "report",
        "notice_number": single.number if single else None,
        "notice_title": single.title if single else None,
        "report_title": meta.title[0].lower() + meta.title[1:],
        "period": period.label,
        "period_vi": period.label_vi,
        "report_period": period.label_vi,
        "as_of": period.cutoff.isoformat(),
        "summary_lines": summary_lines(built),
        "attachments": [str(p) for p in files],
    }
    rows: list[dict[str, Any]] = []
    recipients = _contacts(built.recipients, config.policy.contact_role, config.enabled_channels, session=session)
    for code, agency_id, contact in recipients:
        plan_key = f"report|{built.scope.key}|{period.label}|{code}"
        rows.append(
            {
                "idempotency_key": f"{plan_key}|{contact.channel}|{contact.address}",
                "plan_key": plan_key,
                "kind": "report",
                "notice_id": built.scope.notice_id,
                "recipient_agency_id": agency_id,
                "contact_id": contact.id,
                "channel": contact.channel,
                "address": contact.address,
                "payload": base | {"recipient_agency": built.names.get(code, code), "recipient_agency_code": code},
                "state": NotificationState.pending.value,
                "planned_at": planned,
                "next_attempt_at": max(as_of, planned),
                "attempts": 0,
                "error_history": [],
                "created_at": as_of,
            }
        )
    return rows


def file_records(files: list[Path]) -> list[dict[str, Any]]:
    """Name, absolute path, SHA-256 and size of each file."""
    return [
        {
            "name": p.name,
            "path": str(p.resolve()),
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "bytes": p.stat().st_size,
        }
        for p in files
    ]


def record_and_queue(
    built: Built, files: list[Path], as_of: datetime, config: ReportConfig, *, session: Session
) -> int | None:
    """Record the run and queue its delivery (the caller's transaction); None if this period was already recorded."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    total = built.model.total
    statement = (
        insert(ReportRun)
        .values(
            scope=built.scope.key,
            notice_id=built.scope.notice_id,
            period=built.period.label,
            period_start=built.period.period_start,
            period_end=built.period.period_end,
            data_from=built.period.data_from,
            cutoff=built.period.cutoff,
            send_on=built.meta.send_on,
            data_as_of=built.period.data_as_of,
            generated_at=built.meta.generated_at,
            files=file_records(files),
            content_hash=built.content_hash,
            summary={
                "total": total.total,
                **{c.value: total.count(c) for c in Category},
                "on_time_rate": float(total.on_time_rate) if total.on_time_rate is not None else None,
                "lines": summary_lines(built),
            },
            recipients=0,
            created_at=as_of,
        )
        .on_conflict_do_nothing(index_elements=["scope", "period"])
    )
    if not (session.execute(statement).rowcount or 0):  # type: ignore[attr-defined]  # a DML result has rowcount
        return None
    rows = outbox_rows(built, files, as_of, config, session=session)
    insert_outbox_rows(rows, session=session)
    # Counted, not taken from rowcount: PostgreSQL's driver reports -1 for a multi-row INSERT … ON CONFLICT.
    written = (
        session.execute(
            select(func.count())
            .select_from(Notification)
            .where(col(Notification.idempotency_key).in_([r["idempotency_key"] for r in rows]))
        ).scalar_one()
        if rows
        else 0
    )
    table = ReportRun.__table__  # type: ignore[attr-defined]  # SQLModel sets __table__ on table models
    session.execute(
        table.update()
        .where(table.c.scope == built.scope.key, table.c.period == built.period.label)
        .values(recipients=written)
    )
    return written
