"""The schema of config/status_sources.yaml: the polled status sources of each agency, validated on load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from config.agencies import load_agencies
from config.loader import ConfigError, ConfigIssue, LocatedYaml, load_located_yaml, validate_located
from domain.safe_text import nfc

FILE_NAME = "status_sources.yaml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A fetch may take at most this long in all (connect, headers and the whole body), whatever timeout_seconds says.
MAX_FETCH_SECONDS = 300


class SourceSpec(BaseModel):
    """One polled source of one agency."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique, lowercase letters, digits, - and _: it keys the cursor.")
    agency: str
    kind: Literal["http_json", "xlsx_folder", "imap"]
    url: str | None = None
    url_env: str | None = None
    token: str | None = None
    token_env: str | None = None
    path: Path | None = None
    # kind imap: the mailbox agencies' e-mail replies arrive in (tasks/reply_intake.py).
    host: str | None = None
    port: int | None = Field(default=None, gt=0, lt=65536)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    user: str | None = None
    password_env: str | None = None
    folder: str = "INBOX"
    processed_folder: str | None = "dondoc/da-xu-ly"
    held_folder: str | None = "dondoc/cho-xem-xet"
    interval_minutes: float = Field(default=15, gt=0, le=1440)
    timeout_seconds: float = Field(default=10, gt=0, le=120, description="Per network operation.")
    deadline_seconds: float = Field(
        default=60, gt=0, le=MAX_FETCH_SECONDS, description="For the whole fetch, however slowly the source answers."
    )

    @field_validator("name", "agency")
    @classmethod
    def _nfc(cls, value: str) -> str:
        """Identifiers are compared in NFC, the form dondoc stores."""
        return nfc(value).strip()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        """Names key the cursor rows: keep them plain."""
        if not NAME_RE.match(value):
            raise ValueError("tên nguồn chỉ gồm chữ thường không dấu, chữ số, «-» và «_» (tối đa 64 ký tự)")
        return value

    def describe(self) -> str:
        """A log label that never shows a token."""
        return f"{self.name} ({self.agency})"


class StatusSources(BaseModel):
    """The file: a list of sources."""

    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = Field(default_factory=list)


IMAP_FIELDS = ("host", "port", "user", "password_env")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _imap_checks(located: LocatedYaml, source: SourceSpec, at: tuple[str | int, ...]) -> list[ConfigIssue]:
    """An imap source names its server, user and the environment variable holding the password; TLS off only on loopback."""
    issues = []
    for name in ("host", "user", "password_env"):
        if not getattr(source, name):
            issues.append(located.issue(at, f"nguồn imap cần trường {name}"))
    for name in ("url", "url_env", "token", "token_env", "path"):
        if getattr(source, name) is not None:
            issues.append(located.issue((*at, name), f"nguồn imap không dùng trường {name}"))
    if source.tls == "none" and source.host not in LOOPBACK:
        issues.append(located.issue((*at, "tls"), "chỉ được tắt mã hóa (tls: none) với máy chủ trên chính máy này"))
    return issues


def _checks(located: LocatedYaml, spec: StatusSources, agency_codes: set[str], base: Path) -> list[ConfigIssue]:
    """What field types cannot say: known agencies, unique names, the fields each kind needs."""
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    for index, source in enumerate(spec.sources):
        at = ("sources", index)
        if source.name in seen:
            issues.append(located.issue((*at, "name"), f"tên nguồn bị lặp (đã có ở mục {seen[source.name] + 1})"))
        seen.setdefault(source.name, index)
        if source.agency not in agency_codes:
            issues.append(located.issue((*at, "agency"), f"không có cơ quan mã «{source.agency}» trong agencies.yaml"))
        if source.timeout_seconds > source.deadline_seconds:
            issues.append(located.issue((*at, "timeout_seconds"), "không được lớn hơn deadline_seconds"))
        if source.kind == "imap":
            issues += _imap_checks(located, source, at)
        elif source.kind == "http_json":
            if (source.url is None) == (source.url_env is None):
                issues.append(located.issue(at, "cần đúng một trong hai trường url hoặc url_env"))
            if source.url is not None and not source.url.lower().startswith(("http://", "https://")):
                issues.append(located.issue((*at, "url"), "địa chỉ phải bắt đầu bằng http:// hoặc https://"))
            if source.token is not None and source.token_env is not None:
                issues.append(located.issue((*at, "token"), "chỉ dùng một trong hai trường token hoặc token_env"))
            if source.path is not None:
                issues.append(located.issue((*at, "path"), "nguồn http_json không dùng trường path"))
            issues += [
                located.issue((*at, n), f"nguồn http_json không dùng trường {n}")
                for n in IMAP_FIELDS
                if getattr(source, n)
            ]
        else:
            if source.path is None:
                issues.append(located.issue(at, "nguồn xlsx_folder cần trường path (thư mục chứa tệp báo cáo)"))
            for name in ("url", "url_env", "token", "token_env", *IMAP_FIELDS):
                if getattr(source, name) is not None:
                    issues.append(located.issue((*at, name), f"nguồn xlsx_folder không dùng trường {name}"))
            if source.path is not None and not source.path.is_absolute():
                source.path = (base / source.path).resolve()
    return issues


def load_status_sources(config_dir: Path) -> StatusSources:
    """Load and validate config/status_sources.yaml (absent file: no sources); errors name their lines."""
    path = config_dir / FILE_NAME
    if not path.is_file():
        return StatusSources()
    located = load_located_yaml(path)
    spec = validate_located(located, StatusSources)
    codes = {a.code for a in load_agencies(config_dir).agencies}
    issues = _checks(located, spec, codes, path.parent)
    if issues:
        raise ConfigError(issues)
    return spec
