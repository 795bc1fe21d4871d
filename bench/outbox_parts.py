"""Where each millisecond of an outbox message goes: thread CPU and wall time per part, beside the ceiling.

Wraps the functions that make up one message (the database step, rendering, Apprise's service
and dispatch, the MIME build, `as_bytes`, the SMTP submit) with timers; each part is reported
without the parts nested in it. The same-message ceiling of bench/outbox.py runs before each
round. Timers add a little to every part; compare parts with each other and across trees.

    python bench/outbox_parts.py [--count 400] [--rounds 3] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import outbox as bench  # noqa: E402  # bench/outbox.py, next to this file

CPU: Counter[str] = Counter()
WALL: Counter[str] = Counter()
_open: list[list[float]] = []  # [cpu, wall] spent in nested timed parts, per open part


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap function so its own time (minus nested timed parts) is added to the part name."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        _open.append([0.0, 0.0])
        try:
            return function(*args, **kwargs)
        finally:
            spent_cpu, spent_wall = time.thread_time() - cpu, time.perf_counter() - wall
            nested = _open.pop()
            CPU[name] += spent_cpu - nested[0]
            WALL[name] += spent_wall - nested[1]
            if _open:
                _open[-1][0] += spent_cpu
                _open[-1][1] += spent_wall

    return wrapper


def instrument() -> None:
    """Put the timers on the outbox's parts."""
    from email.message import EmailMessage

    import notifications.channels as channels
    import notifications.dispatcher as dispatcher
    import notifications.outbox as outbox
    import notifications.plugins.smtp_email as smtp_email

    smtp_email.build_message = timed("MIME build", smtp_email.build_message)  # type: ignore[assignment]
    EmailMessage.as_bytes = timed("MIME as_bytes", EmailMessage.as_bytes)  # type: ignore[method-assign]
    smtp_email.DondocEmail._submit = timed("SMTP submit", smtp_email.DondocEmail._submit)  # type: ignore[method-assign]
    channels._instantiate = timed("Apprise: URL parse and service", channels._instantiate)
    glue = "Apprise dispatch and channel glue"
    dispatcher.prepare_message = timed(glue, dispatcher.prepare_message)
    channels.PreparedMessage.send = timed(glue, channels.PreparedMessage.send)  # type: ignore[method-assign]
    dispatcher.render_message = timed("rendering", dispatcher.render_message)
    dispatcher.BatchDispatcher._commit = timed("database step", dispatcher.BatchDispatcher._commit)  # type: ignore[method-assign]
    outbox.claim = timed("claim", outbox.claim)
    dispatcher.deliver_due = timed("deliver_due, the rest", dispatcher.deliver_due)


def measure(smtp: Any, count: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """Run rounds of ceiling then outbox; return (CPU ms, wall ms) per message for each part and round."""
    import notifications.dispatcher as dispatcher
    from config.settings import get_settings
    from models.db import session_scope

    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(rounds):
        messages = bench.rendered_rows(count)
        cpu, wall = time.thread_time(), time.perf_counter()
        bench.bare_smtplib_same_messages(smtp.host, smtp.port, messages)
        found["ceiling: build + send the same messages"].append(
            ((time.thread_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count)
        )
        smtp.clear()
        bench._insert_rows(count, uuid.uuid4().hex[:8])
        CPU.clear()
        WALL.clear()
        cpu, wall = time.thread_time(), time.perf_counter()
        with session_scope() as session:
            dispatcher.deliver_due(bench.NOW, session=session, settings=get_settings(), limit=count)
        found["outbox, total"].append(
            ((time.thread_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count)
        )
        smtp.clear()
        for name in CPU:
            found[name].append((CPU[name] * 1000 / count, WALL[name] * 1000 / count))
    return found


def main() -> None:
    """Print one line per part: median CPU and wall milliseconds per message."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a scratch SQLite file")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from sqlalchemy import create_engine, text

    from tests.smtp_server import SMTPTestServer

    schema = engine = None
    if args.database_url and args.database_url.startswith("postgresql"):
        schema = f"dondoc_bench_{uuid.uuid4().hex[:10]}"
        engine = create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as home, SMTPTestServer() as smtp:
            url = f"mailto://{smtp.host}:{smtp.port}?from={bench.SENDER}&mode=insecure"
            bench._configure(Path(home), args.database_url, schema, url)
            instrument()
            bench.outbox_run(30, profile=False)  # warm up: imports, the calendar, prepared statements
            smtp.clear()
            found = measure(smtp, args.count, args.rounds)
    finally:
        if engine is not None:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
    print(f"{'phần (ms mỗi tin, trung vị ' + str(args.rounds) + ' lượt)':44s} {'CPU':>6s} {'đồng hồ':>8s}")
    for name, values in found.items():
        cpu = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        print(f"{name:44s} {cpu:6.2f} {wall:8.2f}")


if __name__ == "__main__":
    main()
