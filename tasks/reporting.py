"""Side effects of the periodic report: read the history in bulk, record the run, queue the delivery.

One report covers a scope (one notice, or every notice) and a period. Its figures are taken at the
end of the period's data cut-off day, rebuilt from the append-only history (status updates and
the deadline history), so a report made late, or made again, says what was true at the cut-off.
The bulk read here and the per-directive read of tasks/directive_state.py judge alike (tests check it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from config.agencies import load_agencies
from config.escalation import load_escalation_policy
from config.policy import load_calendar, load_deadline_policy
from config.reporting import MONITORS, ReportingPolicy, load_reporting_policy
from config.settings import get_settings
from domain.deadlines import Recurrence, report_obligations
from domain.planner import at_local
from domain.report_model import (
    AssignmentHistory,
    DeadlineEntry,
    DirectiveInfo,
    Grid,
    ReportModel,
    TrendPoint,
    UpdateEntry,
    build_report,
    categories_at,
    percent_vi,
    report_line,
    signed,
)
from domain.report_periods import ReportPeriod, resolve_periods, send_day, trend_periods
from domain.text import ascii_slug, excerpt
from domain.timeliness import CATEGORY_VI, Category, Obligation, Timeliness
from domain.workdays import format_date_vi, local_date
from models import (
    Agency,
    AgencyContact,
    Assignment,
    DeadlineChange,
    Directive,
    Notice,
    NoticeMonitor,
    Notification,
    NotificationState,
    StatusUpdate,
    get_engine,
)
from models.reports import ReportRun
from tasks.directive_state import OBLIGATION_HORIZON
from tasks.notice_queries import find_notice
from tasks.outbox_writer import insert_outbox_rows
from tasks.report_documents import IssuerHeading, NoticeInfo, ReportMeta

logger = logging.getLogger(__name__)

ALL_SCOPE = "all"
EXCERPT_CHARS = 160


class ReportRefused(ValueError):
    """A report that cannot be made (unknown notice, nothing to report on); the message is in Vietnamese."""


class NothingToReport(ReportRefused):
    """No assignment had been given by the cut-off: there is no report to make for this period."""


@dataclass(frozen=True)
class Scope:
    """What a report covers: one notice, or every notice."""

    key: str  # "notice:<id>" or "all"
    notice_id: int | None
    slug: str  # for file names and artifact keys


@dataclass
class ReportData:
    """Everything a report reads, in plain data (read once, judged at several cut-offs)."""

    notices: dict[int, NoticeInfo]
    directives: dict[int, DirectiveInfo]
    histories: list[tuple[AssignmentHistory, tuple[Obligation, ...]]]
    names: dict[str, str]
    until: datetime


@dataclass
class Built:
    """A computed report: its period, scope, heading data and figures."""

    scope: Scope
    period: ReportPeriod
    meta: ReportMeta
    model: ReportModel
    recipients: list[str]  # agency codes the report is delivered to
    content_hash: str
    names: dict[str, str]  # agency code → the name messages use


# --- what to report on -------------------------------------------------------------------------------


def reporting_policy() -> ReportingPolicy:
    """The configured reporting policy."""
    return load_reporting_policy(get_settings().config_dir)


def resolve(period: str | None, as_of: datetime) -> list[ReportPeriod]:
    """The periods a run reports on (PeriodError, in Vietnamese, for a bad or still open period)."""
    config_dir = get_settings().config_dir
    return resolve_periods(
        period, as_of, list(reporting_policy().frequencies), load_calendar(config_dir), load_deadline_policy(config_dir)
    )


def resolve_scope(notice: str | None) -> Scope:
    """One notice by number (accents and case ignored) or id; every notice when None."""
    if notice is None:
        return Scope(ALL_SCOPE, None, "tat-ca-thong-bao")
    with Session(get_engine()) as session:
        found = find_notice(notice, session=session)
    if found is None:
        raise ReportRefused(f"không tìm thấy thông báo «{notice}». Xem danh sách: dondoc notices list")
    return Scope(f"notice:{found.id}", found.id, ascii_slug(found.number))


def find_run(scope: Scope, period: ReportPeriod) -> ReportRun | None:
    """The recorded run of a scope and period, if the report was already made."""
    with Session(get_engine()) as session:
        return (
            session.execute(
                select(ReportRun).where(ReportRun.scope == scope.key, ReportRun.period == period.label)  # type: ignore[arg-type]
            )
            .scalars()
            .first()
        )


# --- the bulk read -----------------------------------------------------------------------------------


def _obligations(
    recurrence: dict[str, Any] | None,
    due: date | None,
    issued: date,
    until: datetime,
    cache: dict[tuple[str, date], tuple[Obligation, ...]],
) -> tuple[Obligation, ...]:
    """An ongoing directive's report obligations (as tasks.directive_state reads them), cached per rule and notice date."""
    if due is not None or not recurrence:
        return ()
    key = (json.dumps(recurrence, sort_keys=True), issued)
    if key not in cache:
        config_dir = get_settings().config_dir
        found = report_obligations(
            Recurrence.model_validate(recurrence),
            issued,
            local_date(until) + OBLIGATION_HORIZON,
            load_calendar(config_dir),
            load_deadline_policy(config_dir),
        )
        cache[key] = tuple(Obligation(o.period, o.due) for o in found)
    return cache[key]


