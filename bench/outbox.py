"""Benchmark: messages/s through the outbox to a local aiosmtpd server, beside two references.

References, measured in the same run against the same server:
- the ceiling: a bare smtplib loop over ONE connection that builds and sends the SAME messages the
  outbox sends (rendered from the same rows beforehand, same message builder), so the ratio is the
  outbox's own overhead (database, Apprise, classification), not the size of the messages;
- the short-message ceiling of earlier runs: the same loop with a one-line message (kept beside it);
- the naive way: one Apprise object per message (stock mailto:// plugin, default settings).

The outbox run claims N due rows (distinct addresses, so no digests), renders each from its
template, sends it through one Apprise service and records the result in its own transaction.
Nothing may be lost or doubled: the server's count and keys are checked. Below the target the
JSON carries a cProfile summary of where the time goes.

    python bench/outbox.py [--count 500] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import smtplib
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

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
    """Wraps the outbox's send_message to time the channel part (SMTP + MIME building) apart from the outbox."""

    def __init__(self) -> None:
        import notifications.outbox as outbox

        self.outbox = outbox
        self.original = outbox.send_message
        self.seconds = 0.0

    def __enter__(self) -> ChannelTimer:
        def timed(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        self.outbox.send_message = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self.outbox.send_message = self.original  # type: ignore[assignment]


def outbox_run(count: int, profile: bool) -> tuple[float, object, list[str], str | None, float]:
    """Messages/s through deliver_due; return (rate, report, keys, profile text, seconds in the channel)."""
    from config.settings import get_settings
    from models.db import session_scope
    from notifications.outbox import deliver_due

    keys = _insert_rows(count, uuid.uuid4().hex[:8])
    profiler = cProfile.Profile() if profile else None
    with ChannelTimer() as channel:
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        with session_scope() as session:
            report = deliver_due(NOW, session=session, settings=get_settings(), limit=count)
        if profiler:
            profiler.disable()
        rate = count / (time.perf_counter() - start)
    text = None
    if profiler:
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(70)
        text = buffer.getvalue()
    return rate, report, keys, text, channel.seconds


def main() -> None:
    """Run the three measurements and print one JSON object and one human line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
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

            messages = rendered_rows(args.count)
            short_ceiling = bare_smtplib(smtp.host, smtp.port, args.count)
            ceiling = bare_smtplib_same_messages(smtp.host, smtp.port, messages)
            naive = naive_apprise(smtp.host, smtp.port, args.count)
            smtp.clear()
            rate, report, keys, _, channel_seconds = outbox_run(args.count, profile=False)
            connections = smtp.connections
            received = Counter(m.message["X-Dondoc-Key"] for m in smtp.messages)
            lost = sorted(set(keys) - set(received))
            doubled = sorted(k for k, n in received.items() if n > 1)
            profile_text = None
            if rate < TARGET or rate / ceiling < SHARE_TARGET or args.profile:
                smtp.clear()
                _, _, _, profile_text, _ = outbox_run(args.count, profile=True)
            from config.settings import get_settings

            backend = "postgresql" if schema else "sqlite"
            result = {
                "benchmark": "outbox",
                "count": args.count,
                "database": backend,
                "outbox_msg_per_s": round(rate, 1),
                "bare_smtplib_one_connection_msg_per_s": round(ceiling, 1),
                "bare_smtplib_short_message_msg_per_s": round(short_ceiling, 1),
                "naive_apprise_object_per_message_msg_per_s": round(naive, 1),
                "outbox_share_of_ceiling": round(rate / ceiling, 2),
                "outbox_share_of_short_message_ceiling": round(rate / short_ceiling, 2),
                "share_target": SHARE_TARGET,
                "meets_share_target": rate / ceiling >= SHARE_TARGET,
                "smtp_connections_used_by_outbox": connections,
                "seconds_total": round(args.count / rate, 2),
                "seconds_in_channel_send_message": round(channel_seconds, 2),
                "seconds_in_outbox_db_render": round(args.count / rate - channel_seconds, 2),
                "target_msg_per_s": TARGET,
                "meets_target": rate >= TARGET,
                "received": sum(received.values()),
                "lost": len(lost),
                "doubled": len(doubled),
                "report": {k: getattr(report, k) for k in ("claimed", "sent", "retrying", "dead", "digests")},
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
    verdict = (
        "đạt" if result["meets_target"] and result["meets_share_target"] and not lost and not doubled else "CHƯA ĐẠT"
    )
    print(
        f"outbox ({backend}): {result['outbox_msg_per_s']} tin/s = {result['outbox_share_of_ceiling']} "
        f"(mục tiêu ≥ {SHARE_TARGET}) của smtplib một kết nối cùng nội dung "
        f"{result['bare_smtplib_one_connection_msg_per_s']} tin/s ({result['smtp_connections_used_by_outbox']} kết nối); "
        f"thư ngắn {result['bare_smtplib_short_message_msg_per_s']} tin/s, mỗi tin một đối tượng Apprise "
        f"{result['naive_apprise_object_per_message_msg_per_s']} tin/s; thời gian: kênh gửi "
        f"{result['seconds_in_channel_send_message']} s, outbox (CSDL, dựng nội dung) {result['seconds_in_outbox_db_render']} s; "
        f"nhận {result['received']}/{args.count}, "
        f"mất {len(lost)}, trùng {len(doubled)}; mục tiêu ≥ {TARGET:.0f} tin/s: {verdict}"
    )


if __name__ == "__main__":
    main()
