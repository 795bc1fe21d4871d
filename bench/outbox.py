"""Benchmark: messages/s through the outbox to a local aiosmtpd server, beside two references.

References, measured in the same run against the same server:
- the ceiling: a bare smtplib loop over ONE connection that builds and sends the SAME messages the
  outbox sends (rendered from the same rows beforehand, same message builder), so the ratio is the
  outbox's own overhead (database, rendering, Apprise, classification), not the size of the messages;
- the short-message ceiling of earlier runs: the same loop with a one-line message (kept beside it);
- the naive way: one Apprise object per message (stock mailto:// plugin, default settings).

The outbox run claims N due rows (distinct addresses, so no digests), renders each from its
template, sends it through dondoc's e-mail plugin and records the result in its own transaction.
The machine is shared, so each of --rounds rounds measures the ceiling and then the outbox back to
back, and the share is the median of the rounds' shares (every round is printed too, with the CPU
time per message, which other processes' load does not inflate). Nothing may be lost or doubled:
the server's count and keys are checked in every round. Below the target the JSON carries a
cProfile summary of where the time goes.

    python bench/outbox.py [--count 500] [--rounds 5] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import smtplib
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET = 100.0
SHARE_TARGET = 0.65  # issue 17: at least this share of the same-run ceiling
NOW = datetime(2022, 9, 26, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam: inside the send window
SENDER = "dondoc@bacgiang.example"


def _configure(home: Path, database_url: str | None, schema: str | None, smtp_url: str) -> None:
    """Point dondoc at a scratch home, the database and the SMTP server; migrate."""
    os.environ["DONDOC_HOME"] = str(home)
    os.environ["DONDOC_SMTP_URL"] = smtp_url
    if database_url:
        os.environ["DONDOC_DATABASE_URL"] = database_url
    if schema:
        os.environ["DONDOC_DATABASE_SCHEMA"] = schema
    from config.settings import get_settings
    from models.db import reset_engine
    from models.migrate import upgrade

    get_settings.cache_clear()
    reset_engine()
    upgrade()


def _insert_rows(count: int, run: str) -> list[str]:
    """Insert count due outbox rows to distinct addresses; return their keys."""
    from sqlalchemy import insert

    from models import Notification, get_engine
    from tests.outbox_helpers import PAYLOAD

    keys = [f"bench|{run}|{i}" for i in range(count)]
    rows = [
        {
            "idempotency_key": key,
            "plan_key": key,
            "kind": "reminder",
            "channel": "email",
            "address": f"agency{i}@bacgiang.example",
            "payload": PAYLOAD | {"offset": 2},
            "state": "pending",
            "planned_at": NOW,
            "next_attempt_at": NOW,
            "attempts": 0,
            "error_history": [],
            "created_at": NOW,
            "subject": "",
            "body_text": "",
        }
        for i, key in enumerate(keys)
    ]
    with get_engine().begin() as conn:
        conn.execute(insert(Notification), rows)
    return keys


def bare_smtplib(host: str, port: int, count: int) -> float:
    """Messages/s over one SMTP connection (the ceiling)."""
    from notifications.plugins.mime import build_message

    start = time.perf_counter()
    client = smtplib.SMTP(host, port)
    try:
        for i in range(count):
            to = f"agency{i}@bacgiang.example"
            message = build_message(
                subject="Nhắc việc: Mục 2.3 còn 2 ngày làm việc",
                text="Kính gửi Sở Tài chính",
                html="<p>Kính gửi Sở Tài chính</p>",
                from_addr=SENDER,
                to=[to],
                idempotency_key=f"ref|{i}",
            )
            client.sendmail(SENDER, [to], message.as_bytes())
    finally:
        client.quit()
    return count / (time.perf_counter() - start)


def rendered_rows(count: int) -> list[tuple[str, str, str, str | None]]:
    """(to, subject, text, html) of the messages the outbox will send for count rows, rendered beforehand."""
    from config.notifications import load_notification_policy
    from config.policy import load_calendar
    from config.settings import get_settings
    from domain.workdays import local_date
    from notifications.render import render_message
    from tests.outbox_helpers import PAYLOAD

    config_dir = get_settings().config_dir
    policy, calendar = load_notification_policy(config_dir), load_calendar(config_dir)
    rendered = render_message("reminder", PAYLOAD | {"offset": 2}, "email", policy, local_date(NOW), calendar)
    return [(f"agency{i}@bacgiang.example", rendered.subject, rendered.text, rendered.html) for i in range(count)]


def bare_smtplib_same_messages(host: str, port: int, messages: list[tuple[str, str, str, str | None]]) -> float:
    """Messages/s building and sending the outbox's own messages over one SMTP connection (the ceiling)."""
    from notifications.plugins.mime import build_message

    start = time.perf_counter()
    client = smtplib.SMTP(host, port)
    try:
        for i, (to, subject, text, html) in enumerate(messages):
            message = build_message(
                subject=subject, text=text, html=html, from_addr=SENDER, to=[to], idempotency_key=f"ref|{i}"
            )
            client.sendmail(SENDER, [to], message.as_bytes())
    finally:
        client.quit()
    return len(messages) / (time.perf_counter() - start)