def read_report_data(scope: Scope, until: datetime) -> ReportData:
    """Read every assignment given by until, with its deadline history and updates up to until, in a few queries."""
    in_scope = select(Directive.id)
    if scope.notice_id is not None:
        in_scope = in_scope.where(Directive.notice_id == scope.notice_id)
    given = select(Assignment.id).where(Assignment.directive_id.in_(in_scope), Assignment.created_at <= until)  # type: ignore[union-attr]
    with get_engine().connect() as conn:
        agencies = conn.execute(
            select(Agency.id, Agency.code, Agency.short_name, Agency.name, Agency.escalates_to_id)
        ).all()
        code = {row.id: row.code for row in agencies}
        names = {row.code: row.short_name or row.name for row in agencies}
        notice_query = select(
            Notice.id, Notice.number, Notice.number_is_placeholder, Notice.issued_on, Notice.title, Notice.issuer_id
        ).order_by(Notice.issued_on, Notice.id)
        if scope.notice_id is not None:
            notice_query = notice_query.where(Notice.id == scope.notice_id)
        notice_rows = conn.execute(notice_query).all()
        monitors: dict[int, list[tuple[str, str]]] = defaultdict(list)
        monitor_query = select(NoticeMonitor.notice_id, NoticeMonitor.agency_id, NoticeMonitor.role).order_by(
            NoticeMonitor.notice_id, NoticeMonitor.role, NoticeMonitor.id
        )
        if scope.notice_id is not None:
            monitor_query = monitor_query.where(NoticeMonitor.notice_id == scope.notice_id)
        for row in conn.execute(monitor_query):
            monitors[row.notice_id].append((code[row.agency_id], row.role))
        directive_rows = conn.execute(
            select(
                Directive.id,
                Directive.notice_id,
                Directive.number,
                Directive.position,
                Directive.text,
                Directive.due_date,
                Directive.recurrence,
            ).where(Directive.id.in_(in_scope))  # type: ignore[union-attr]
        ).all()
        deadlines: dict[int, list[DeadlineEntry]] = defaultdict(list)
        for row in conn.execute(
            select(
                DeadlineChange.assignment_id,
                DeadlineChange.created_at,
                DeadlineChange.kind,
                DeadlineChange.due_date,
                DeadlineChange.reason,
                DeadlineChange.requested_by,
                DeadlineChange.approved_by,
            )
            .where(DeadlineChange.assignment_id.in_(given))  # type: ignore[attr-defined]
            .order_by(DeadlineChange.created_at, DeadlineChange.id)
        ):
            deadlines[row.assignment_id].append(
                DeadlineEntry(row.created_at, row.kind, row.due_date, row.reason, row.requested_by, row.approved_by)
            )
        updates: dict[int, list[UpdateEntry]] = defaultdict(list)
        for row in conn.execute(
            select(
                StatusUpdate.assignment_id,
                StatusUpdate.reported_at,
                StatusUpdate.status,
                StatusUpdate.percent,
                StatusUpdate.document_number,
                StatusUpdate.note,
                StatusUpdate.reported_by,
            )
            .where(StatusUpdate.assignment_id.in_(given), StatusUpdate.reported_at <= until)  # type: ignore[attr-defined]
            .order_by(StatusUpdate.reported_at, StatusUpdate.id)
        ):
            updates[row.assignment_id].append(
                UpdateEntry(row.reported_at, row.status, row.percent, row.document_number, row.note, row.reported_by)
            )
        assignment_rows = conn.execute(
            select(
                Assignment.id,
                Assignment.directive_id,
                Assignment.agency_id,
                Assignment.role,
                Assignment.status,
                Assignment.created_at,
                Assignment.due_date,
                Assignment.withdrawn_at,
            )
            .where(Assignment.id.in_(given))
            .order_by(Assignment.id)  # type: ignore[union-attr]
        ).all()
    supervisor = {row.code: code.get(row.escalates_to_id) if row.escalates_to_id else None for row in agencies}
    notices = {
        row.id: NoticeInfo(
            notice_id=row.id,
            number=row.number,
            placeholder=row.number_is_placeholder,
            issued_on=row.issued_on,
            title=row.title,
            issuer_code=code[row.issuer_id],
            issuer_name=names[code[row.issuer_id]],
            monitors=tuple(c for c, _ in monitors[row.id]),
            lead_monitor=next((c for c, role in monitors[row.id] if role == "lead"), None),
        )
        for row in notice_rows
    }
    order = {notice_id: position for position, notice_id in enumerate(notices)}
    directives: dict[int, DirectiveInfo] = {}
    obligations: dict[int, tuple[Obligation, ...]] = {}
    cache: dict[tuple[str, date], tuple[Obligation, ...]] = {}
    for row in directive_rows:
        info = notices[row.notice_id]
        directives[row.id] = DirectiveInfo(
            row.id,
            row.notice_id,
            info.number,
            row.number,
            (order[row.notice_id], row.position),
            excerpt(row.text, EXCERPT_CHARS),
            row.due_date is None and bool(row.recurrence),
        )
        obligations[row.id] = _obligations(row.recurrence, row.due_date, info.issued_on, until, cache)
    histories = [
        (
            AssignmentHistory(
                assignment_id=row.id,
                directive_id=row.directive_id,
                agency_code=code[row.agency_id],
                role=row.role,
                created_at=row.created_at,
                status=row.status,
                due_date=row.due_date,
                withdrawn_at=row.withdrawn_at,
                deadlines=tuple(deadlines.get(row.id, ())),
                updates=tuple(updates.get(row.id, ())),
                supervisor_code=supervisor[code[row.agency_id]],
            ),
            obligations[row.directive_id],
        )
        for row in assignment_rows
    ]
    return ReportData(notices, directives, histories, names, until)


