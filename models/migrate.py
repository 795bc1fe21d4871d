"""Run dondoc's Alembic migrations programmatically (`dondoc db upgrade`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from models.db import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    """Return an Alembic config pointing at the shipped migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(revision: str = "head") -> None:
    """Upgrade the configured database to revision."""
    command.upgrade(alembic_config(), revision)


def current_revision() -> str | None:
    """Return the database's current Alembic revision, or None if it is not initialised."""
    with get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
