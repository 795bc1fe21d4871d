"""Benchmark: the follow-up engine on a synthetic province (2,000 notices, 20,000 directives, 100,000 assignments).

Measures, against the targets of issue 4 on a 2-core machine:
  * the sweep's one indexed query with nothing due (and its query plan);
  * the pure planner and classifier over every assignment (reading them is timed apart);
  * Prefect's overhead per follow-up run: a subflow's wall time minus the same plain functions
    called directly on the same directive (heartbeats off, as the sweep runs them; and on);
  * Prefect task runs per follow-up, at 5 and at 50 assignments, read back through the client;
  * a real `sweep(as_of=…)` over 1,000 due directives, delivery included, on a local
    `dondoc prefect-server` (Prefect's server; its own SQLite under a temporary PREFECT_HOME, or with
    --prefect-postgres a fresh PostgreSQL database), with every Prefect API call counted and timed;
  * the peak memory of this process.

    python bench/sweep.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                          [--prefect-postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints one JSON object, then one human line. Prefect's own log lines go to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import platform
import pstats
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {  # issue 4, "What it must show"
    "sweep_query_nothing_due_s": 1.0,
    "planner_all_assignments_s": 10.0,
    "prefect_overhead_per_follow_up_s": 0.3,
    "end_to_end_1000_due_s": 360.0,
    "peak_memory_mb": 500.0,
}
QUERY_RUNS = 7
OVERHEAD_SAMPLE = 20  # extra due directives the overhead rounds use (so the sweep still finds exactly --due)
WIDE_SIZE = 50
LOCK_PATTERN = re.compile(r"database is locked", re.IGNORECASE)


# --- environment -------------------------------------------------------------------------------------


def _free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _isolate(tmp: Path, database_url: str, schema: str | None, port: int) -> None:
    """Point dondoc and Prefect at the temporary home, database and server (before importing Prefect)."""
    for name in list(os.environ):
        if name.startswith(("DONDOC_", "PREFECT_")):
            del os.environ[name]  # never the developer's database, SMTP server, Zalo account or Prefect server
    os.environ.update(
        {
            "DONDOC_HOME": str(tmp / "home"),
            "DONDOC_DATABASE_URL": database_url,
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    if schema:
        os.environ["DONDOC_DATABASE_SCHEMA"] = schema
    os.chdir(tmp)  # no stray .env or prefect.toml from the working directory


@contextmanager
def _postgres_schema(url: str) -> Iterator[str]:
    """A fresh schema in the given PostgreSQL database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"dondoc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        from models.db import reset_engine

        reset_engine()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _server_settings(port: int) -> dict[str, Any]:
    """The batching settings the running server really uses, read back from its admin API."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/admin/settings", timeout=10) as response:
        services = json.load(response).get("server", {}).get("services", {})
    return {
        name: {k: services.get(name, {}).get(k) for k in ("batch_size", "read_batch_size", "flush_interval")}
        for name in ("task_run_recorder", "event_persister")
    }


@contextmanager
def _prefect_server(tmp: Path, port: int, database_url: str | None) -> Iterator[dict[str, Any]]:
    """`dondoc prefect-server` on a free port (its own SQLite under PREFECT_HOME unless database_url); yields log and pid.

    The command applies the project's [tool.prefect] settings wherever it starts (this bench runs in a temporary
    directory) and, on SQLite, tells Prefect's client to retry a busy-database 503 soon (cli/prefect_server.py).
    """
    log_path = tmp / "prefect-server.log"
    env = {**os.environ, "PREFECT_UI_ENABLED": "false"}
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "dondoc"), "prefect-server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    info: dict[str, Any] = {"log": log_path, "pid": server.pid}
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"Prefect server exited with code {server.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prefect server did not answer in 180 s; see {log_path}")
            time.sleep(0.5)
        info["startup_s"] = round(time.perf_counter() - started, 2)
        info["settings"] = _server_settings(port)
        yield info
    finally:
        info["peak_memory_mb"] = _process_peak_mb(server.pid)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _process_peak_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a running process, in MB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


@contextmanager
def _prefect_database(url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database for Prefect's server (asyncpg URL), dropped afterwards; None keeps SQLite."""
    if not url:
        yield None
        return
    from sqlalchemy import create_engine, text

    name = f"dondoc_bench_prefect_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield re.sub(r"^postgresql(\+\w+)?://", "postgresql+asyncpg://", url).rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The status codes Prefect's client retries after a back-off of 2, 4, 8… seconds (prefect/client/base.py).
RETRIED_CODES = frozenset({408, 429, 502, 503})


