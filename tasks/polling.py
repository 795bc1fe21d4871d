"""Polled status sources (config/status_sources.yaml): an agency's HTTP JSON endpoint or watched XLSX folder.

Each source keeps a cursor row (`PollCursor`) and a row per item it delivered (`PolledItem`: an
update id, or a file's content hash), so nothing is read twice. A poll claims its source by
moving `next_attempt_at` forward, so two follow-ups never poll one source at once. A source that
is down is logged and retried later with backoff; polling never raises into the follow-up.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from config.agencies import load_agencies
from config.loader import ConfigError, ConfigIssue, LocatedYaml, load_located_yaml, validate_located
from config.settings import get_settings
from domain.workdays import VN_TZ
from models import Agency, Assignment, get_engine
from models.intake import PollCursor, PolledItem
from models.types import utcnow
from tasks.status import RecordedUpdate, StatusChangeRefused, announce, apply_status_update, parse_status

FILE_NAME = "status_sources.yaml"
LEASE = timedelta(minutes=5)  # a poll that dies mid-way is retried after this
RETRY_BASE_S = 60
RETRY_MAX_S = 3600
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 10 * 1024 * 1024
SETTLE = timedelta(seconds=10)  # a file modified this recently may still be being copied
FUTURE_SLACK = timedelta(minutes=10)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

logger = logging.getLogger("dondoc.polling")


# --- configuration ----------------------------------------------------------------------------


class SourceSpec(BaseModel):
    """One polled source of one agency."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique, lowercase letters, digits, - and _: it keys the cursor.")
    agency: str
    kind: Literal["http_json", "xlsx_folder"]
    url: str | None = None
    url_env: str | None = None
    token: str | None = None
    token_env: str | None = None
    path: Path | None = None
    interval_minutes: float = Field(default=15, gt=0, le=1440)
    timeout_seconds: float = Field(default=10, gt=0, le=120)

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
        if source.kind == "http_json":
            if (source.url is None) == (source.url_env is None):
                issues.append(located.issue(at, "cần đúng một trong hai trường url hoặc url_env"))
            if source.url is not None and not source.url.lower().startswith(("http://", "https://")):
                issues.append(located.issue((*at, "url"), "địa chỉ phải bắt đầu bằng http:// hoặc https://"))
            if source.token is not None and source.token_env is not None:
                issues.append(located.issue((*at, "token"), "chỉ dùng một trong hai trường token hoặc token_env"))
            if source.path is not None:
                issues.append(located.issue((*at, "path"), "nguồn http_json không dùng trường path"))
        else:
            if source.path is None:
                issues.append(located.issue(at, "nguồn xlsx_folder cần trường path (thư mục chứa tệp báo cáo)"))
            for name in ("url", "url_env", "token", "token_env"):
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


# --- outcomes ---------------------------------------------------------------------------------


class SourceDown(Exception):
    """The source could not be read this time (network, HTTP status, format); retried later."""


@dataclass
class SourceOutcome:
    """What one poll of one source did."""

    source: str
    agency: str
    state: Literal["ok", "skipped", "failed"]
    recorded: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str | None = None
    retry_at: datetime | None = None
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One Vietnamese log line."""
        if self.state == "skipped":
            return f"Nguồn {self.source} ({self.agency}): chưa đến lượt lấy"
        if self.state == "failed":
            when = self.retry_at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if self.retry_at else "lần sau"
            return f"Nguồn {self.source} ({self.agency}) lỗi: {self.error}; sẽ thử lại lúc {when}"
        text = f"Nguồn {self.source} ({self.agency}): {self.recorded} báo cáo mới, {self.duplicates} đã đọc trước đó"
        return text + (f", {self.rejected} bị từ chối" if self.rejected else "")


@dataclass
class PollReport:
    """Every source polled in one go."""

    outcomes: list[SourceOutcome] = field(default_factory=list)
    config_error: str | None = None

    @property
    def recorded(self) -> int:
        """New updates recorded, over all sources."""
        return sum(o.recorded for o in self.outcomes)

    @property
    def failed(self) -> int:
        """Sources that were down."""
        return sum(o.state == "failed" for o in self.outcomes)


# --- cursor rows ------------------------------------------------------------------------------


def _claim(name: str, now: datetime, force: bool) -> tuple[bool, str | None, int]:
    """Take the source for this poll if it is due; return (claimed, cursor, failures so far)."""
    with Session(get_engine()) as session, session.begin():
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.exec(
            insert(PollCursor).values(source=name, failures=0).on_conflict_do_nothing(index_elements=["source"])
        )  # type: ignore[call-overload]
        statement = update(PollCursor).where(PollCursor.source == name)
        if not force:
            statement = statement.where(PollCursor.next_attempt_at.is_(None) | (PollCursor.next_attempt_at <= now))  # type: ignore[union-attr,operator]
        claimed = session.exec(statement.values(next_attempt_at=now + LEASE, last_attempt_at=now)).rowcount  # type: ignore[call-overload]
        row = session.exec(select(PollCursor).where(PollCursor.source == name)).one()
        return bool(claimed), row.cursor, row.failures


def _finish(
    name: str, *, now: datetime, next_at: datetime, cursor: str | None, keep_cursor: bool, error: str | None
) -> None:
    """Record the poll's end: success (cursor, next time) or failure (count, error, retry time)."""
    with Session(get_engine()) as session, session.begin():
        row = session.exec(select(PollCursor).where(PollCursor.source == name)).one()
        row.next_attempt_at = next_at
        if error is None:
            row.failures, row.last_error, row.last_success_at = 0, None, now
            if not keep_cursor:
                row.cursor = cursor
        else:
            row.failures += 1
            row.last_error = error


