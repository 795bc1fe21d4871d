"""The periodic report (DESIGN §7): figures at the data cut-off, files offices use, delivered once per period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.states import Completed, State

from config.settings import get_settings
from domain.report_periods import ReportPeriod
from domain.workdays import format_date_vi
from models.reports import ReportRun
from tasks import report_documents, reporting
from tasks.delivery import deliver_outbox
from tasks.retries import IO_RETRIES


@dataclass
class ReportOutcome:
    """What a run did for one scope and period."""

    scope: str
    period: str
    period_vi: str
    files: list[str]
    queued: int = 0
    created: bool = False  # False: the report had been made and sent before
    sent_on: str = ""
    notes: list[str] = field(default_factory=list)


@task(name="Xác định kỳ và phạm vi báo cáo", cache_policy=NONE)
def resolve_targets(
    notice: str | None, period: str | None, as_of: datetime
) -> list[tuple[reporting.Scope, ReportPeriod]]:
    """The periods to report on (named, or the latest closed per the schedule) and the scope."""
    scope = reporting.resolve_scope(notice)
    return [(scope, p) for p in reporting.resolve(period, as_of)]


@task(name="Kiểm tra báo cáo đã lập", cache_policy=NONE, **IO_RETRIES)
def previous_run(scope: reporting.Scope, period: ReportPeriod) -> ReportRun | None:
    """The run record if this period's report was already made and queued."""
    return reporting.find_run(scope, period)


@task(name="Đọc lịch sử thực hiện", cache_policy=NONE, **IO_RETRIES)
def load_history(scope: reporting.Scope, period: ReportPeriod) -> reporting.ReportData:
    """Read every assignment with its deadline history and updates up to the cut-off, in bulk."""
    return reporting.read_report_data(scope, period.data_as_of)


@task(name="Tính số liệu báo cáo", cache_policy=NONE)
def compute_report(
    scope: reporting.Scope,
    period: ReportPeriod,
    as_of: datetime,
    data: reporting.ReportData,
    recorded: ReportRun | None,
) -> reporting.Built | str:
    """Judge every assignment at the cut-off, the previous cut-off and the trend's (a made report keeps its dates).

    Returns the reason, in Vietnamese, when nothing had been given by the cut-off (a scheduled run then has nothing to do).
    """
    try:
        if recorded is None:
            return reporting.compute(scope, period, as_of, data=data)
        return reporting.compute(
            scope, period, as_of, generated_at=recorded.generated_at, send_on=recorded.send_on, data=data
        )
    except reporting.NothingToReport as exc:
        return str(exc)


@task(name="Lập tệp Excel, Word và biểu đồ", cache_policy=NONE, **IO_RETRIES)
def write_files(built: reporting.Built, out_dir: str) -> list[Path]:
    """Write the DOCX, XLSX and PNG charts."""
    return report_documents.write_all(built.meta, built.model, Path(out_dir))


@task(name="Đăng báo cáo lên Prefect", cache_policy=NONE, **IO_RETRIES)
def publish(built: reporting.Built) -> list[str]:
    """Publish the markdown report and its table artifacts, keyed by scope and period."""
    return reporting.publish_artifacts(built)


@task(name="Ghi nhận và xếp hàng gửi báo cáo", cache_policy=NONE, **IO_RETRIES)
def record(built: reporting.Built, files: list[Path], as_of: datetime) -> int | None:
    """Record the run and queue the delivery in one transaction; None if another run recorded it first."""
    return reporting.record_and_queue(built, files, as_of)


def _run_name() -> str:
    """Name a run after its period and notice, e.g. "Báo cáo 2022-Q4 · TẠM-20220909/TB-TU"."""
    params = flow_run.parameters
    return f"Báo cáo {params.get('period') or 'theo lịch'} · {params.get('notice') or 'tất cả thông báo'}"


def _recorded_files(run: ReportRun, out_dir: Path | None) -> list[str] | None:
    """The recorded files if they are all still there (and in out_dir, when one was asked for)."""
    paths = [Path(f["path"]) for f in run.files]
    if not paths or not all(p.is_file() for p in paths):
        return None
    if out_dir is not None and any(p.parent.resolve() != out_dir.resolve() for p in paths):
        return None
    return [str(p) for p in paths]


@flow(name="periodic-report", flow_run_name=_run_name, persist_result=False)
def periodic_report(
    notice: str | None = None,
    period: str | None = None,
    as_of: datetime | None = None,
    out_dir: str | None = None,
    deliver: bool = True,
) -> State:
    """Make the periodic report of a period (2022-Q4, 2022-10, 2022-H2, 2022; month/quarter/… = the latest closed;
    None = the latest closed of every configured frequency) for one notice or all, and send it once.

    The figures are taken at the end of the period's data cut-off day (config/deadlines.yaml, Decree 09/2019);
    the report is dated and delivered on the period's send date, or at once when made later. Running it again
    for the same period sends nothing and leaves the files as they were.
    """
    logger = get_run_logger()
    as_of = as_of or datetime.now(UTC)
    target = Path(out_dir).resolve() if out_dir else None
    outcomes: list[ReportOutcome] = []
    for scope, p in resolve_targets(notice, period, as_of):
        done = previous_run(scope, p)
        if done is not None and (kept := _recorded_files(done, target)) is not None:
            outcomes.append(ReportOutcome(scope.key, p.label, p.label_vi, kept, sent_on=format_date_vi(done.send_on)))
            continue
        built = compute_report(scope, p, as_of, load_history(scope, p), done)
        if isinstance(built, str):
            outcomes.append(ReportOutcome(scope.key, p.label, p.label_vi, [], notes=[built]))
            continue
        files = write_files(built, str(target or get_settings().home / "reports"))
        outcome = ReportOutcome(
            scope.key, p.label, p.label_vi, [str(f) for f in files], sent_on=format_date_vi(built.meta.send_on)
        )
        if done is not None:
            if built.content_hash != done.content_hash:
                outcome.notes.append(
                    "số liệu đến ngày chốt đã thay đổi sau khi báo cáo được gửi; tệp lập lại khác bản đã gửi"
                )
            outcomes.append(outcome)
            continue
        publish(built)
        queued = record(built, files, as_of)
        outcome.created, outcome.queued = queued is not None, queued or 0
        outcomes.append(outcome)
    delivered = deliver_outbox(as_of) if deliver and any(o.queued for o in outcomes) else None
    lines = []
    for o in outcomes:
        if not o.files:
            lines.append(f"Báo cáo {o.period_vi}: {'; '.join(o.notes)}")
            continue
        if o.created:
            lines.append(
                f"Báo cáo {o.period_vi}: đã lập {len(o.files)} tệp, xếp hàng {o.queued} thư gửi ngày {o.sent_on}"
            )
        else:
            lines.append(f"Báo cáo {o.period_vi} đã được lập và gửi ngày {o.sent_on}; không gửi lại")
        for note in o.notes:
            logger.warning("Báo cáo %s: %s", o.period_vi, note)
            lines[-1] += f" ({note})"
    message = "; ".join(lines) or "Không có báo cáo nào"
    if delivered is not None:
        message += f"; đã gửi {delivered.sent} thư"
    logger.info(message)
    return Completed(message=message, data={"reports": [o.__dict__ for o in outcomes]})