class _ApiCalls:
    """Counts and times every Prefect API request this process makes (both client classes)."""

    SLOW_S = 1.0

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float]] = []
        self.attempts: list[tuple[str, str, int]] = []  # one per HTTP attempt: Prefect's client retries a 503
        self.recording = False

    @staticmethod
    def _path(request: Any) -> str:
        return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", request.url.path)

    def _note(self, request: Any, seconds: float) -> None:
        if self.recording:
            self.calls.append((request.method, self._path(request), seconds))

    def _attempt(self, request: Any, status: int) -> None:
        if self.recording:
            self.attempts.append((request.method, self._path(request), status))

    def install(self) -> None:
        """Wrap the sync and async Prefect HTTP clients' send()."""
        import httpx
        import prefect.client.base as base

        calls = self
        sync_send, async_send = base.PrefectHttpxSyncClient.send, base.PrefectHttpxAsyncClient.send

        def timed_sync(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return sync_send(client, request, *args, **kwargs)
            finally:
                calls._note(request, time.perf_counter() - started)

        async def timed_async(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await async_send(client, request, *args, **kwargs)
            finally:
                calls._note(request, time.perf_counter() - started)

        base.PrefectHttpxSyncClient.send = timed_sync  # type: ignore[method-assign]
        base.PrefectHttpxAsyncClient.send = timed_async  # type: ignore[method-assign]
        # Each attempt goes through httpx's own send(): a 503 that Prefect's client retries after a back-off shows here.
        httpx_sync_send, httpx_async_send = httpx.Client.send, httpx.AsyncClient.send

        def attempt_sync(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            response = httpx_sync_send(client, request, *args, **kwargs)
            calls._attempt(request, response.status_code)
            return response

        async def attempt_async(client: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            response = await httpx_async_send(client, request, *args, **kwargs)
            calls._attempt(request, response.status_code)
            return response

        httpx.Client.send = attempt_sync  # type: ignore[method-assign]
        httpx.AsyncClient.send = attempt_async  # type: ignore[method-assign]

    @contextmanager
    def record(self) -> Iterator[list[tuple[str, str, float]]]:
        """Record the calls made inside the block."""
        self.calls, self.attempts, self.recording = [], [], True
        try:
            yield self.calls
        finally:
            self.recording = False

    @classmethod
    def summary(
        cls, calls: list[tuple[str, str, float]], runs: int, attempts: list[tuple[str, str, int]]
    ) -> dict[str, Any]:
        """Calls per run and mean latency per endpoint, how many took over a second, and the responses retried."""
        grouped: dict[str, list[float]] = {}
        for method, path, seconds in calls:
            grouped.setdefault(f"{method} {path}", []).append(seconds)
        retried = Counter(f"{method} {path} → {status}" for method, path, status in attempts if status in RETRIED_CODES)
        return {
            "attempts": len(attempts),
            "retried_responses": dict(retried.most_common()),
            "calls": len(calls),
            "calls_per_run": round(len(calls) / max(1, runs), 2),
            "seconds": round(sum(s for *_, s in calls), 2),
            "slow_over_1s": sum(1 for *_, s in calls if s > cls.SLOW_S),
            "slow_seconds": round(sum(s for *_, s in calls if s > cls.SLOW_S), 2),
            "by_endpoint": {
                name: {
                    "per_run": round(len(times) / max(1, runs), 2),
                    "mean_ms": round(1000 * statistics.fmean(times), 1),
                    "max_ms": round(1000 * max(times), 1),
                    "over_1s": sum(1 for t in times if t > cls.SLOW_S),
                }
                for name, times in sorted(grouped.items(), key=lambda kv: -sum(kv[1]))
            },
        }


API = _ApiCalls()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    return sum(values) - values[3] - values[4], sum(values)


def _rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _LockCounter(logging.Handler):
    """Counts log records (any logger) that say a database was locked."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record if it mentions a locked database."""
        try:
            if LOCK_PATTERN.search(record.getMessage()):
                self.count += 1
        except Exception:  # noqa: BLE001  (a malformed record must not break the benchmark)
            pass


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run fn; return (seconds, result)."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# --- 1. the synthetic province ------------------------------------------------------------------------


def build_province(url: str, schema: str | None, notices: int, due: int) -> dict[str, Any]:
    """Run bench/synthetic.py in a child process (its memory is not this process's) and return its report."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "synthetic.py"),
        "--db",
        url,
        "--notices",
        str(notices),
        "--due",
        str(due),
        "--wide",
        "1",
        "--wide-size",
        str(WIDE_SIZE),
    ]
    if schema:
        command += ["--schema", schema]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"bench/synthetic.py failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[0])


# --- 2. the sweep query --------------------------------------------------------------------------------


def measure_query(quiet_as_of: datetime, as_of: datetime) -> dict[str, Any]:
    """Time find_due_directives with nothing due, and show the plan of the exact statement it sends."""
    from sqlalchemy import event

    from models import get_engine
    from tasks.due_directives import due_directives

    find_due_directives = due_directives.fn

    engine = get_engine()
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    cold_s, found = _timed(lambda: find_due_directives(quiet_as_of))
    event.remove(engine, "before_cursor_execute", capture)
    assert not found, f"{len(found)} directives due at the quiet time; the synthetic province is wrong"
    runs = [_timed(lambda: find_due_directives(quiet_as_of))[0] for _ in range(QUERY_RUNS)]
    due_s, due = _timed(lambda: find_due_directives(as_of))
    statement, parameters = next((s, p) for s, p in captured if "next_action_at" in s)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = [str(row[-1]) for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = [str(row[0]) for row in cursor.fetchall()]
        cursor.close()
    finally:
        raw.close()
    return {
        "sweep_query_nothing_due_s": round(statistics.median(runs), 6),
        "sweep_query_runs_s": [round(r, 6) for r in runs],
        "sweep_query_cold_s": round(cold_s, 6),
        "sweep_query_due_s": round(due_s, 6),
        "sweep_query_due_count": len(due),
        "sweep_query_sql": " ".join(statement.split()),
        "sweep_query_plan": plan,
        "sweep_query_uses_index": any("ix_directive_next_action_at" in line for line in plan),
    }


# --- 3. the pure planner -------------------------------------------------------------------------------


def measure_planner(as_of: datetime) -> dict[str, Any]:
    """Read every assignment (timed apart), then plan and classify them all in memory."""
    from bench.synthetic import read_all_facts
    from config.escalation import load_escalation_policy
    from config.policy import load_calendar
    from config.settings import get_settings
    from domain.planner import plan
    from domain.timeliness import classify
    from models import get_engine

    config_dir = get_settings().config_dir
    policy, calendar = load_escalation_policy(config_dir), load_calendar(config_dir)
    read_s, inputs = _timed(lambda: read_all_facts(get_engine(), as_of, config_dir))
    assignments = sum(len(d.assignments) for d in inputs)
    gc.collect()
    started = time.perf_counter()
    messages = 0
    directives_with_messages = 0
    for item in inputs:
        due_now = plan(item.assignments, item.facts, policy, calendar, item.sent_keys, as_of).due_now
        messages += len(due_now)
        directives_with_messages += bool(due_now)
    plan_s = time.perf_counter() - started
    started = time.perf_counter()
    categories: Counter[str] = Counter()
    for item in inputs:
        for facts in item.assignments:
            judged = classify(facts, calendar, as_of)
            categories[judged.category.value if judged else "withdrawn"] += 1
    classify_s = time.perf_counter() - started
    del inputs
    gc.collect()
    return {
        "db_read_all_assignments_s": round(read_s, 3),
        "planner_all_assignments_s": round(plan_s + classify_s, 3),
        "planner_plan_s": round(plan_s, 3),
        "planner_classify_s": round(classify_s, 3),
        "planner_assignments": assignments,
        "planner_messages_due": messages,
        "planner_directives_with_messages": directives_with_messages,
        "categories": dict(sorted(categories.items())),
    }


# --- 4. Prefect overhead and task runs ------------------------------------------------------------------


def plain_follow_up(directive_id: int, as_of: datetime) -> int:
    """The follow-up's work without Prefect: the same functions the flow's tasks call (sweep mode, no delivery).

    Keep in step with flows/follow_up.py: whatever work is missing here is counted as Prefect's overhead.
    """
    from tasks import artifacts
    from tasks.follow_up_steps import reconcile_directive

    done = reconcile_directive.fn(directive_id, as_of)
    artifacts.directive_rows(done.state, done.planned)  # the artifact's content; sending it is Prefect's part
    artifacts.summary_line(list(done.planned.timeliness.values()))
    return done.written


def _overhead_flow() -> Any:
    """A parent flow that times plain work and follow-up subflows on the same directives, in alternating order."""
    from prefect import flow, tags

    from flows.follow_up import follow_up_directive
    from flows.sweep import local_subflows

    @flow(name="bench-prefect-overhead", persist_result=False)
    def overhead(
        directive_ids: list[int], labels: dict[int, list[str]], as_of: datetime, heartbeats: bool
    ) -> list[dict[str, float]]:
        """Pairs (plain, subflow) per directive; the order alternates so caches favour neither."""
        out = []
        for index, directive_id in enumerate(directive_ids):

            def run_flow(directive_id: int = directive_id) -> None:
                with nullcontext() if heartbeats else local_subflows(), tags(*labels.get(directive_id, [])):
                    state = follow_up_directive(directive_id, as_of, deliver=False, return_state=True)
                assert state.is_completed(), state.message

            def run_plain(directive_id: int = directive_id) -> None:
                plain_follow_up(directive_id, as_of)

            if index % 2:
                flow_s, _ = _timed(run_flow)
                plain_s, _ = _timed(run_plain)
            else:
                plain_s, _ = _timed(run_plain)
                flow_s, _ = _timed(run_flow)
            out.append({"directive_id": directive_id, "plain_s": plain_s, "flow_s": flow_s})
        return out

    return overhead


def _summary(pairs: list[dict[str, float]]) -> dict[str, float]:
    """Mean and median of flow − plain over the pairs."""
    diffs = [p["flow_s"] - p["plain_s"] for p in pairs]
    return {
        "mean_s": round(statistics.fmean(diffs), 4),
        "median_s": round(statistics.median(diffs), 4),
        "plain_mean_s": round(statistics.fmean(p["plain_s"] for p in pairs), 4),
        "flow_mean_s": round(statistics.fmean(p["flow_s"] for p in pairs), 4),
    }


def measure_overhead(sample: list[int], warm_up: int, as_of: datetime) -> dict[str, Any]:
    """Prefect's cost per follow-up: first follow-ups, then re-runs with heartbeats off and on."""
    from models.db import session_scope
    from tasks import artifacts
    from tasks.directive_state import read_directive_state
    from tasks.due_directives import directive_tags
    from tasks.planning import plan_directive
    from tasks.rules import load_follow_up_rules

    tags_by_directive = directive_tags.fn
    labels = tags_by_directive(sample)
    overhead = _overhead_flow()
    overhead([warm_up], tags_by_directive([warm_up]), as_of, heartbeats=False)  # imports, first connections
    with API.record() as calls:
        first = overhead(sample, labels, as_of, heartbeats=False)  # writes the outbox rows (half by each side)
    rerun_off = overhead(sample, labels, as_of, heartbeats=False)  # identical work on both sides: nothing new
    rerun_on = overhead(sample, labels, as_of, heartbeats=True)
    artifact_times = []
    rules = load_follow_up_rules()
    for directive_id in sample[:10]:
        with session_scope(read_only=True) as session:
            state = read_directive_state(directive_id, as_of, session=session, rules=rules)
        planned = plan_directive(state, as_of, rules=rules)
        artifact_times.append(_timed(partial(artifacts.publish_directive, state, planned, as_of))[0])
    off, on, fresh = _summary(rerun_off), _summary(rerun_on), _summary(first)
    artifacts_s = statistics.fmean(artifact_times)
    return {
        "prefect_overhead_per_follow_up_s": off["mean_s"],
        "prefect_overhead_per_follow_up_median_s": off["median_s"],
        "prefect_overhead_heartbeats_on_s": on["mean_s"],
        "prefect_overhead_heartbeats_on_median_s": on["median_s"],
        "prefect_overhead_first_follow_up_s": fresh["mean_s"],
        "prefect_overhead_first_follow_up_median_s": fresh["median_s"],
        "plain_follow_up_s": fresh["plain_mean_s"],
        "plain_follow_up_rerun_s": off["plain_mean_s"],
        "flow_follow_up_s": fresh["flow_mean_s"],
        "flow_follow_up_rerun_s": off["flow_mean_s"],
        "artifacts_api_per_follow_up_s": round(artifacts_s, 4),
        "prefect_overhead_excluding_artifacts_s": round(off["mean_s"] - artifacts_s, 4),
        "overhead_sample": len(sample),
        "overhead_rounds_s": {
            "first_heartbeats_off": [round(p["flow_s"] - p["plain_s"], 3) for p in first],
            "rerun_heartbeats_off": [round(p["flow_s"] - p["plain_s"], 3) for p in rerun_off],
            "rerun_heartbeats_on": [round(p["flow_s"] - p["plain_s"], 3) for p in rerun_on],
        },
        "prefect_api_per_follow_up": _ApiCalls.summary(calls, len(sample), API.attempts),
    }


def _task_runs_of(flow_run_id: Any) -> int:
    """Task runs of one flow run, read back through the client (waiting for the event pipeline to settle)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    seen = -1
    with get_client(sync_client=True) as client:
        for _ in range(20):
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
            )
            if len(runs) == seen:
                return seen
            seen = len(runs)
            time.sleep(0.5)
    return seen


def measure_task_runs(narrow: int, wide: int, as_of: datetime) -> dict[str, Any]:
    """Task runs per follow-up at 5 and at 50 assignments: as sweep subflows, and standalone with delivery."""
    from prefect import flow

    from flows.follow_up import follow_up_directive
    from flows.sweep import local_subflows

    @flow(name="bench-task-runs", persist_result=False)
    def parent(ids: list[int]) -> list[Any]:
        """Run each follow-up as the sweep does and return their flow run ids."""
        out = []
        with local_subflows():
            for directive_id in ids:
                state = follow_up_directive(directive_id, as_of, deliver=False, return_state=True)
                out.append(state.state_details.flow_run_id)
        return out

    sub_narrow, sub_wide = parent([narrow, wide])
    with local_subflows():
        top = {
            d: follow_up_directive(d, as_of, deliver=True, return_state=True).state_details.flow_run_id
            for d in (narrow, wide)
        }
    return {
        "task_runs_per_follow_up": {"5": _task_runs_of(sub_narrow), str(WIDE_SIZE): _task_runs_of(sub_wide)},
        "task_runs_per_follow_up_with_delivery": {
            "5": _task_runs_of(top[narrow]),
            str(WIDE_SIZE): _task_runs_of(top[wide]),
        },
    }


def _untag_follow_up_tasks() -> None:
    """Experiment: run the follow-up flow's body with no tags in context, so its task runs carry none.

    A tagged task run asks the server for tag concurrency slots before it starts (one API call per run
    and tag set); the flow run itself keeps its tags for the UI.
    """
    import functools

    from prefect.context import TagsContext

    from flows.follow_up import follow_up_directive

    original = follow_up_directive.fn

    @functools.wraps(original)
    def untagged(*args: Any, **kwargs: Any) -> Any:
        with TagsContext(current_tags=set()):
            return original(*args, **kwargs)

    follow_up_directive.fn = untagged


# --- 5. end to end ----------------------------------------------------------------------------------------


def _outbox_states() -> dict[str, int]:
    """Outbox rows per state."""
    from sqlalchemy import func, select

    from models import Notification, get_engine

    with get_engine().connect() as conn:
        return dict(conn.execute(select(Notification.state, func.count()).group_by(Notification.state)).all())  # type: ignore[arg-type]


def _phases(flow_run_id: Any) -> dict[str, Any]:
    """Where the sweep's time went: its own task runs, and its follow-up subflow runs, read back through the client."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    time.sleep(3)  # let the server record the last runs from their events

    def pages(read: Callable[[int], list[Any]]) -> Iterator[Any]:
        offset = 0
        while True:
            page = read(offset)
            yield from page
            if len(page) < 200:
                return
            offset += 200

    phases: dict[str, Any] = {}
    subflows: list[float] = []
    with get_client(sync_client=True) as client:
        for run in pages(
            lambda offset: client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])),
                limit=200,
                offset=offset,
            )
        ):
            if run.state is not None and run.state.state_details.child_flow_run_id is not None:
                continue  # the parent-side stand-in of a subflow
            if run.start_time is not None and run.end_time is not None:
                name = re.sub(r"-[0-9a-f]{3}$", "", run.name)
                phases[name] = round(phases.get(name, 0.0) + (run.end_time - run.start_time).total_seconds(), 2)
        for run in pages(
            lambda offset: client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])),
                limit=200,
                offset=offset,
            )
        ):
            if run.start_time is not None and run.end_time is not None:
                subflows.append((run.end_time - run.start_time).total_seconds())
    phases["follow_up_subflows"] = len(subflows)
    if subflows:
        phases["follow_up_subflows_sum_s"] = round(sum(subflows), 2)
        phases["follow_up_subflow_mean_s"] = round(statistics.fmean(subflows), 3)
        phases["follow_up_subflow_median_s"] = round(statistics.median(subflows), 3)
        phases["follow_up_subflows_over_1s"] = sum(1 for s in subflows if s > 1.0)
    return phases


