"""Scale-out, tested: a Prefect server on PostgreSQL, a process work pool, a worker, sweep --fan-out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from config.settings import PACKAGED_CONFIG_DIR
from domain.planner import at_local
from models import Notification, get_engine
from tasks.notice_import import import_notice
from tests.conftest import IN_CI, POSTGRES_URL

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GIVEN = at_local(date(2022, 9, 9), datetime.min.time().replace(hour=16))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Prefect server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("Prefect server did not become healthy")


@pytest.fixture
def prefect_on_postgres(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A `prefect server start` process whose own database is a fresh PostgreSQL database."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"dondoc_prefect_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable: {exc}")
        pytest.skip("scale-out test skipped: no PostgreSQL at 127.0.0.1:5432 (set DONDOC_TEST_POSTGRES_URL to enable)")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_db = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql+asyncpg://").rsplit("/", 1)[0] + f"/{name}"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_API_URL": api,
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"],
        env=env,
        stdout=open(tmp_path / "server.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(api, server)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)  # scale-out means PostgreSQL for dondoc too
def test_sweep_fan_out_runs_follow_ups_on_a_worker(
    prefect_on_postgres: dict[str, str], db, sample_notice: Path, tmp_path: Path
) -> None:
    env = {
        **prefect_on_postgres,
        "DONDOC_PROJECT_DIR": str(PROJECT_DIR),
        "DONDOC_DATABASE_URL": db.url,
        "DONDOC_DATABASE_SCHEMA": db.schema or "",
        "DONDOC_HOME": str(tmp_path / "home"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "prefect"), "--no-prompt", *args],
            env=env,
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=180,
        )

    created = run("work-pool", "create", "dondoc", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = run("deploy", "--name", "follow-up-directive")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "dondoc", "--limit", "4"],
        env=env,
        cwd=PROJECT_DIR,
        stdout=open(tmp_path / "worker.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        import_notice(sample_notice, PACKAGED_CONFIG_DIR, at=GIVEN)
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
            from flows.sweep import sweep

            state = sweep(as_of=GIVEN, fan_out=True, return_state=True)
            assert state.is_completed(), state.message
            assert state.result() == {"followed_up": 7, "failed": 0, "sent": state.result()["sent"]}
            from prefect.client.orchestration import get_client
            from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

            with get_client(sync_client=True) as client:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["follow-up-directive"]))
                )
        assert len(runs) == 7
        assert all(r.state.is_completed() and r.work_pool_name == "dondoc" for r in runs)
        with Session(get_engine()) as session:
            assert session.exec(select(Notification)).first() is not None  # the workers wrote the outbox
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
