"""Settings of the status intake, from DONDOC_* environment variables (the key is never printed)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOST = "127.0.0.1"
# Outside 8000–8999, where Prefect's ephemeral API server picks its port.
DEFAULT_PORT = 7700
MIN_SECRET_CHARS = 32


class IntakeConfigError(RuntimeError):
    """The intake is not configured well enough to sign or check links."""


class IntakeSettings(BaseSettings):
    """Signing keys, the public address, lifetimes and limits of the intake."""

    model_config = SettingsConfigDict(env_prefix="DONDOC_", env_file=".env", extra="ignore")

    intake_secret: SecretStr | None = Field(default=None, description="HMAC key of the signed links (≥ 32 characters).")
    intake_secret_previous: SecretStr | None = Field(
        default=None, description="The key before the last rotation: its links stay valid until this is unset."
    )
    public_url: str | None = Field(
        default=None, description="Base URL agencies reach the intake at, e.g. https://dondoc.bacgiang.gov.vn"
    )
    intake_link_days: int = Field(default=30, ge=1, le=366, description="How long a signed link stays valid.")
    intake_max_body_bytes: int = Field(default=32_768, ge=1024, description="Largest request body accepted.")
    intake_api_rate_per_minute: float = Field(default=60.0, gt=0, description="API requests per minute and token.")
    intake_api_burst: int = Field(default=30, ge=1, description="API requests a token may send at once.")
    intake_form_rate_per_minute: float = Field(default=20.0, gt=0, description="Page requests per minute and link.")
    intake_form_burst: int = Field(default=20, ge=1, description="Page requests a link may send at once.")
    intake_auth_failures_per_minute: float = Field(
        default=10.0, gt=0, description="Refused links/tokens per minute and client."
    )
    intake_auth_failure_burst: int = Field(
        default=20, ge=1, description="Refused links/tokens a client may send at once."
    )

    def keys(self) -> list[bytes]:
        """The current key, then the previous one; refuses a key too short to be safe."""
        keys = []
        for secret in (self.intake_secret, self.intake_secret_previous):
            if secret is None:
                continue
            value = secret.get_secret_value()
            if len(value) < MIN_SECRET_CHARS:
                raise IntakeConfigError(f"khóa ký liên kết phải dài ít nhất {MIN_SECRET_CHARS} ký tự")
            keys.append(value.encode("utf-8"))
        if not keys or self.intake_secret is None:
            raise IntakeConfigError("chưa đặt khóa ký liên kết DONDOC_INTAKE_SECRET")
        return keys

    @property
    def links_enabled(self) -> bool:
        """Links can be signed: a key and a public URL are set."""
        return self.intake_secret is not None and bool(self.public_url)

    @property
    def base_url(self) -> str:
        """The public URL without a trailing slash."""
        if not self.public_url:
            raise IntakeConfigError("chưa đặt địa chỉ công khai DONDOC_PUBLIC_URL")
        return self.public_url.rstrip("/")


@lru_cache(maxsize=8)
def _settings_for(_environment: tuple[tuple[str, str], ...]) -> IntakeSettings:
    """Settings for one state of the environment."""
    return IntakeSettings()


def get_intake_settings() -> IntakeSettings:
    """The intake settings, rebuilt whenever a DONDOC_INTAKE_* or DONDOC_PUBLIC_URL variable changes.

    Keyed on those variables, so a key rotated in the environment (or a test's settings) never
    lingers in a cache.
    """
    relevant = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.startswith("DONDOC_INTAKE_") or k == "DONDOC_PUBLIC_URL")
    )
    return _settings_for(relevant)


get_intake_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]