def measure_end_to_end(
    as_of: datetime, expected: int, profile_to: Path | None, server_pid: int, threads: int | None
) -> dict[str, Any]:
    """A real sweep at as_of over the due directives, delivery included (threads: follow-ups at once)."""
    from flows.sweep import FOLLOW_UP_THREADS, sweep

    threads = threads or FOLLOW_UP_THREADS
    from tasks.due_directives import due_directives

    find_due_directives = due_directives.fn

    due = len(find_due_directives(as_of))
    assert due == expected, f"{due} directives due, expected {expected}"
    before = _outbox_states()
    profiler = cProfile.Profile() if profile_to else None
    cpu_before, server_before, machine_before = _cpu_seconds(os.getpid()), _cpu_seconds(server_pid), _machine_ticks()
    with API.record() as calls:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        state = sweep(as_of=as_of, threads=threads, return_state=True)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    cpu_after, server_after, machine_after = _cpu_seconds(os.getpid()), _cpu_seconds(server_pid), _machine_ticks()
    after = _outbox_states()
    result = state.result() if state.is_completed() else {}
    out = {
        "end_to_end_due": due,
        "end_to_end_s": round(seconds, 2),
        "end_to_end_threads": threads,
        "end_to_end_per_directive_s": round(seconds / max(1, due), 4),
        "end_to_end_state": state.type.value,
        "end_to_end_message": state.message,
        "end_to_end_followed_up": result.get("followed_up"),
        "end_to_end_failed": result.get("failed"),
        "end_to_end_sent": result.get("sent"),
        "outbox_before": before,
        "outbox_after": after,
        "end_to_end_profiled": bool(profiler),
        "end_to_end_phases_s": _phases(state.state_details.flow_run_id),
        "end_to_end_prefect_api": _ApiCalls.summary(calls, due, API.attempts),
        # Where the CPU went: this process (dondoc + Prefect client), the Prefect server, and how busy the machine was.
        "end_to_end_cpu_s": {
            "bench_process": round(cpu_after - cpu_before, 1),
            "prefect_server": round(server_after - server_before, 1),
            "machine_busy": round(
                (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1]), 2
            ),
        },
    }
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        print(text.getvalue(), file=sys.stderr)
        out["end_to_end_profile"] = str(profile_to)
    return out