def retry_delay(failures: int) -> timedelta:
    """Wait after the n-th failure in a row: 1, 2, 4 … minutes, at most an hour."""
    return timedelta(seconds=min(RETRY_BASE_S * 2 ** max(failures - 1, 0), RETRY_MAX_S))


# --- items ------------------------------------------------------------------------------------


class PolledUpdate(BaseModel):
    """One update as a source sends it (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    id: str | int | None = None
    assignment_id: int = Field(ge=1, lt=2**31)
    status: str = Field(min_length=1, max_length=40)
    percent: int | None = Field(default=None, ge=0, le=100)
    note: str | None = None
    document_number: str | None = None
    evidence_url: str | None = None
    reported_at: datetime | None = None
    reported_by: str | None = Field(default=None, max_length=100)


def item_key(item: Any) -> str:
    """The item's identity at its source: its id, or the hash of its content."""
    if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and str(item["id"]).strip():
        key = f"id:{str(item['id']).strip()}"
        if len(key) <= 200:
            return key
    canonical = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha:" + hashlib.sha256(canonical.encode()).hexdigest()


def _seen(session: Session, name: str, key: str) -> bool:
    """This item was read before."""
    return (
        session.exec(select(PolledItem.id).where(PolledItem.source == name, PolledItem.item_key == key)).first()
        is not None
    )


def _record_item(
    spec: SourceSpec, agency: Agency, item: Any, now: datetime
) -> tuple[str, RecordedUpdate | None, str | None]:
    """Record one item in its own transaction with its seen-row; return (outcome, update, problem)."""
    key = item_key(item)
    with Session(get_engine()) as session, session.begin():
        if _seen(session, spec.name, key):
            return "duplicate", None, None
        problem = None
        recorded = None
        try:
            update_in = PolledUpdate.model_validate(item)
            status = parse_status(update_in.status)
            if status is None:
                raise StatusChangeRefused(f"trạng thái không hợp lệ: «{update_in.status}»")
            at = update_in.reported_at
            if at is not None:
                at = (at if at.tzinfo else at.replace(tzinfo=VN_TZ)).astimezone(UTC)
                if at > now + FUTURE_SLACK:
                    raise StatusChangeRefused("thời điểm báo cáo ở tương lai")
            who = agency.short_name or agency.name
            reporter = f"{update_in.reported_by} – {who}" if update_in.reported_by else f"{who} (nguồn {spec.name})"
            recorded = apply_status_update(
                session,
                update_in.assignment_id,
                status=status,
                percent=update_in.percent,
                note=update_in.note,
                document_number=update_in.document_number,
                evidence_url=update_in.evidence_url,
                reported_by=reporter,
                source="poll",
                at=at,
                agency_id=agency.id,
            )
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        except StatusChangeRefused as exc:
            problem = str(exc)
        session.add(
            PolledItem(
                source=spec.name,
                item_key=key,
                outcome="rejected" if problem else "recorded",
                detail=problem,
                seen_at=now,
            )
        )
    return ("rejected" if problem else "recorded"), recorded, problem