# --- computing the report ----------------------------------------------------------------------------


def _issuer(notices: list[NoticeInfo], policy: ReportingPolicy) -> str:
    """The body that issues the report: the notices' lead monitor if they share one and it has a heading."""
    leads = {n.lead_monitor for n in notices}
    if len(leads) == 1:
        (lead,) = leads
        if lead in policy.issuers:
            return lead
    return policy.fallback_issuer


def _recipients(
    notices: list[NoticeInfo], policy: ReportingPolicy, known: dict[str, str]
) -> list[tuple[str, str | None]]:
    """Receiving agencies with their "Nơi nhận" notes, monitors expanded, in order, once each."""
    out: dict[str, str | None] = {}
    for spec in policy.recipients:
        codes = [c for n in notices for c in n.monitors] if spec.agency == MONITORS else [spec.agency]
        for code_ in codes:
            if code_ not in known:
                logger.warning("reporting.yaml: recipient %s is not in the agency directory; skipped", code_)
                continue
            out.setdefault(code_, spec.note)
    return list(out.items())


def _title(notices: list[NoticeInfo]) -> str:
    """ "Kết quả thực hiện Thông báo kết luận số … ngày … của …", or of several notices."""
    if len(notices) == 1:
        n = notices[0]
        number = f"{n.number} (số tạm)" if n.placeholder else n.number
        return (
            f"Kết quả thực hiện Thông báo kết luận số {number} ngày {format_date_vi(n.issued_on)} của {n.issuer_name}"
        )
    return f"Kết quả thực hiện {len(notices)} thông báo kết luận"