# --- 6. scale-out: the sweep through a process work pool ----------------------------------------------------

FAN_OUT_POOL = "dondoc"  # the work pool prefect.yaml's deployments use
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _children_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and the children it has waited for (a worker and its flow-run processes)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _prefect_cli(env: dict[str, str], *args: str) -> None:
    """Run a prefect CLI command in the project directory; raise with its output if it fails."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _due_snapshot(as_of: datetime) -> tuple[int, dict[int, Any]]:
    """The newest outbox id and each due directive's next action time, to put the province back after a run."""
    from sqlalchemy import func, select

    from models import Directive, Notification, get_engine

    with get_engine().connect() as conn:
        newest = conn.execute(select(func.coalesce(func.max(Notification.id), 0))).scalar_one()
        due = dict(
            conn.execute(select(Directive.id, Directive.next_action_at).where(Directive.next_action_at <= as_of)).all()
        )  # type: ignore[arg-type, operator]
    return int(newest), due


def _restore(snapshot: tuple[int, dict[int, Any]]) -> None:
    """Undo a fan-out run: drop the outbox rows it wrote and make the same directives due again."""
    from sqlalchemy import delete, update

    from models import Directive, Notification, get_engine

    newest, due = snapshot
    with get_engine().begin() as conn:
        conn.execute(delete(Notification).where(Notification.id > newest))  # type: ignore[arg-type, operator]
        for directive_id, next_action_at in due.items():
            conn.execute(update(Directive).where(Directive.id == directive_id).values(next_action_at=next_action_at))  # type: ignore[arg-type]


