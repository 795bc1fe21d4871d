"""Time and peak memory to build a quarterly report for the synthetic province (about 100,000 assignments).

The province is built by bench/synthetic.py in a child process (so its memory is not counted here),
then this process makes the report the way the flow's tasks do, without Prefect (the flow adds a fixed
handful of task runs, whatever the number of assignments): it first loads the modules the flow's process
has loaded (flows.report), then the bulk read judged as it streams (the figures at the cut-off, the
previous cut-off and the trend's), the markdown and tables of the artifacts, the charts, the XLSX and the
DOCX (their libraries loaded at that point, as tasks/reporting/documents.py does). Nothing is sent.

    python bench/report.py                          # a fresh SQLite province in a temporary folder
    python bench/report.py --db sqlite:////tmp/p.db --reuse    # a province built before
    python bench/report.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test --schema bench_report
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def _rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(phases: dict[str, float], name: str, fn: Callable[[], T], cpu: dict[str, float] | None = None) -> T:
    """Run fn, record its wall time under name (and in cpu: this process's CPU time, and its peak memory after it).

    The machine is often shared: CPU time is what the phase cost, whatever else was running.
    """
    started, started_cpu = time.perf_counter(), time.process_time()
    result = fn()
    phases[name] = round(time.perf_counter() - started, 3)
    if cpu is not None:
        cpu[name] = round(time.process_time() - started_cpu, 3)
        cpu[name.replace("_s", "_peak_mb")] = _rss_mb()
    return result


class _Counted:
    """The time spent reading (this process's wall and CPU seconds), and the histories counted as they stream."""

    def __init__(self) -> None:
        self.assignments = self.updates = 0
        self.wall = self.cpu = 0.0

    def timed(self, fn: Callable[[], T]) -> T:
        """fn(), its time added to the read's."""
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            return fn()
        finally:
            self.wall += time.perf_counter() - started
            self.cpu += time.process_time() - started_cpu

    def stream(self, histories: Iterable[Any]) -> Iterator[Any]:
        """The histories, each one's reading timed (the judging between them is not)."""
        rows = iter(histories)
        while (pair := self.timed(lambda: next(rows, None))) is not None:
            self.assignments += 1
            self.updates += len(pair[0].updates)
            yield pair


def build_province(url: str, schema: str | None, notices: int) -> dict[str, Any]:
    """Build the synthetic province in a child process; return its JSON summary."""
    command = [sys.executable, str(ROOT / "bench" / "synthetic.py"), "--db", url, "--notices", str(notices)]
    if schema:
        command += ["--schema", schema]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.splitlines()[0])


def measure(url: str, schema: str | None, period_label: str | None, out_dir: Path) -> dict[str, Any]:
    """Make the report and time each step."""
    # What the flow's process has loaded when the report runs (Prefect, SQLModel, the delivery and Apprise's
    # plugins, the report's tasks): loaded first, so the baseline and every figure after it are the flow's.
    import flows.report  # noqa: F401
    from bench.synthetic import DEFAULT_AS_OF
    from config.settings import get_settings
    from domain.report_periods import PeriodError
    from models.db import reset_engine, session_scope
    from tasks.reporting import build, markdown

    baseline = _rss_mb()
    # The province was built, and its database migrated, by bench/synthetic.py in its own process: like the
    # flow, this process only points at the database (migrating here would load Alembic into the figure).
    os.environ["DONDOC_DATABASE_URL"] = url
    if schema:
        os.environ["DONDOC_DATABASE_SCHEMA"] = schema
    else:
        os.environ.pop("DONDOC_DATABASE_SCHEMA", None)
    get_settings.cache_clear()
    reset_engine()
    as_of = DEFAULT_AS_OF
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}
    settings = get_settings()
    config = build.load_report_config(settings.config_dir, settings.enabled_channels)
    try:
        (period,) = build.resolve(period_label or "quarter", as_of, config)
    except PeriodError as exc:
        raise SystemExit(f"bench/report: {exc}") from None
    started, started_cpu = time.perf_counter(), time.process_time()

    counted = _Counted()

    def read_and_compute() -> build.Built:
        # As the flow's task does (tasks/reporting/steps.py, compute_report): one session, each assignment
        # judged as its history streams past. The read's share is the frame (notices, directives) and the stream.
        with session_scope(read_only=True) as session:
            scope = build.resolve_scope(None, session=session)
            data = counted.timed(lambda: build.read_report_data(scope, period.data_as_of, config, session=session))
            data.histories = counted.stream(data.histories)
            return build.compute(scope, period, as_of, data, config)

    built = _timed(phases, "read_compute_s", read_and_compute, cpu)
    phases["read_s"] = round(counted.wall, 3)
    phases["compute_s"] = round(phases["read_compute_s"] - counted.wall, 3)
    cpu["read_s"] = round(counted.cpu, 3)
    cpu["compute_s"] = round(cpu["read_compute_s"] - counted.cpu, 3)
    read_counts = {"assignments_read": counted.assignments, "status_updates_read": counted.updates}
    after_compute = _rss_mb()

    # As in the flow (tasks/reporting/documents.py), the file writers and their libraries (matplotlib, XlsxWriter,
    # python-docx) are loaded together only now, once the history has been dropped; the import counts in the phase.
    def write_charts() -> list[Path]:
        from tasks.reporting import charts, word, workbook  # noqa: F401

        return charts.write_charts(built.meta, built.model, out_dir)

    def write_xlsx() -> Path:
        from tasks.reporting import workbook

        return workbook.write_xlsx(built.meta, built.model, out_dir / f"{built.meta.base_name}.xlsx")

    def write_docx() -> Path:
        from tasks.reporting import word

        return word.write_docx(built.meta, built.model, pictures, out_dir / f"{built.meta.base_name}.docx")

    pictures = _timed(phases, "charts_s", write_charts, cpu)
    xlsx = _timed(phases, "xlsx_s", write_xlsx, cpu)
    docx = _timed(phases, "docx_s", write_docx, cpu)
    # Then, as the flow does, the markdown report and the tables of its artifacts.
    _timed(
        phases,
        "artifacts_s",
        lambda: (
            markdown.report_markdown(built.meta, built.model),
            markdown.directive_table_rows(built.meta, built.model),
            markdown.agency_table_rows(built.model),
            markdown.overdue_table_rows(built.model, built.meta.document_rows * 10),
        ),
        cpu,
    )
    total = round(time.perf_counter() - started, 3)
    total_cpu = round(time.process_time() - started_cpu, 3)
    model = built.model
    return {
        "period": period.label,
        "cutoff": period.cutoff.isoformat(),
        "as_of": as_of.isoformat(),
        **read_counts,
        "assignments_reported": model.total.total,
        "notices": len(model.by_notice),
        "directives": len(model.by_directive),
        "agencies": len(model.by_agency),
        "trend_periods": len(model.trend),
        "grid": {
            "on_time": model.total.on_time,
            "late": model.total.late,
            "in_progress": model.total.in_progress,
            "overdue": model.total.overdue,
        },
        "seconds": total,
        "phases": phases,
        "cpu_seconds": total_cpu,
        "phases_cpu": cpu,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "baseline_rss_mb": baseline,
        "rss_after_compute_mb": after_compute,
        "peak_rss_mb": _rss_mb(),
        "files": {p.name: p.stat().st_size for p in [docx, xlsx, *pictures]},
    }