def content_hash(model: ReportModel, period: ReportPeriod, send_on: date) -> str:
    """A fingerprint of the report's figures: the same data gives the same hash."""
    rows = [
        [
            x.assignment_id,
            x.category.value,
            x.timeliness.days_overdue,
            x.status,
            str(x.current_due),
            x.last_update.at.isoformat() if x.last_update else None,
        ]
        for x in model.lines
    ]
    text = json.dumps({"period": period.label, "send_on": send_on.isoformat(), "lines": rows}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compute(
    scope: Scope,
    period: ReportPeriod,
    as_of: datetime,
    generated_at: datetime | None = None,
    send_on: date | None = None,
    data: ReportData | None = None,
) -> Built:
    """Compute a report: read the history, judge at the cut-off, the previous one and the trend's."""
    settings = get_settings()
    policy = reporting_policy()
    calendar, deadline_policy = load_calendar(settings.config_dir), load_deadline_policy(settings.config_dir)
    data = data or read_report_data(scope, period.data_as_of)
    moment = period.data_as_of
    lines = [
        line
        for history, obligations in data.histories
        if (
            line := report_line(
                history,
                data.directives[history.directive_id],
                data.names[history.agency_code],
                moment,
                calendar,
                obligations,
            )
        )
        is not None
    ]
    if not lines:
        raise NothingToReport(
            f"không có việc nào được giao tính đến hết ngày {format_date_vi(period.cutoff)}; không lập báo cáo {period.label_vi}"
        )
    order = {notice_id: index for index, notice_id in enumerate(data.notices)}
    notices = [data.notices[n] for n in sorted({x.directive.notice_id for x in lines}, key=order.__getitem__)]
    periods = trend_periods(period, policy.trend_periods, calendar, deadline_policy)
    previous = periods[-2]
    trend: list[TrendPoint] = []
    before: dict[int, Timeliness] = {}
    for earlier in periods[:-1]:
        judged = categories_at(data.histories, earlier.data_as_of, calendar)
        if earlier == previous:
            before = judged
        grid = Grid.of(t.category for t in judged.values())
        if grid.total:
            trend.append(TrendPoint(earlier.label, earlier.label_vi, grid))
    model = build_report(
        lines,
        (period.data_from, period.cutoff),
        policy.ranking.points,
        policy.ranking.weights,
        previous=(previous.label_vi, before),
        trend=trend,
    )
    model.trend.append(TrendPoint(period.label, period.label_vi, model.total))
    send_on = send_on or send_day(period, as_of)
    issuer_code = _issuer(notices, policy)
    recipients = _recipients(notices, policy, data.names)
    directory = load_agencies(settings.config_dir)
    meta = ReportMeta(
        scope_key=scope.key,
        slug=scope.slug,
        period=period,
        previous_label_vi=previous.label_vi,
        send_on=send_on,
        generated_at=generated_at or as_of,
        place=policy.place or directory.province,
        issuer=IssuerHeading(**policy.issuers[issuer_code].model_dump()),
        issuer_name=directory.by_code[issuer_code].display_name if issuer_code in directory.by_code else issuer_code,
        title=_title(notices),
        notices=notices,
        recipients_vi=[
            f"{data.names[c]} ({note})" if note else data.names[c] for c, note in recipients if c != issuer_code
        ],
        document_rows=policy.document_rows,
        chart_groups=policy.chart_groups,
    )
    return Built(
        scope, period, meta, model, [c for c, _ in recipients], content_hash(model, period, send_on), data.names
    )


# --- recording and delivery --------------------------------------------------------------------------


def summary_lines(built: Built) -> list[str]:
    """The headline figures, for the e-mail and the run record."""
    model, total = built.model, built.model.total
    parts = ", ".join(
        f"{CATEGORY_VI[c].lower()} {total.count(c)}"
        for c in (Category.on_time, Category.late, Category.in_progress, Category.overdue)
    )
    lines = [
        f"Tổng số việc: {total.total} — {parts}.",
        f"Tỷ lệ hoàn thành đúng hạn: {percent_vi(total.on_time_rate)} ({total.on_time}/{total.due} việc đã đến hạn).",
    ]
    if model.change is not None and model.change.previous.total:
        deltas = ", ".join(
            f"{CATEGORY_VI[c].lower()} {signed(model.change.delta(c))}"
            for c in (Category.on_time, Category.late, Category.in_progress, Category.overdue)
        )
        lines.append(f"So với kỳ {model.change.previous_label_vi}: {deltas}.")
    if model.overdue:
        worst = model.overdue[0]
        lines.append(
            f"Quá hạn nhiều nhất: {worst.agency_name} (mục {worst.directive.number}), "
            f"{worst.timeliness.days_overdue} ngày làm việc."
        )
    if model.extensions:
        lines.append(f"Gia hạn trong kỳ: {len(model.extensions)} việc.")
    return lines


def _contacts(session: Session, codes: list[str], role: str) -> list[tuple[str, int, AgencyContact]]:
    """(agency code, agency id, contact) to deliver to: the wanted role's contacts, else every enabled contact."""
    enabled = get_settings().enabled_channels
    ids = {
        row.code: row.id for row in session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes))).all()
    }  # type: ignore[attr-defined]
    contacts: dict[int, list[AgencyContact]] = defaultdict(list)
    query = select(AgencyContact).where(AgencyContact.agency_id.in_(list(ids.values())), AgencyContact.active == True)  # type: ignore[attr-defined]  # noqa: E712
    for contact in session.execute(query.order_by(AgencyContact.id)).scalars():  # type: ignore[arg-type]
        if contact.channel in enabled:
            contacts[contact.agency_id].append(contact)
    out = []
    for code_ in codes:
        if code_ not in ids:
            continue
        every = contacts[ids[code_]]
        for contact in [c for c in every if c.role == role] or every:
            out.append((code_, ids[code_], contact))
    return out


