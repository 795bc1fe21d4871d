"""`dondoc prefect-server`: Prefect's server with the project's settings, and a retry hint on SQLite's busy 503s."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import prefect.client.base as prefect_client_base
import pytest
import uvicorn

from cli.prefect_server import (
    RETRY_AFTER_S,
    RetryAfterOnBusy,
    on_sqlite,
    project_prefect_env,
    server_command,
)
from tests.test_prefect_ui_browser import free_port, stop, wait_for

BIN = Path(sys.executable).parent


class Busy:
    """An ASGI app that answers 503 to the first `busy` requests, then 200, counting requests."""

    def __init__(self, busy: int, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self.busy, self.headers, self.requests = busy, headers or [], 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.requests += 1
        status = 503 if self.requests <= self.busy else 200
        await send({"type": "http.response.start", "status": status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"{}"})


def _answer(app: Any) -> httpx.Response:
    """One request through an ASGI app, in process."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.post("/api/flow_runs/", json={})

    return asyncio.run(go())


def test_a_503_carries_the_retry_hint_and_other_answers_do_not() -> None:
    busy = _answer(RetryAfterOnBusy(Busy(1, headers=[(b"content-type", b"application/json")])))
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == str(RETRY_AFTER_S)
    assert busy.headers["content-type"] == "application/json"  # the app's own headers are kept
    fine = _answer(RetryAfterOnBusy(Busy(0)))
    assert fine.status_code == 200 and "retry-after" not in fine.headers


def test_the_hint_replaces_the_apps_own_retry_after() -> None:
    answer = _answer(RetryAfterOnBusy(Busy(1, headers=[(b"Retry-After", b"30")]), seconds=0.5))
    assert answer.headers.get_list("retry-after") == ["0.5"]


@pytest.fixture
def busy_server() -> Iterator[tuple[str, Busy]]:
    """A real HTTP server (uvicorn in a thread) whose app is busy twice, behind the middleware."""
    app = Busy(2)
    server = uvicorn.Server(
        uvicorn.Config(RetryAfterOnBusy(app), host="127.0.0.1", port=free_port(), log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    wait_for("the test server", lambda: server.started, timeout=30)
    yield url, app
    server.should_exit = True
    thread.join(timeout=10)


def test_prefects_client_waits_the_hint_not_its_own_back_off(
    busy_server: tuple[str, Busy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract the hint relies on: Prefect's client sleeps what Retry-After says (2 s, 4 s… without it)."""
    url, app = busy_server
    waits: list[float] = []
    monkeypatch.setattr(prefect_client_base.time, "sleep", waits.append)
    with prefect_client_base.PrefectHttpxSyncClient(base_url=url) as client:
        answer = client.post("/api/flow_runs/", json={})
    assert answer.status_code == 200
    assert app.requests == 3
    assert len(waits) == 2 and all(RETRY_AFTER_S <= w < 1.0 for w in waits), waits


def test_the_project_settings_are_the_pyproject_table() -> None:
    env = project_prefect_env()
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "200"
    assert env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"] == "2"
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_the_environment_wins_over_the_project_and_the_address_is_the_one_served() -> None:
    command, env = server_command(
        "0.0.0.0", 4300, {"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50", "PREFECT_SERVER_API_PORT": "1"}
    )
    assert command[-4:] == ["--host", "0.0.0.0", "--port", "4300"]
    assert env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"] == "50"
    assert env["PREFECT_SERVER_API_PORT"] == "4300"
    assert env["PREFECT_UI_API_URL"] == "http://0.0.0.0:4300/api"
    _, behind_proxy = server_command("127.0.0.1", 4200, {"PREFECT_UI_API_URL": "https://dondoc.example.vn/api"})
    assert behind_proxy["PREFECT_UI_API_URL"] == "https://dondoc.example.vn/api"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, True),
        ("sqlite+aiosqlite:////var/lib/prefect/prefect.db", True),
        ("postgresql+asyncpg://prefect@db:5432/prefect", False),
    ],
)
def test_the_hint_is_only_for_sqlite(url: str | None, expected: bool) -> None:
    assert on_sqlite(url) is expected


@pytest.mark.slow
def test_started_outside_the_project_it_serves_prefect_with_the_project_settings(tmp_path: Path) -> None:
    """From another folder a bare `prefect server start` ran on Prefect's defaults (1 task run per transaction)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DONDOC_", "PREFECT_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_UI_ENABLED": "false"}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "dondoc"), "prefect-server", "--port", str(port)], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        url = f"http://127.0.0.1:{port}/api"
        wait_for("dondoc prefect-server", lambda: httpx.get(f"{url}/health", timeout=5).json() is True, timeout=180)
        settings = httpx.get(f"{url}/admin/settings", timeout=10).json()
        recorder = settings["server"]["services"]["task_run_recorder"]
        assert (recorder["batch_size"], recorder["flush_interval"]) == (200, 2.0)
        created = httpx.post(f"{url}/flows/", json={"name": "kiem-tra"}, timeout=10)
        assert created.status_code in (200, 201) and created.json()["name"] == "kiem-tra"
    finally:
        stop(server)
        log.close()
    assert "Máy chủ Prefect: giao diện http://127.0.0.1" in (tmp_path / "server.log").read_text(encoding="utf-8")
