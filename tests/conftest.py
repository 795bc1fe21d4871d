"""Shared fixtures: isolated settings, and a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from config.settings import PACKAGED_CONFIG_DIR, get_settings
from models.db import reset_engine

POSTGRES_URL = os.environ.get("DONDOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ENABLE_HINT = (
    "PostgreSQL tests skipped: no server at {url}. Start PostgreSQL (trust auth, database 'test') "
    "or set DONDOC_TEST_POSTGRES_URL to enable them."
)


@dataclass
class Database:
    """The database a test runs against."""

    backend: str
    url: str
    schema: str | None


def _configure(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> None:
    """Point dondoc's settings at the given DONDOC_* values and drop cached settings and engine."""
    for key, value in env.items():
        name = f"DONDOC_{key.upper()}"
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    reset_engine()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give every test its own DONDOC_HOME and the packaged config, never the developer's."""
    home = tmp_path / "dondoc-home"
    # A developer's real SMTP server or Zalo OA must never receive test messages.
    for name in [n for n in os.environ if n.startswith("DONDOC_ZALO") or n == "DONDOC_SMTP_URL"]:
        monkeypatch.delenv(name)
    _configure(
        monkeypatch, home=str(home), database_url=None, database_schema=None, config_dir=str(PACKAGED_CONFIG_DIR)
    )
    yield home
    get_settings.cache_clear()
    reset_engine()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate one SQLite file once; each test gets a copy."""
    from models.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    os.environ["DONDOC_DATABASE_URL"] = f"sqlite:///{path}"
    get_settings.cache_clear()
    reset_engine()
    try:
        upgrade()
    finally:
        del os.environ["DONDOC_DATABASE_URL"]
        reset_engine()
        get_settings.cache_clear()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """Create one isolated, migrated schema for this test run in the machine's PostgreSQL."""
    from models.migrate import upgrade

    try:
        probe = create_engine(POSTGRES_URL)
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any connection failure means "no server")
        message = ENABLE_HINT.format(url=POSTGRES_URL)
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is unreachable ({exc.__class__.__name__}: {exc}). {message}")
        pytest.skip(message)
    schema = f"dondoc_test_{uuid.uuid4().hex[:12]}"
    with probe.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    os.environ["DONDOC_DATABASE_URL"] = POSTGRES_URL
    os.environ["DONDOC_DATABASE_SCHEMA"] = schema
    get_settings.cache_clear()
    reset_engine()
    try:
        upgrade()
    finally:
        del os.environ["DONDOC_DATABASE_URL"], os.environ["DONDOC_DATABASE_SCHEMA"]
        reset_engine()
        get_settings.cache_clear()
    yield schema
    with probe.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    probe.dispose()


def _truncate_postgres(schema: str) -> None:
    """Empty every dondoc table in the schema (keeping Alembic's version row)."""
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'SET search_path TO "{schema}"'))
        tables = [t for t in inspect(conn).get_table_names(schema=schema) if t != "alembic_version"]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(chr(34) + t + chr(34) for t in tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty dondoc database: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "dondoc.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        _configure(monkeypatch, database_url=url)
        yield Database("sqlite", url, None)
        return
    schema = request.getfixturevalue("postgres_schema")
    _configure(monkeypatch, database_url=POSTGRES_URL, database_schema=schema)
    try:
        yield Database("postgres", POSTGRES_URL, schema)
    finally:
        reset_engine()
        _truncate_postgres(schema)


@pytest.fixture
def sample_notice() -> Path:
    """The sample notice shipped in config/notices/."""
    return PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml"


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real, temporary Prefect server (its own SQLite database) for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# Modules whose every test starts processes of their own: a browser, workers, a killed outbox.
SLOW_MODULES = {"test_browser", "test_scale_out", "test_outbox_crash"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that needs the Prefect server or lives in a process-starting module."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if "prefect_server" in getattr(item, "fixturenames", ()) or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