def outbox_rows(session: Session, built: Built, files: list[Path], as_of: datetime) -> list[dict[str, Any]]:
    """One outbox row per recipient contact: kind report, the files attached, due on the send date."""
    meta, period = built.meta, built.period
    planned = at_local(meta.send_on, load_escalation_policy(get_settings().config_dir).send_at)
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
    rows = []
    for code_, agency_id, contact in _contacts(session, built.recipients, reporting_policy().contact_role):
        plan_key = f"report|{built.scope.key}|{period.label}|{code_}"
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
                "payload": base | {"recipient_agency": built.names.get(code_, code_), "recipient_agency_code": code_},
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


def record_and_queue(built: Built, files: list[Path], as_of: datetime) -> int | None:
    """In one transaction: record the run and queue its delivery; None if this period was already recorded."""
    with Session(get_engine()) as session, session.begin():
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
        if not (session.exec(statement).rowcount or 0):  # type: ignore[call-overload]
            return None
        rows = outbox_rows(session, built, files, as_of)
        insert_outbox_rows(rows, session=session)
        # Counted, not taken from rowcount: PostgreSQL's driver reports -1 for a multi-row INSERT … ON CONFLICT.
        written = (
            session.execute(
                select(func.count())
                .select_from(Notification)
                .where(Notification.idempotency_key.in_([r["idempotency_key"] for r in rows]))  # type: ignore[attr-defined]
            ).scalar_one()
            if rows
            else 0
        )
        session.exec(  # type: ignore[call-overload]
            ReportRun.__table__.update()  # type: ignore[attr-defined]
            .where(ReportRun.__table__.c.scope == built.scope.key, ReportRun.__table__.c.period == built.period.label)  # type: ignore[attr-defined]
            .values(recipients=written)
        )
        return written


# --- Prefect artifacts -------------------------------------------------------------------------------


def artifact_key(scope: Scope, period: ReportPeriod, part: str | None = None) -> str:
    """Artifact key of a report (lowercase letters, digits and dashes): dondoc-bao-cao-<scope>-<period>[-part]."""
    key = f"dondoc-bao-cao-{scope.slug}-{ascii_slug(period.label)}"
    return f"{key}-{part}" if part else key


def publish_artifacts(built: Built) -> list[str]:
    """Publish the markdown report and its tables (summary by directive, by agency with ranking, overdue)."""
    from tasks.report_documents import agency_table_rows, directive_table_rows, overdue_table_rows, report_markdown

    title = f"{built.meta.title} — {built.period.label_vi}"
    keys = [artifact_key(built.scope, built.period)]
    create_markdown_artifact(
        markdown=report_markdown(built.meta, built.model), key=keys[0], description=f"Báo cáo {title}"
    )
    tables = (
        ("tong-hop", directive_table_rows(built.meta, built.model), "Tổng hợp theo mục"),
        ("co-quan", agency_table_rows(built.model), "Theo cơ quan, có xếp hạng"),
        ("qua-han", overdue_table_rows(built.model, built.meta.document_rows * 10), "Việc quá hạn"),
    )
    for part, rows, what in tables:
        key = artifact_key(built.scope, built.period, part)
        create_table_artifact(
            table=rows,
            key=key,
            description=f"{what} — {title} (số liệu đến hết ngày {format_date_vi(built.period.cutoff)})",
        )
        keys.append(key)
    return keys
