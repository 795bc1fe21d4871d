"""The periodic report: figures at the data cut-off, files offices use, delivered once per period.

This module only orchestrates; the steps are the Prefect tasks of tasks/reporting/steps.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed

from config.settings import get_settings
from domain.workdays import format_date_vi
from tasks.delivery import deliver_outbox
from tasks.reporting.record import RecordedRun
from tasks.reporting.steps import (
    compute_report,
    previous_run,
    publish,
    record_run,
    resolve_targets,
    write_files,
)


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


def _run_name() -> str:
    """Name a run after its period and notice, e.g. "Báo cáo 2022-Q4 · TẠM-20220909/TB-TU"."""
    params = flow_run.parameters
    return f"Báo cáo {params.get('period') or 'theo lịch'} · {params.get('notice') or 'tất cả thông báo'}"


def _recorded_files(run: RecordedRun, out_dir: Path | None) -> list[str] | None:
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
        built = compute_report(scope, p, as_of, done)
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
        queued = record_run(built, files, as_of)
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
