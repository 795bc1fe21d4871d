"""The periodic report's figures: what to report on, the bulk read of the history, the computation.

One report covers a scope (one notice, or every notice) and a period. Its figures are taken at the
end of the period's data cut-off day, rebuilt from the append-only history (status updates and
the deadline history), so a report made late, or made again, says what was true at the cut-off.
Each assignment's history is judged as the bulk read streams it past, then dropped: the report keeps
only its lines and counts, never the province's history (make_report reads and computes in one session).
The bulk read here and the per-directive read of tasks/directive_state.py judge alike (tests check it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from config.agencies import AgencyDirectory, load_agencies
from config.escalation import load_escalation_policy
from config.policy import load_calendar, load_deadline_policy
from config.reporting import CITE_DIRECTIVE, MONITORS, ReportingPolicy, System, load_reporting_policy
from domain.deadlines import Recurrence, report_obligations
from domain.policy import DeadlinePolicy
from domain.report_lines import AssignmentHistory, DirectiveInfo, judge_histories
from domain.report_model import CATEGORY_ORDER, Grid, ReportModel, TrendPoint, build_report, percent_vi, signed
from domain.report_periods import ReportPeriod, resolve_periods, send_day, trend_periods
from domain.text import ascii_slug, excerpt
from domain.timeliness import CATEGORY_VI, Category, Obligation
from domain.workdays import WorkCalendar, format_date_vi, local_date
from models import (
    Agency,
    Assignment,
    Directive,
    Notice,
    NoticeMonitor,
)
from tasks.directive_state import OBLIGATION_HORIZON
from tasks.notice_queries import find_notice
from tasks.reporting.common import Basis, IssuerHeading, NoticeInfo, ReportMeta, Signer
from tasks.reporting.history import Histories, read_histories, stream

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
    """Everything a report reads, in plain data; the histories are taken once, as they are judged.

    From read_report_data, histories streams from the database: it is taken (by compute) while the
    session that read the rest is still open.
    """

    notices: dict[int, NoticeInfo]
    directives: dict[int, DirectiveInfo]
    histories: Iterable[tuple[AssignmentHistory, tuple[Obligation, ...]]]
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


@dataclass(frozen=True)
class ReportConfig:
    """The policy files a report reads, loaded once by the caller (settings are read at the edges)."""

    policy: ReportingPolicy
    calendar: WorkCalendar
    deadlines: DeadlinePolicy
    directory: AgencyDirectory
    send_at: time  # when messages go out on a working day (config/escalation.yaml)
    enabled_channels: frozenset[str]


def load_report_config(config_dir: Path, enabled_channels: frozenset[str]) -> ReportConfig:
    """Load (cached per directory) every policy the report reads from config_dir."""
    return ReportConfig(
        policy=load_reporting_policy(config_dir),
        calendar=load_calendar(config_dir),
        deadlines=load_deadline_policy(config_dir),
        directory=load_agencies(config_dir),
        send_at=load_escalation_policy(config_dir).send_at,
        enabled_channels=enabled_channels,
    )


# --- what to report on -------------------------------------------------------------------------------


def resolve(period: str | None, as_of: datetime, config: ReportConfig) -> list[ReportPeriod]:
    """The periods a run reports on (PeriodError, in Vietnamese, for a bad or still open period)."""
    return resolve_periods(period, as_of, list(config.policy.frequencies), config.calendar, config.deadlines)


def resolve_scope(notice: str | None, *, session: Session) -> Scope:
    """One notice by number (accents and case ignored) or id; every notice when None."""
    if notice is None:
        return Scope(ALL_SCOPE, None, "tat-ca-thong-bao")
    found = find_notice(notice, session=session)
    if found is None or found.id is None:
        raise ReportRefused(f"không tìm thấy thông báo «{notice}». Xem danh sách: dondoc notices list")
    return Scope(f"notice:{found.id}", found.id, ascii_slug(found.number))


# --- the bulk read -----------------------------------------------------------------------------------


def _obligations(
    recurrence: dict[str, Any] | None,
    due: date | None,
    issued: date,
    until: datetime,
    cache: dict[tuple[str, date], tuple[Obligation, ...]],
    config: ReportConfig,
) -> tuple[Obligation, ...]:
    """An ongoing directive's report obligations (as tasks.directive_state reads them), cached per rule and notice date."""
    if due is not None or not recurrence:
        return ()
    key = (json.dumps(recurrence, sort_keys=True), issued)
    if key not in cache:
        found = report_obligations(
            Recurrence.model_validate(recurrence),
            issued,
            local_date(until) + OBLIGATION_HORIZON,
            config.calendar,
            config.deadlines,
        )
        cache[key] = tuple(Obligation(o.period, o.due) for o in found)
    return cache[key]


