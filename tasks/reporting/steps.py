"""The Prefect tasks of the periodic-report flow: each opens one short session and passes it down.

Settings and policy files are read here, at the edge, and passed to the plain functions as arguments.
Reads use a read-only session (no write lock on SQLite); recording uses one write transaction.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NONE

from config.settings import get_settings
from domain.report_periods import ReportPeriod
from models.db import session_scope
from tasks.reporting import build, documents, markdown, record
from tasks.reporting.build import Built, NothingToReport, ReportConfig, Scope
from tasks.reporting.record import RecordedRun
from tasks.retries import IO_RETRIES


def report_config() -> ReportConfig:
    """The policy files of the configured config dir, and the channels that are switched on."""
    settings = get_settings()
    return build.load_report_config(settings.config_dir, settings.enabled_channels)


@task(name="Xác định kỳ và phạm vi báo cáo", cache_policy=NONE, **IO_RETRIES)
def resolve_targets(notice: str | None, period: str | None, as_of: datetime) -> list[tuple[Scope, ReportPeriod]]:
    """The periods to report on (named, or the latest closed per the schedule) and the scope."""
    periods = build.resolve(period, as_of, report_config())
    with session_scope(read_only=True) as session:
        scope = build.resolve_scope(notice, session=session)
    return [(scope, p) for p in periods]


@task(name="Kiểm tra báo cáo đã lập", cache_policy=NONE, **IO_RETRIES)
def previous_run(scope: Scope, period: ReportPeriod) -> RecordedRun | None:
    """The run record if this period's report was already made and queued."""
    with session_scope(read_only=True) as session:
        return record.find_run(scope, period, session=session)


@task(name="Đọc lịch sử và tính số liệu báo cáo", cache_policy=NONE, **IO_RETRIES)
def compute_report(scope: Scope, period: ReportPeriod, as_of: datetime, recorded: RecordedRun | None) -> Built | str:
    """Read every assignment's history up to the cut-off and judge it, as it streams, at the cut-off, the previous
    cut-off and the trend's (a made report keeps its dates). One task: the province's history is never held.

    Returns the reason, in Vietnamese, when nothing had been given by the cut-off (a scheduled run then has nothing to do).
    """
    config = report_config()
    try:
        with session_scope(read_only=True) as session:
            return build.make_report(
                scope,
                period,
                as_of,
                config,
                session=session,
                generated_at=recorded.generated_at if recorded else None,
                send_on=recorded.send_on if recorded else None,
            )
    except NothingToReport as exc:
        return str(exc)


@task(name="Lập tệp Excel, Word và biểu đồ", cache_policy=NONE, **IO_RETRIES)
def write_files(built: Built, out_dir: str) -> list[Path]:
    """Write the DOCX, XLSX and PNG charts."""
    return documents.write_all(built.meta, built.model, Path(out_dir))


@task(name="Đăng báo cáo lên Prefect", cache_policy=NONE, **IO_RETRIES)
def publish(built: Built) -> list[str]:
    """Publish the markdown report and its table artifacts, keyed by scope and period."""
    return markdown.publish_artifacts(built.meta, built.model)


@task(name="Ghi nhận và xếp hàng gửi báo cáo", cache_policy=NONE, **IO_RETRIES)
def record_run(built: Built, files: list[Path], as_of: datetime) -> int | None:
    """Record the run and queue the delivery in one transaction; None if another run recorded it first."""
    config = report_config()
    with session_scope() as session:
        return record.record_and_queue(built, files, as_of, config, session=session)
