"""Settings of the status intake, from DONDOC_* environment variables (the key is never printed).

The intake has no policy YAML of its own: everything it needs (signing keys, the public address,
lifetimes, limits, the Redis URL of the shared rate limits) is deployment configuration, read
from the environment and validated here. `check_startup` is what the app factory calls so that a
misconfigured intake refuses to start instead of serving errors.
"""

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
    """The intake is not configured well enough to sign or check links; the message is Vietnamese."""


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
    intake_clock_skew_seconds: int = Field(
        default=300, ge=0, le=3600, description="How far in the future a link's issue time may lie (clock skew)."
    )
    intake_max_body_bytes: int = Field(default=32_768, ge=1024, description="Largest request body accepted.")
    intake_api_rate_per_minute: float = Field(default=60.0, gt=0, description="API requests per minute and token.")
    intake_api_burst: int = Field(default=30, ge=1, description="API requests a token may send at once.")
    intake_form_rate_per_minute: float = Field(default=20.0, gt=0, description="Page requests per minute and link.")
    intake_form_burst: int = Field(default=20, ge=1, description="Page requests a link may send at once.")
    intake_auth_failures_per_minute: float = Field(
        default=10.0, gt=0, description="Refused links/tokens per minute and client address."
    )
    intake_auth_failure_burst: int = Field(
        default=20, ge=1, description="Refused links/tokens a client address may send at once."
    )
    intake_redis_url: SecretStr | None = Field(
        default=None,
        description="redis://host:6379/0 shared by every intake process for the rate limits; unset: per process.",
    )
    intake_redis_prefix: str = Field(default="dondoc-intake", min_length=1, description="Prefix of the Redis keys.")

    def keys(self) -> list[bytes]:
        """The current key, then the previous one; refuses a key too short to be safe."""
        problems = self.secret_problems()
        if problems:
            raise IntakeConfigError(problems[0])
        if self.intake_secret is None:
            raise IntakeConfigError("chưa đặt khóa ký liên kết DONDOC_INTAKE_SECRET")
        return [
            secret.get_secret_value().encode("utf-8")
            for secret in (self.intake_secret, self.intake_secret_previous)
            if secret is not None
        ]

    def secret_problems(self) -> list[str]:
        """Why the configured keys are unsafe (empty when they are fine or unset)."""
        problems = []
        for name, secret in (
            ("DONDOC_INTAKE_SECRET", self.intake_secret),
            ("DONDOC_INTAKE_SECRET_PREVIOUS", self.intake_secret_previous),
        ):
            if secret is not None and len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                problems.append(
                    f"khóa ký liên kết {name} phải dài ít nhất {MIN_SECRET_CHARS} ký tự "
                    f"(hiện có {len(secret.get_secret_value())}); tạo khóa mới: "
                    "python -c 'import secrets;print(secrets.token_urlsafe(48))'"
                )
        if self.intake_secret is None and self.intake_secret_previous is not None:
            problems.append("đã đặt DONDOC_INTAKE_SECRET_PREVIOUS nhưng chưa đặt DONDOC_INTAKE_SECRET")
        return problems

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

    @property
    def redis_url(self) -> str | None:
        """The Redis URL of the shared rate limits, or None."""
        return self.intake_redis_url.get_secret_value() if self.intake_redis_url else None


def check_startup(settings: IntakeSettings) -> None:
    """Refuse to start an intake whose keys are unsafe (a short key would sign forgeable links)."""
    problems = settings.secret_problems()
    if problems:
        raise IntakeConfigError("không khởi động trang tiếp nhận báo cáo: " + "; ".join(problems))


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


get_intake_settings.cache_clear = _settings_for.cache_clear  # type: ignore[attr-defined]  # tests drop the cache