def measure_fan_out(
    tmp: Path, as_of: datetime, expected: int, workers: list[int], limit: int, server_pid: int
) -> dict[str, Any]:
    """The end-to-end sweep with fan_out=True through N process workers, for each N; directives per second."""
    from flows.sweep import sweep
    from tasks.due_directives import due_directives

    env = {
        **os.environ,
        "DONDOC_PROJECT_DIR": str(ROOT),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_UI_ENABLED": "false",
    }
    _prefect_cli(env, "work-pool", "create", FAN_OUT_POOL, "--type", "process")
    _prefect_cli(env, "deploy", "--name", "follow-up-directive")
    out: dict[str, Any] = {"fan_out_limit_per_worker": limit, "fan_out_runs": {}}
    for n in workers:
        due = len(due_directives.fn(as_of))
        assert due == expected, f"{due} directives due, expected {expected}"
        snapshot = _due_snapshot(as_of)
        logs = [open(tmp / f"worker-{n}-{i}.log", "wb") for i in range(n)]  # noqa: SIM115  (closed below)
        procs = [
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "prefect"),
                    "worker",
                    "start",
                    "--pool",
                    FAN_OUT_POOL,
                    "--limit",
                    str(limit),
                ],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]
        try:
            time.sleep(5)  # the workers register and start polling
            workers_before = sum(_children_cpu_seconds(proc.pid) for proc in procs)
            cpu_before, server_before = _cpu_seconds(os.getpid()), _cpu_seconds(server_pid)
            started = time.perf_counter()
            state = sweep(as_of=as_of, fan_out=True, return_state=True)
            seconds = time.perf_counter() - started
            cpu_after, server_after = _cpu_seconds(os.getpid()), _cpu_seconds(server_pid)
            # A worker's own CPU and that of the flow-run processes it started and reaped.
            workers_cpu = sum(_children_cpu_seconds(proc.pid) for proc in procs) - workers_before
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for log in logs:
                log.close()
        result = state.result() if state.is_completed() else {}
        out["fan_out_runs"][str(n)] = {
            "workers": n,
            "due": due,
            "seconds": round(seconds, 1),
            "directives_per_s": round(due / seconds, 3),
            "state": state.type.value,
            "failed": result.get("failed"),
            "followed_up": result.get("followed_up"),
            "sweep_process_cpu_s": round(cpu_after - cpu_before, 1),
            "workers_cpu_s": round(workers_cpu, 1),
            "cpu_per_directive_s": {
                "workers": round(workers_cpu / max(1, due), 3),
                "sweep_process": round((cpu_after - cpu_before) / max(1, due), 3),
                "prefect_server": round((server_after - server_before) / max(1, due), 3),
            },
            "prefect_server_cpu_s": round(server_after - server_before, 1),
            "load_average": os.getloadavg(),
        }
        _restore(snapshot)
    return out