def _secret(value: str | None, env: str | None, what: str) -> str | None:
    """A URL or token given in the file or read from the environment."""
    if value is not None:
        return value
    if env is None:
        return None
    found = os.environ.get(env)
    if not found:
        raise SourceDown(f"biến môi trường {env} ({what}) chưa được đặt")
    return found


def fetch_http(spec: SourceSpec, cursor: str | None) -> tuple[list[Any], str | None]:
    """GET the endpoint (since=cursor); return its updates and its new cursor. Errors never show the token."""
    url = _secret(spec.url, spec.url_env, "địa chỉ")
    token = _secret(spec.token, spec.token_env, "mã truy cập")
    headers = {"Accept": "application/json", "User-Agent": "dondoc-status-poller"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.Client(timeout=spec.timeout_seconds, follow_redirects=False) as client:
            with client.stream("GET", url, params={"since": cursor} if cursor else None, headers=headers) as response:  # type: ignore[arg-type]
                if response.status_code != 200:
                    raise SourceDown(f"máy chủ trả về HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise SourceDown(f"phản hồi lớn quá {MAX_RESPONSE_BYTES // (1024 * 1024)} MB")
    except httpx.HTTPError as exc:
        raise SourceDown(f"không kết nối được ({type(exc).__name__})") from None
    try:
        data = json.loads(bytes(body))
    except ValueError:
        raise SourceDown("phản hồi không phải JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("updates"), list):
        raise SourceDown("phản hồi không đúng định dạng (cần đối tượng có danh sách «updates»)")
    new_cursor = data.get("cursor")
    if new_cursor is not None:
        new_cursor = str(new_cursor)[:1000]
    return data["updates"], new_cursor


def _poll_http(
    spec: SourceSpec, agency: Agency, cursor: str | None, now: datetime, outcome: SourceOutcome
) -> tuple[str | None, bool]:
    """Poll an HTTP source; return the cursor to keep and whether to keep the old one."""
    items, new_cursor = fetch_http(spec, cursor)
    for item in items:
        kind, recorded, problem = _record_item(spec, agency, item, now)
        if kind == "duplicate":
            outcome.duplicates += 1
        elif kind == "rejected":
            outcome.rejected += 1
            outcome.problems.append(f"{item_key(item)}: {problem}")
        else:
            outcome.recorded += 1
            announce([recorded])  # type: ignore[list-item]
    return new_cursor, new_cursor is None


def _reject_file(spec: SourceSpec, key: str, detail: str, now: datetime) -> None:
    """Remember a refused file, so it is reported once, not on every poll (a corrected file has a new hash)."""
    with Session(get_engine()) as session, session.begin():
        session.add(PolledItem(source=spec.name, item_key=key, outcome="rejected", detail=detail[:4000], seen_at=now))


def _poll_folder(spec: SourceSpec, agency: Agency, now: datetime, outcome: SourceOutcome) -> tuple[str | None, bool]:
    """Read every new XLSX report in the folder: each file whole or not at all."""
    from intake.xlsx import TemplateError, read_updates, write_updates

    folder = spec.path
    if folder is None or not folder.is_dir():
        raise SourceDown(f"không thấy thư mục {folder}")
    files = sorted(
        (p for p in folder.glob("*.xlsx") if p.is_file() and not p.name.startswith(("~$", "."))),
        key=lambda p: (p.stat().st_mtime, p.name),
    )
    last = None
    for path in files:
        stat = path.stat()
        if datetime.fromtimestamp(stat.st_mtime, UTC) > now - SETTLE:
            continue  # still being written: next poll
        if stat.st_size > MAX_FILE_BYTES:
            data = b""
            key = f"big:{path.name}:{stat.st_size}:{int(stat.st_mtime)}"
        else:
            data = path.read_bytes()
            key = "file:" + hashlib.sha256(data).hexdigest()
        with Session(get_engine()) as session:
            if _seen(session, spec.name, key):
                outcome.duplicates += 1
                continue
        if not data:
            _reject_file(spec, key, f"{path.name}: tệp lớn quá {MAX_FILE_BYTES // (1024 * 1024)} MB", now)
            outcome.rejected += 1
            outcome.problems.append(f"{path.name}: tệp quá lớn")
            continue
        try:
            parsed = read_updates(path, data=data, today=now.astimezone(VN_TZ).date())
        except TemplateError as exc:
            _reject_file(spec, key, f"{path.name}: {exc}", now)
            outcome.rejected += 1
            outcome.problems.append(f"{path.name}: {exc}")
            continue
        who = agency.short_name or agency.name
        with Session(get_engine()) as session:
            session.begin()
            result = write_updates(
                parsed,
                reported_by=f"{who} (tệp {path.name})"[:255],
                source="poll",
                agency_id=agency.id,
                session=session,
            )
            if result.ok:
                session.add(
                    PolledItem(source=spec.name, item_key=key, outcome="recorded", detail=path.name, seen_at=now)
                )
                try:
                    session.commit()
                except IntegrityError:  # another poll took it meanwhile
                    session.rollback()
                    outcome.duplicates += 1
                    continue
            else:
                session.rollback()
        if result.ok:
            outcome.recorded += len(result.recorded)
            announce(result.recorded)
            last = f"{path.name} {key}"
        else:
            details = "; ".join(str(e) for e in result.errors[:20])
            _reject_file(spec, key, f"{path.name}: {details}", now)
            outcome.rejected += 1
            outcome.problems.append(f"{path.name}: {details}")
    return last, last is None


def poll_source(spec: SourceSpec, now: datetime | None = None, force: bool = False) -> SourceOutcome:
    """Poll one source if it is due (or force); failures are recorded, logged and returned, never raised."""
    now = now or utcnow()
    outcome = SourceOutcome(spec.name, spec.agency, "ok")
    claimed, cursor, failures = _claim(spec.name, now, force)
    if not claimed:
        outcome.state = "skipped"
        return outcome
    try:
        with Session(get_engine()) as session:
            agency = session.exec(select(Agency).where(Agency.code == spec.agency)).first()
        if agency is None:
            raise SourceDown(f"cơ quan {spec.agency} chưa có trong cơ sở dữ liệu")
        if spec.kind == "http_json":
            new_cursor, keep = _poll_http(spec, agency, cursor, now, outcome)
        else:
            new_cursor, keep = _poll_folder(spec, agency, now, outcome)
        next_at = now + timedelta(minutes=spec.interval_minutes)
        _finish(spec.name, now=now, next_at=next_at, cursor=new_cursor, keep_cursor=keep, error=None)
    except Exception as exc:  # noqa: BLE001  (a source must never stop the follow-up)
        message = str(exc) if isinstance(exc, SourceDown) else f"lỗi không lường trước ({type(exc).__name__})"
        outcome.state, outcome.error = "failed", message
        outcome.retry_at = now + retry_delay(failures + 1)
        try:
            _finish(spec.name, now=now, next_at=outcome.retry_at, cursor=None, keep_cursor=True, error=message)
        except Exception:
            logger.exception("Could not record the failure of source %s", spec.describe())
        logger.warning(outcome.line())
        return outcome
    for problem in outcome.problems:
        logger.warning("Nguồn %s: bị từ chối: %s", spec.name, problem)
    logger.info(outcome.line())
    return outcome


def poll_sources(sources: Iterable[SourceSpec], now: datetime | None = None, force: bool = False) -> PollReport:
    """Poll each source that is due."""
    return PollReport([poll_source(spec, now, force) for spec in sources])


def poll_for_directive(directive_id: int, now: datetime | None = None) -> PollReport:
    """Poll the sources of the agencies a directive involves; a bad config is reported, not raised."""
    try:
        sources = load_status_sources(get_settings().config_dir).sources
    except ConfigError as exc:
        logger.error("status_sources.yaml is invalid; no source polled: %s", exc)
        return PollReport(config_error=str(exc))
    if not sources:
        return PollReport()
    with Session(get_engine()) as session:
        codes = set(
            session.exec(
                select(Agency.code)
                .join(Assignment, Assignment.agency_id == Agency.id)
                .where(Assignment.directive_id == directive_id)
            ).all()
        )
    return poll_sources([s for s in sources if s.agency in codes], now)


def source_states() -> list[PollCursor]:
    """Every source's cursor row, for `dondoc intake sources`."""
    with Session(get_engine()) as session:
        return list(session.exec(select(PollCursor).order_by(PollCursor.source)).all())
