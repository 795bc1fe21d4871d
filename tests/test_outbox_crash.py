"""Fault test: the dispatcher process is killed with SIGKILL mid-batch, then started again.

The dispatcher runs in a subprocess against the test's database (a SQLite file, or a PostgreSQL
schema, where the next message is built while the server commits each step) and a real (slow)
SMTP server. The server records each message as it arrives and only then waits before answering,
so the kill lands while a message is in flight: delivered, but not yet recorded as sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.settings import get_settings
from tests.outbox_helpers import MON_0900, add_row, all_rows, smtp_base_url, start_slow_sink, use_policy

REPO = Path(__file__).resolve().parent.parent
DISPATCHER = (
    "import sys\n"
    "from datetime import datetime\n"
    "from tests.outbox_helpers import deliver\n"
    "print(deliver(datetime.fromisoformat(sys.argv[1])), flush=True)\n"
)
COUNT = 15
LEASE_SECONDS = 2


def _dispatcher(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the dispatcher as its own process."""
    return subprocess.Popen(
        [sys.executable, "-c", DISPATCHER, MON_0900.isoformat()],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sigkill_mid_batch_then_restart_delivers_everything_once_but_the_one_in_flight(
    db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = use_policy(tmp_path, monkeypatch, lease_seconds=LEASE_SECONDS)
    keys = [f"k{i:02d}" for i in range(COUNT)]
    for i, key in enumerate(keys):
        add_row(key, address=f"agency{i}@bacgiang.example")
    controller, sink, port = start_slow_sink(delay=0.4)
    env = dict(os.environ) | {
        "PYTHONPATH": str(REPO),
        "DONDOC_DATABASE_URL": db.url,
        **({"DONDOC_DATABASE_SCHEMA": db.schema} if db.schema else {}),
        "DONDOC_CONFIG_DIR": str(config_dir),
        "DONDOC_SMTP_URL": smtp_base_url("127.0.0.1", port),
        "DONDOC_HOME": str(get_settings().home),
    }
    try:
        first = _dispatcher(env)
        deadline = time.monotonic() + 90
        while sum(sink.counts().values()) < 3:
            assert first.poll() is None, first.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the dispatcher never got going"
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)  # the third message is in flight: arrived, not yet answered
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL

        after_kill = {row.idempotency_key: row for row in all_rows()}
        assert sum(row.state == "sent" for row in after_kill.values()) == 2
        assert sum(row.state == "sending" for row in after_kill.values()) == COUNT - 2

        time.sleep(LEASE_SECONDS + 0.5)  # the dead process's lease runs out
        second = _dispatcher(env)
        out, errors = second.communicate(timeout=120)
        assert second.returncode == 0, errors.decode()
    finally:
        controller.stop()

    counts = sink.counts()
    assert set(counts) == set(keys)  # every message delivered
    doubled = sorted(key for key, n in counts.items() if n > 1)
    rows = {row.idempotency_key: row for row in all_rows()}
    assert {row.state for row in rows.values()} == {"sent"}
    interrupted = sorted(key for key, row in rows.items() if any(e.get("interrupted") for e in row.error_history))
    # At most the one in flight arrived twice, and its row says so.
    assert len(doubled) == 1 and max(counts.values()) == 2
    assert interrupted == doubled
    in_flight = rows[doubled[0]]
    assert in_flight.attempts == 2
    assert [(e["attempt"], e.get("interrupted", False), e["ok"]) for e in in_flight.error_history] == [
        (1, True, None),
        (2, False, True),
    ]
    # Rows claimed but not started when the process died were sent once, in one attempt.
    for key, row in rows.items():
        if key not in doubled:
            assert counts[key] == 1 and row.attempts == 1 and len(row.error_history) == 1
    assert "recovered=" + str(COUNT - 2) in out.decode()