# --- report -------------------------------------------------------------------------------------------------


def _checks(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each figure beside its target, with pass/fail."""
    checks: dict[str, dict[str, Any]] = {}
    for name, limit in TARGETS.items():
        value = result.get(name)
        checks[name] = {"value": value, "target": f"<= {limit:g}", "pass": value is not None and value <= limit}
    runs = result.get("task_runs_per_follow_up", {})
    values = list(runs.values())
    checks["task_runs_per_follow_up"] = {
        "value": runs,
        "target": "constant: the same at 5 and at 50 assignments",
        "pass": len(values) == 2 and values[0] == values[1] and values[0] > 0,
    }
    if result.get("end_to_end_extrapolated"):
        checks["end_to_end_1000_due_s"]["note"] = (
            f"extrapolated from {result['end_to_end_due']} due directives (--quick)"
        )
    return checks


def _mark(ok: bool) -> str:
    """✓ or ✗."""
    return "✓" if ok else "✗"


def _human(result: dict[str, Any], checks: dict[str, dict[str, Any]]) -> str:
    """One Vietnamese line with every figure and its verdict."""

    def num(x: float, digits: int = 2) -> str:
        return f"{x:.{digits}f}".replace(".", ",")

    c = checks
    runs = result["task_runs_per_follow_up"]
    e2e = f"{result['end_to_end_due']} mục đầu-cuối {num(result['end_to_end_s'], 1)} s" + (
        f" (ước cho 1.000 mục {num(result['end_to_end_1000_due_s'], 0)} s ≤ 360 s {_mark(c['end_to_end_1000_due_s']['pass'])})"
        if result.get("end_to_end_extrapolated")
        else f" ≤ 360 s {_mark(c['end_to_end_1000_due_s']['pass'])}"
    )
    return (
        f"Đôn đốc trên tỉnh giả lập {result['dataset']['assignments']} việc (dondoc: {result['backend']}, "
        f"Prefect: {result['prefect_backend']}{'; ' + result['what_if'] if result.get('what_if') else ''}): "
        f"truy vấn sweep {num(result['sweep_query_nothing_due_s'] * 1000, 1)} ms ≤ 1 s {_mark(c['sweep_query_nothing_due_s']['pass'])}"
        f"{' (dùng chỉ mục)' if result['sweep_query_uses_index'] else ' (KHÔNG dùng chỉ mục)'}; "
        f"lập kế hoạch toàn bộ {num(result['planner_all_assignments_s'])} s ≤ 10 s {_mark(c['planner_all_assignments_s']['pass'])}; "
        f"chi phí Prefect {num(result['prefect_overhead_per_follow_up_s'], 3)} s/lượt ≤ 0,3 s {_mark(c['prefect_overhead_per_follow_up_s']['pass'])}"
        f" (bật heartbeat: {num(result['prefect_overhead_heartbeats_on_s'], 3)} s); "
        f"task/lượt {runs['5']} ở 5 việc và {runs[str(WIDE_SIZE)]} ở {WIDE_SIZE} việc {_mark(c['task_runs_per_follow_up']['pass'])}; "
        f"{e2e}; bộ nhớ đỉnh {num(result['peak_memory_mb'], 0)} MB ≤ 500 MB {_mark(c['peak_memory_mb']['pass'])}."
    )


def main(argv: list[str] | None = None) -> int:
    """Run every measurement; print one JSON object and one human line; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 due directives end to end instead of 1,000")
    parser.add_argument(
        "--postgres", metavar="URL", help="use this PostgreSQL database (a fresh schema, dropped afterwards)"
    )
    parser.add_argument(
        "--prefect-postgres",
        metavar="URL",
        help="run Prefect's server on a fresh database of this PostgreSQL server (default: its own SQLite)",
    )
    parser.add_argument("--notices", type=int, default=2000, help="size of the synthetic province (10 directives each)")
    parser.add_argument("--due", type=int, help="due directives for the end-to-end sweep (default 1000, --quick 100)")
    parser.add_argument(
        "--what-if-untagged-tasks",
        action="store_true",
        help="experiment: follow-up task runs without the run's tags (the flow runs keep them)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the end-to-end sweep with cProfile (slows it)")
    parser.add_argument(
        "--threads", type=int, help="follow-ups at once in the end-to-end sweep (default: the sweep's own)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (databases, server log, mailbox)"
    )
    parser.add_argument(
        "--fan-out",
        action="store_true",
        help="scale-out: the end-to-end sweep through a process work pool (dondoc and Prefect on PostgreSQL)",
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="with --fan-out: worker counts to measure"
    )
    parser.add_argument("--worker-limit", type=int, default=2, help="with --fan-out: flow runs at once per worker")
    args = parser.parse_args(argv)
    if args.fan_out:
        return fan_out_main(args)
    due = args.due or (100 if args.quick else 1000)

    tmp = Path(tempfile.mkdtemp(prefix="dondoc-bench-sweep-"))
    port = _free_port()
    url = args.postgres or f"sqlite:///{tmp / 'home' / 'dondoc.db'}"
    (tmp / "home").mkdir(parents=True)
    locks = _LockCounter()
    logging.getLogger().addHandler(locks)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "backend": "postgresql" if args.postgres else "sqlite",
        "prefect_backend": "postgresql" if args.prefect_postgres else "sqlite",
        "quick": args.quick,
    }
    try:
        with _postgres_schema(args.postgres) if args.postgres else nullcontext(None) as schema:  # type: ignore[attr-defined]
            _isolate(tmp, url, schema, port)
            import prefect
            import sqlalchemy

            from config.settings import get_settings
            from models.db import reset_engine

            for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
                logging.getLogger(name).addHandler(locks)
            get_settings.cache_clear()
            reset_engine()
            result["machine"] = {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "prefect": prefect.__version__,
                "sqlalchemy": sqlalchemy.__version__,
                "platform": platform.platform(),
            }

            build_s, dataset = _timed(lambda: build_province(url, schema, args.notices, due + OVERHEAD_SAMPLE))
            result["build_s"] = round(build_s, 2)
            result["dataset"] = dataset
            as_of = datetime.fromisoformat(dataset["as_of"])
            quiet = datetime.fromisoformat(dataset["quiet_as_of"])
            wide = dataset["wide_directive_ids"][0]

            memory: dict[str, float] = {"after_start": _rss_mb()}
            result.update(measure_query(quiet, as_of))
            memory["after_query"] = _rss_mb()
            result.update(measure_planner(as_of))
            memory["after_planner"] = _rss_mb()
            result["peak_memory_by_step_mb"] = memory
            API.install()
            if args.what_if_untagged_tasks:
                _untag_follow_up_tasks()
                result["what_if"] = "follow-up task runs without tags"

            with (
                _prefect_database(args.prefect_postgres) as prefect_db,
                _prefect_server(tmp, port, prefect_db) as server,
            ):
                result["prefect_server_startup_s"] = server["startup_s"]
                result["prefect_server_settings"] = server["settings"]
                from tasks.due_directives import due_directives

                due_ids = [d.directive_id for d in due_directives.fn(as_of)]
                sample = sorted(random.Random(4).sample(due_ids, OVERHEAD_SAMPLE))
                result.update(measure_overhead(sample, wide, as_of))
                memory["after_overhead"] = _rss_mb()
                gc.collect()
                result.update(
                    measure_end_to_end(
                        as_of, due, tmp / "sweep.prof" if args.profile else None, server["pid"], args.threads
                    )
                )
                memory["after_end_to_end"] = _rss_mb()
                result.update(measure_task_runs(sample[0], wide, as_of))
            result["prefect_server_peak_memory_mb"] = server.get("peak_memory_mb")
            server_log = Path(server["log"]).read_text(errors="replace")
            result["prefect_server_database_locked"] = len(LOCK_PATTERN.findall(server_log))
            result["client_database_locked"] = locks.count
            result["end_to_end_extrapolated"] = result["end_to_end_due"] != 1000
            result["end_to_end_1000_due_s"] = round(result["end_to_end_s"] * 1000 / result["end_to_end_due"], 1)
            result["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            result["builder_peak_memory_mb"] = dataset.get("peak_memory_mb")
    finally:
        if args.keep:
            result["kept"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    checks = _checks(result)
    result["checks"] = checks
    result["all_pass"] = all(c["pass"] for c in checks.values())
    print(json.dumps(result, ensure_ascii=False, default=str))
    print(_human(result, checks))
    return 0 if result["all_pass"] else 1


def fan_out_main(args: argparse.Namespace) -> int:
    """--fan-out: build a province on PostgreSQL, start a PostgreSQL-backed server, measure N workers each."""
    due = args.due or 40
    dondoc_url = args.postgres or DEFAULT_POSTGRES
    prefect_url = args.prefect_postgres or DEFAULT_POSTGRES
    tmp = Path(tempfile.mkdtemp(prefix="dondoc-bench-fan-out-"))
    (tmp / "home").mkdir(parents=True)
    port = _free_port()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "mode": "fan-out",
        "backend": "postgresql",
        "prefect_backend": "postgresql",
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }
    try:
        with _postgres_schema(dondoc_url) as schema:
            _isolate(tmp, dondoc_url, schema, port)
            from config.settings import get_settings
            from models.db import reset_engine

            get_settings.cache_clear()
            reset_engine()
            build_s, dataset = _timed(lambda: build_province(dondoc_url, schema, args.notices, due))
            result["build_s"] = round(build_s, 2)
            result["dataset"] = {k: dataset[k] for k in ("notices", "directives", "assignments", "due_directives")}
            as_of = datetime.fromisoformat(dataset["as_of"])
            with _prefect_database(prefect_url) as prefect_db, _prefect_server(tmp, port, prefect_db) as server:
                result["prefect_server_settings"] = server["settings"]
                result.update(measure_fan_out(tmp, as_of, due, args.workers, args.worker_limit, server["pid"]))
    finally:
        if args.keep:
            result["kept"] = str(tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    runs = result.get("fan_out_runs", {})
    print(json.dumps(result, ensure_ascii=False, default=str))
    print(
        "Chia việc cho worker (PostgreSQL): "
        + "; ".join(
            f"{r['workers']} worker: {r['due']} mục trong {r['seconds']:.1f} s = {r['directives_per_s']:.2f} mục/s"
            f" (CPU mỗi mục: worker {r['cpu_per_directive_s']['workers']:.2f} s, máy chủ Prefect "
            f"{r['cpu_per_directive_s']['prefect_server']:.2f} s; tải {r['load_average'][0]:.1f})"
            for r in runs.values()
        )
    )
    return 0 if runs and all(r["failed"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
