"""Every status change emits `dondoc.assignment.updated`, and a missing Prefect API never fails the change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, temporary_settings

from models.db import session_scope
from tasks.status_events import EVENT_NAME, emit_assignment_updated, prefect_api_available
from tasks.status_recording import record_status_update
from tests.intake_helpers import assignment_id, import_sample, updates_of
from tests.smtp_server import free_port

PROJECT = Path(__file__).resolve().parent.parent


def test_a_status_change_emits_the_prefect_event(prefect_server, db) -> None:
    import_sample()
    aid = assignment_id("HND_TINH", "2.6")
    started = datetime.now(UTC) - timedelta(seconds=1)
    # The server outlives this test and ids restart with each test database: a report time of its own tells
    # this update's event from the others.
    at = datetime(2022, 9, 21, 3, 4, 5, tzinfo=UTC) + timedelta(microseconds=time.time_ns() // 1000 % 1_000_000)
    with session_scope() as session:  # the event goes out when this commits
        recorded = record_status_update(
            aid, session=session, status="in_progress", percent=40, reported_by="Hội Nông dân tỉnh", source="web", at=at
        )
    wanted = EventFilter(
        event=EventNameFilter(name=[EVENT_NAME]),
        occurred=EventOccurredFilter(since=started),
        resource=EventResourceFilter(id=[f"dondoc.assignment.{aid}"]),
    )
    deadline = time.monotonic() + 30
    events: list = []
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            events = [
                e
                for e in client.read_events(filter=wanted, limit=50).events
                if e.payload.get("reported_at") == at.isoformat()
            ]
            if events:
                break
            time.sleep(0.5)
    assert events, "the event never reached the Prefect server"
    event = events[0]
    assert event.payload["status"] == "in_progress" and event.payload["previous_status"] == "assigned"
    assert event.payload["percent"] == 40 and event.payload["source"] == "web"
    assert event.resource["dondoc.agency"] == "HND_TINH"
    assert event.resource["prefect.resource.name"] == "TẠM-20220909/TB-TU · 2.6 · HND_TINH"
    assert any(r.id == f"dondoc.directive.{recorded.directive_id}" and r.role == "directive" for r in event.related)


def test_without_a_prefect_api_nothing_is_spawned_and_the_update_stands(db, monkeypatch) -> None:
    import_sample()
    aid = assignment_id("HND_TINH", "2.6")
    # As in a fresh `dondoc update`: no API URL, no run, no ephemeral server in this process (the test
    # session's own server is hidden).
    monkeypatch.setattr(SubprocessASGIServer, "_instances", {})
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert not prefect_api_available()
        with session_scope() as session:
            recorded = record_status_update(
                aid, session=session, status="acknowledged", reported_by="Hội Nông dân tỉnh", source="cli"
            )
        assert emit_assignment_updated(recorded) is False
    # No ephemeral API server (about 15 s) was started for the event.
    assert not any(server.running for server in SubprocessASGIServer._instances.values())
    assert [u.status for u in updates_of(aid)] == ["acknowledged"]


def test_an_unreachable_prefect_api_never_fails_a_status_update(sqlite_template: Path, tmp_path: Path) -> None:
    # In a child process: Prefect's events worker is a process-wide singleton, and this one is left broken.
    database = tmp_path / "dondoc.db"
    shutil.copy(sqlite_template, database)
    script = textwrap.dedent("""
        from config.settings import PACKAGED_CONFIG_DIR
        from tasks.notice_import import import_notice
        from models.db import session_scope
        from tasks.status_events import emit_assignment_updated
        from tasks.status_recording import record_status_update
        from tests.intake_helpers import assignment_id, updates_of
        import_notice(PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml", PACKAGED_CONFIG_DIR)
        aid = assignment_id("HND_TINH", "2.6")
        with session_scope() as session:
            result = record_status_update(aid, session=session, status="done", reported_by="Hội Nông dân tỉnh", source="api")
        print("HANDED_OVER", emit_assignment_updated(result))
        print("STORED", [u.status for u in updates_of(aid)])
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DONDOC_"))}
    env |= {
        "DONDOC_DATABASE_URL": f"sqlite:///{database}",
        "DONDOC_HOME": str(tmp_path / "home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PYTHONPATH": str(PROJECT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "HANDED_OVER False" in done.stdout  # the health check found no API: nothing queued, nothing waits
    assert "STORED ['done']" in done.stdout