def read_report_data(scope: Scope, until: datetime, config: ReportConfig, *, session: Session) -> ReportData:
    """Every assignment given by until, with its deadline history and updates up to until, in a few queries.

    The notices, directives and names are read now; the histories stream as they are taken (in session).
    """
    in_scope = select(col(Directive.id))
    if scope.notice_id is not None:
        in_scope = in_scope.where(col(Directive.notice_id) == scope.notice_id)
    given = select(col(Assignment.id)).where(
        col(Assignment.directive_id).in_(in_scope), col(Assignment.created_at) <= until
    )
    agencies = session.execute(
        select(col(Agency.id), col(Agency.code), col(Agency.short_name), col(Agency.name), col(Agency.escalates_to_id))
    ).all()
    code = {row.id: row.code for row in agencies}
    names = {row.code: row.short_name or row.name for row in agencies}
    notice_query = select(
        col(Notice.id),
        col(Notice.number),
        col(Notice.number_is_placeholder),
        col(Notice.issued_on),
        col(Notice.title),
        col(Notice.issuer_id),
    ).order_by(col(Notice.issued_on), col(Notice.id))
    if scope.notice_id is not None:
        notice_query = notice_query.where(col(Notice.id) == scope.notice_id)
    notice_rows = session.execute(notice_query).all()
    monitors: dict[int, list[tuple[str, str]]] = defaultdict(list)
    monitor_query = select(
        col(NoticeMonitor.notice_id), col(NoticeMonitor.agency_id), col(NoticeMonitor.role)
    ).order_by(col(NoticeMonitor.notice_id), col(NoticeMonitor.role), col(NoticeMonitor.id))
    if scope.notice_id is not None:
        monitor_query = monitor_query.where(col(NoticeMonitor.notice_id) == scope.notice_id)
    for row in session.execute(monitor_query):
        monitors[row.notice_id].append((code[row.agency_id], row.role))
    directive_rows = stream(
        select(
            col(Directive.id),
            col(Directive.notice_id),
            col(Directive.number),
            col(Directive.position),
            col(Directive.text),
            col(Directive.due_date),
            col(Directive.recurrence),
        ).where(col(Directive.id).in_(in_scope)),
        session=session,
    )
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
        obligations[row.id] = _obligations(row.recurrence, row.due_date, info.issued_on, until, cache, config)
    agency_codes = {row.id: (row.code, supervisor[row.code]) for row in agencies}
    histories = read_histories(given, until, directives, obligations, agency_codes, session=session)
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


Tasking = dict[tuple[str, int], tuple[bool, tuple[int, ...], str]]  # (agency, notice) → its first directive


def _basis(
    notices: list[NoticeInfo], issuer_code: str, system: System, tasking: Tasking, policy: ReportingPolicy
) -> Basis:
    """What the report cites, as configured for the issuer's system (config/reporting.yaml, legal_basis)."""
    spec = policy.basis_for(system)
    if spec.cite != CITE_DIRECTIVE:
        return Basis(document=spec.cite, cutoff_rule=spec.cutoff_rule)
    return Basis(directive=_tasking_directive(notices, issuer_code, tasking), cutoff_rule=spec.cutoff_rule)


def _note_tasking(
    histories: Iterable[tuple[AssignmentHistory, tuple[Obligation, ...]]],
    directives: dict[int, DirectiveInfo],
    issuers: frozenset[str],
    tasking: Tasking,
) -> Histories:
    """Pass the histories on, noting in tasking each possible issuer's first directive in each notice.

    Noted as they stream past (the histories are not kept): lead before support, then directive order;
    withdrawn assignments count too.
    """
    for pair in histories:
        history = pair[0]
        if history.agency_code in issuers:
            info = directives[history.directive_id]
            key, rank = (history.agency_code, info.notice_id), (history.role != "lead", info.order, info.number)
            if key not in tasking or rank < tasking[key]:
                tasking[key] = rank
        yield pair


def _tasking_directive(notices: list[NoticeInfo], issuer_code: str, tasking: Tasking) -> str | None:
    """The notice's own directive that gives the issuer its follow-up and reporting work (2.7), when one notice is covered."""
    if len(notices) != 1:
        return None
    found = tasking.get((issuer_code, notices[0].notice_id))
    return found[2] if found else None


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


HASH_ROWS = 2_000  # lines encoded at a time: the whole text of 100,000 lines is not built at once