def naive_apprise(host: str, port: int, count: int) -> float:
    """Messages/s building one Apprise object per message (stock plugin, default settings)."""
    import apprise

    start = time.perf_counter()
    for i in range(count):
        notifier = apprise.Apprise()
        notifier.add(f"mailto://{host}:{port}?from={SENDER}&to=agency{i}@bacgiang.example&mode=insecure")
        if not notifier.notify(body="Kính gửi Sở Tài chính", title="Nhắc việc: Mục 2.3 còn 2 ngày làm việc"):
            raise RuntimeError(f"naive Apprise send {i} failed")
    return count / (time.perf_counter() - start)


class ChannelTimer:
    """Times the channel part (MIME building, Apprise, SMTP) apart from the outbox: prepare_message and the hand-over."""

    def __init__(self) -> None:
        import notifications.channels as channels
        import notifications.dispatcher as outbox

        self.outbox = outbox
        self.prepared = channels.PreparedMessage
        self.originals = (outbox.prepare_message, channels.PreparedMessage.send)
        self.seconds = 0.0

    def _timed(self, function: Any) -> Any:
        """function, adding its time to self.seconds."""

        def timed(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed

    def __enter__(self) -> ChannelTimer:
        prepare, send = self.originals
        self.outbox.prepare_message = self._timed(prepare)
        self.prepared.send = self._timed(send)  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.outbox.prepare_message, self.prepared.send = self.originals  # type: ignore[method-assign]


def outbox_run(count: int, profile: bool) -> tuple[float, object, list[str], str | None, float, float]:
    """Messages/s through deliver_due; return (rate, report, keys, profile text, seconds in the channel, CPU seconds)."""
    from config.settings import get_settings
    from models.db import session_scope
    from notifications.dispatcher import deliver_due

    keys = _insert_rows(count, uuid.uuid4().hex[:8])
    profiler = cProfile.Profile() if profile else None
    with ChannelTimer() as channel:
        start, cpu = time.perf_counter(), time.thread_time()
        if profiler:
            profiler.enable()
        with session_scope() as session:
            report = deliver_due(NOW, session=session, settings=get_settings(), limit=count)
        if profiler:
            profiler.disable()
        rate = count / (time.perf_counter() - start)
        cpu = time.thread_time() - cpu
    text = None
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(70)
        text = buffer.getvalue()
    return rate, report, keys, text, channel.seconds, cpu


@dataclass
class Round:
    """One round: the same-message ceiling, then the outbox on fresh rows, back to back."""

    ceiling: float
    outbox: float
    ceiling_cpu_ms: float  # this thread's CPU per message: immune to other processes' load
    outbox_cpu_ms: float
    channel_seconds: float
    lost: int
    doubled: int
    connections: int
    report: object

    @property
    def share(self) -> float:
        """The outbox's rate as a share of the ceiling measured just before it."""
        return self.outbox / self.ceiling


def measure_round(smtp: Any, count: int) -> Round:
    """Measure the ceiling and then the outbox on count messages; count what the server received."""
    messages = rendered_rows(count)
    smtp.clear()
    cpu = time.thread_time()
    ceiling = bare_smtplib_same_messages(smtp.host, smtp.port, messages)
    ceiling_cpu = time.thread_time() - cpu
    smtp.clear()
    rate, report, keys, _, channel_seconds, outbox_cpu = outbox_run(count, profile=False)
    received = Counter(m.message["X-Dondoc-Key"] for m in smtp.messages)
    return Round(
        ceiling=ceiling,
        outbox=rate,
        ceiling_cpu_ms=1000 * ceiling_cpu / count,
        outbox_cpu_ms=1000 * outbox_cpu / count,
        channel_seconds=channel_seconds,
        lost=len(set(keys) - set(received)),
        doubled=sum(1 for n in received.values() if n > 1),
        connections=smtp.connections,
        report=report,
    )


def main() -> None:
    """Run the measurements and print one JSON object and one human line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument(
        "--rounds", type=int, default=5, help="ceiling/outbox pairs, back to back; the share is their median"
    )
    parser.add_argument("--database-url", default=None, help="default: a scratch SQLite file (the embedded default)")
    parser.add_argument("--profile", action="store_true", help="always include the cProfile summary")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)  # per-message INFO/WARNING lines are not what we measure
    from tests.smtp_server import SMTPTestServer

    schema = None
    engine = None
    if args.database_url and args.database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        schema = f"dondoc_bench_{uuid.uuid4().hex[:10]}"
        engine = create_engine(args.database_url)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as home, SMTPTestServer() as smtp:
            _configure(
                Path(home), args.database_url, schema, f"mailto://{smtp.host}:{smtp.port}?from={SENDER}&mode=insecure"
            )
            warm = max(10, args.count // 20)
            bare_smtplib(smtp.host, smtp.port, warm)
            bare_smtplib_same_messages(smtp.host, smtp.port, rendered_rows(warm))
            naive_apprise(smtp.host, smtp.port, warm)
            outbox_run(warm, profile=False)
            smtp.clear()

            short_ceiling = bare_smtplib(smtp.host, smtp.port, args.count)
            naive = naive_apprise(smtp.host, smtp.port, args.count)
            # The machine is shared: a ceiling measured minutes away from the outbox compares two
            # different loads. Each round measures both back to back; the share is their median.
            rounds = [measure_round(smtp, args.count) for _ in range(args.rounds)]
            middle = sorted(rounds, key=lambda r: r.share)[len(rounds) // 2]
            share = statistics.median(r.share for r in rounds)
            lost = sum(r.lost for r in rounds)
            doubled = sum(r.doubled for r in rounds)
            profile_text = None
            if share < SHARE_TARGET or args.profile:
                smtp.clear()
                _, _, _, profile_text, _, _ = outbox_run(args.count, profile=True)
            from config.settings import get_settings

            backend = "postgresql" if schema else "sqlite"
            rate = middle.outbox
            result = {
                "benchmark": "outbox",
                "count": args.count,
                "rounds": args.rounds,
                "database": backend,
                "outbox_share_of_ceiling": round(share, 2),
                "outbox_share_of_ceiling_per_round": [round(r.share, 2) for r in rounds],
                "share_target": SHARE_TARGET,
                "meets_share_target": share >= SHARE_TARGET,
                "outbox_msg_per_s": round(rate, 1),
                "bare_smtplib_one_connection_msg_per_s": round(middle.ceiling, 1),
                "outbox_msg_per_s_per_round": [round(r.outbox, 1) for r in rounds],
                "bare_smtplib_one_connection_msg_per_s_per_round": [round(r.ceiling, 1) for r in rounds],
                "cpu_ms_per_msg_outbox": round(statistics.median(r.outbox_cpu_ms for r in rounds), 2),
                "cpu_ms_per_msg_ceiling": round(statistics.median(r.ceiling_cpu_ms for r in rounds), 2),
                "bare_smtplib_short_message_msg_per_s": round(short_ceiling, 1),
                "naive_apprise_object_per_message_msg_per_s": round(naive, 1),
                "outbox_share_of_short_message_ceiling": round(rate / short_ceiling, 2),
                "smtp_connections_used_by_outbox": middle.connections,
                "seconds_total": round(args.count / rate, 2),
                "seconds_in_channel": round(middle.channel_seconds, 2),
                "seconds_in_outbox_db_render": round(args.count / rate - middle.channel_seconds, 2),
                "target_msg_per_s": TARGET,
                "meets_target": rate >= TARGET,
                "received": args.count * args.rounds - lost,
                "lost": lost,
                "doubled": doubled,
                "report": {k: getattr(middle.report, k) for k in ("claimed", "sent", "retrying", "dead", "digests")},
                "python": sys.version.split()[0],
                "home_is_scratch": str(get_settings().home).startswith(tempfile.gettempdir()),
            }
            if profile_text:
                result["profile_top_cumulative"] = profile_text.splitlines()
    finally:
        if engine is not None and schema:
            from sqlalchemy import text

            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()

    print(json.dumps(result, ensure_ascii=False))
    verdict = "đạt" if result["meets_share_target"] and not lost and not doubled else "CHƯA ĐẠT"
    print(
        f"outbox ({backend}): {result['outbox_share_of_ceiling']} (trung vị {args.rounds} lượt "
        f"{result['outbox_share_of_ceiling_per_round']}; mục tiêu ≥ {SHARE_TARGET}) của smtplib một kết nối cùng nội dung; "
        f"lượt giữa: {result['outbox_msg_per_s']} tin/s so với {result['bare_smtplib_one_connection_msg_per_s']} tin/s "
        f"({result['smtp_connections_used_by_outbox']} kết nối); CPU mỗi tin: outbox {result['cpu_ms_per_msg_outbox']} ms, "
        f"smtplib {result['cpu_ms_per_msg_ceiling']} ms; thư ngắn {result['bare_smtplib_short_message_msg_per_s']} tin/s, "
        f"mỗi tin một đối tượng Apprise {result['naive_apprise_object_per_message_msg_per_s']} tin/s; thời gian lượt giữa: "
        f"kênh gửi {result['seconds_in_channel']} s, outbox (CSDL, dựng nội dung) "
        f"{result['seconds_in_outbox_db_render']} s; nhận {result['received']}/{args.count * args.rounds}, "
        f"mất {lost}, trùng {doubled}: {verdict}"
    )


if __name__ == "__main__":
    main()
