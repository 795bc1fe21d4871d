"""Runtime settings: one pydantic-settings class behind a cached get_settings()."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGED_CONFIG_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    """Settings read from DONDOC_* environment variables (and an optional .env file)."""

    model_config = SettingsConfigDict(env_prefix="DONDOC_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".dondoc"), description="Where the embedded database and outputs live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under home if unset.")
    database_schema: str | None = Field(default=None, description="PostgreSQL schema to use (search_path).")
    config_dir: Path = Field(default=PACKAGED_CONFIG_DIR, description="Policy YAML: agencies, calendar, ladder.")
    timezone: str = "Asia/Ho_Chi_Minh"
    sqlite_busy_timeout_ms: int = 30_000
    smtp_url: str | None = Field(
        default=None, description="Apprise mailto:// or mailtos:// base URL; unset → the local mailbox folder."
    )
    zalo_enabled: bool = Field(default=False, description="Send to Zalo OA contacts (needs the DONDOC_ZALO_* secrets).")
    zns_enabled: bool = Field(default=False, description="Send ZNS template messages to phone contacts.")
    # Not secret (the app secret and refresh token are read by the Zalo plugin from DONDOC_ZALO_* itself).
    zalo_app_id: str | None = Field(default=None, description="Zalo app id of the OA, for zalo:// and zns:// URLs.")
    zalo_oa: str | None = Field(default=None, description="Optional OA label, when one app serves several OAs.")

    @property
    def enabled_channels(self) -> frozenset[str]:
        """Contact channels that get outbox rows; unconfigured Zalo channels are left out."""
        channels = {"email", "apprise", "mailbox"}
        if self.zalo_enabled:
            channels.add("zalo")
        if self.zns_enabled:
            channels.add("zns")
        return frozenset(channels)

    @property
    def effective_database_url(self) -> str:
        """Return the configured URL, or the embedded SQLite file under home."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'dondoc.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, built on first use."""
    return Settings()