def content_hash(model: ReportModel, period: ReportPeriod, send_on: date) -> str:
    """A fingerprint of the report's figures: the same data gives the same hash.

    The sha256 of json.dumps({"period", "send_on", "lines": [[id, category, days, status, due, last update]…]},
    sort_keys=True), fed to the hash a few thousand lines at a time.
    """
    digest = hashlib.sha256(b'{"lines": [')
    lines = model.lines
    for start in range(0, len(lines), HASH_ROWS):
        rows = [
            [
                x.assignment_id,
                x.category.value,
                x.timeliness.days_overdue,
                x.status,
                str(x.current_due),
                x.last_update.at.isoformat() if x.last_update else None,
            ]
            for x in lines[start : start + HASH_ROWS]
        ]
        text = json.dumps(rows)[1:-1]
        digest.update(((", " if start else "") + text).encode("utf-8"))
    tail = f"], {json.dumps('period')}: {json.dumps(period.label)}, {json.dumps('send_on')}: {json.dumps(send_on.isoformat())}}}"
    digest.update(tail.encode("utf-8"))
    return digest.hexdigest()


def compute(
    scope: Scope,
    period: ReportPeriod,
    as_of: datetime,
    data: ReportData,
    config: ReportConfig,
    generated_at: datetime | None = None,
    send_on: date | None = None,
) -> Built:
    """Compute a report: judge each history, as it is taken, at the cut-off, the previous one and the trend's."""
    policy, calendar, deadline_policy = config.policy, config.calendar, config.deadlines
    periods = trend_periods(period, policy.trend_periods, calendar, deadline_policy)
    previous, earlier = periods[-2], periods[:-1]
    tasking: Tasking = {}
    issuers = frozenset((*policy.issuers, policy.fallback_issuer))
    judged = judge_histories(
        _note_tasking(data.histories, data.directives, issuers, tasking),
        data.directives,
        data.names,
        period.data_as_of,
        [p.data_as_of for p in earlier],
        previous.data_as_of,
        calendar,
    )
    lines = judged.lines
    if not lines:
        raise NothingToReport(
            f"không có việc nào được giao tính đến hết ngày {format_date_vi(period.cutoff)}; không lập báo cáo {period.label_vi}"
        )
    order = {notice_id: index for index, notice_id in enumerate(data.notices)}
    notices = [data.notices[n] for n in sorted({x.directive.notice_id for x in lines}, key=order.__getitem__)]
    grids = [Grid(*(count[c] for c in CATEGORY_ORDER)) for count in judged.counts]
    trend = [TrendPoint(p.label, p.label_vi, grid) for p, grid in zip(earlier, grids, strict=True) if grid.total]
    before = judged.previous
    issuer_code = _issuer(notices, policy)
    # The monitors and the report's author judge the others: they are not ranked among them.
    unranked = {
        code_: data.names[code_] for n in notices for code_ in (*n.monitors, issuer_code) if code_ in data.names
    }
    model = build_report(
        lines,
        (period.data_from, period.cutoff),
        {str(k): v for k, v in policy.ranking.points.items()},
        {str(k): v for k, v in policy.ranking.weights.items()},
        previous=(previous.label_vi, before),
        trend=trend,
        rank=policy.ranking.enabled,
        unranked=unranked,
    )
    model.trend.append(TrendPoint(period.label, period.label_vi, model.total))
    send_on = send_on or send_day(period, as_of)
    recipients = _recipients(notices, policy, data.names)
    directory = config.directory
    spec = policy.issuers[issuer_code]
    meta = ReportMeta(
        scope_key=scope.key,
        slug=scope.slug,
        period=period,
        previous_label_vi=previous.label_vi,
        send_on=send_on,
        generated_at=generated_at or as_of,
        place=policy.place or directory.province,
        issuer=IssuerHeading(
            parent=spec.parent,
            name=spec.name,
            symbol=spec.symbol,
            signer=Signer(spec.signer.title, spec.signer.name, spec.signer.authority),
            system=spec.system,
            archive=spec.archive,
        ),
        basis=_basis(notices, issuer_code, spec.system, tasking, policy),
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


def make_report(
    scope: Scope,
    period: ReportPeriod,
    as_of: datetime,
    config: ReportConfig,
    *,
    session: Session,
    generated_at: datetime | None = None,
    send_on: date | None = None,
) -> Built:
    """Read and compute a report in one session: each assignment is judged as its history streams past."""
    data = read_report_data(scope, period.data_as_of, config, session=session)
    return compute(scope, period, as_of, data, config, generated_at=generated_at, send_on=send_on)


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