def _number(n: float) -> str:
    """Vietnamese thousands separator."""
    return f"{n:,.0f}".replace(",", ".")


def main(argv: list[str] | None = None) -> None:
    """Build (or reuse) the province, make the report, print one JSON object then one human line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="SQLAlchemy URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--schema", help="PostgreSQL schema (must exist)")
    parser.add_argument("--notices", type=int, default=2000, help="notices × 10 directives × 5 agencies")
    parser.add_argument("--reuse", action="store_true", help="the database already holds a province")
    parser.add_argument("--period", help="e.g. 2024-Q3 (default: the quarter last closed at the province's as_of)")
    parser.add_argument("--out", type=Path, help="where to write the files (default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dondoc-bench-report-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'province.db'}"
        os.environ["DONDOC_HOME"] = str(Path(tmp) / "home")
        province = None
        if not args.reuse:
            started = time.perf_counter()
            province = build_province(url, args.schema, args.notices)
            province["build_s"] = round(time.perf_counter() - started, 1)
        out = args.out or Path(tmp) / "out"
        out.mkdir(parents=True, exist_ok=True)
        result = measure(url, args.schema, args.period, out)
    result["database"] = url.split(":", 1)[0]
    if province is not None:
        result["province"] = {
            k: province[k]
            for k in ("notices", "directives", "assignments", "status_updates", "build_s")
            if k in province
        }
    print(json.dumps(result, ensure_ascii=False))
    print(
        f"Báo cáo {result['period']} cho tỉnh giả lập ({_number(result['assignments_reported'])} việc, "
        f"{_number(result['notices'])} thông báo, {result['database']}): {result['seconds']:.1f} s "
        f"(đọc {result['phases']['read_s']:.1f} s, tính {result['phases']['compute_s']:.1f} s, "
        f"Excel {result['phases']['xlsx_s']:.1f} s, Word {result['phases']['docx_s']:.1f} s, "
        f"biểu đồ {result['phases']['charts_s']:.1f} s; CPU {result['cpu_seconds']:.1f} s, tải máy "
        f"{result['load_average'][0]:.1f}); bộ nhớ đỉnh {result['peak_rss_mb']:.0f} MB."
    )


if __name__ == "__main__":
    main()
