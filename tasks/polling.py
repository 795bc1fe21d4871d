"""Polled status sources (config/status_sources.yaml): an agency's HTTP JSON endpoint or watched XLSX folder.

Each source keeps a cursor row (`PollCursor`) and a row per item it delivered (`PolledItem`: an
update id, or a file's content hash), so nothing is read twice; a refused item or file is
remembered too, so it is reported once, not after every backoff. A poll claims its source by
moving `next_attempt_at` forward, so two follow-ups never poll one source at once. A source that
is down is logged and retried later with backoff (domain.backoff, as the outbox); polling never
raises into the follow-up. An HTTP fetch has a total deadline, however slowly the source answers.

The poll functions take the caller's session and commit it after each step (the claim, each item
or file, the end), so no transaction is open while a source is fetched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.loader import ConfigError
from config.settings import get_settings
from config.status_sources import SourceSpec, load_status_sources
from domain.backoff import backoff_delay
from domain.safe_text import nfc
from domain.workdays import VN_TZ
from models import Agency, Assignment
from models.db import session_scope
from models.intake import PollCursor, PolledItem
from models.types import utcnow
from tasks.reply_intake import poll_reply_mailbox, publish_held_replies
from tasks.reply_mailbox import MailboxDown, MailboxSpec
from tasks.rules import load_follow_up_rules
from tasks.status_recording import StatusChangeRefused, parse_status, record_status_update
from tasks.status_workbook import TemplateError, read_updates, write_updates

LEASE = timedelta(minutes=5)  # a poll that dies mid-way is retried after this
# After the n-th failure in a row: about 1, 2, 4 … minutes, at most an hour (the outbox's formula, its own numbers).
RETRY_BASE_S = 60
RETRY_MAX_S = 3600
RETRY_JITTER = 0.25
_rng = random.Random()
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_FILE_BYTES = 10 * 1024 * 1024
SETTLE = timedelta(seconds=10)  # a file modified this recently may still be being copied
FUTURE_SLACK = timedelta(minutes=10)

logger = logging.getLogger("dondoc.polling")


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


def _claim(name: str, now: datetime, force: bool, *, session: Session) -> tuple[bool, str | None, int]:
    """Take the source for this poll if it is due (committed); return (claimed, cursor, failures so far)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.exec(insert(PollCursor).values(source=name, failures=0).on_conflict_do_nothing(index_elements=["source"]))
    statement = update(PollCursor).where(col(PollCursor.source) == name)
    if not force:
        statement = statement.where(
            col(PollCursor.next_attempt_at).is_(None) | (col(PollCursor.next_attempt_at) <= now)
        )
    claimed = session.exec(statement.values(next_attempt_at=now + LEASE, last_attempt_at=now)).rowcount
    row = session.exec(select(PollCursor).where(PollCursor.source == name)).one()
    cursor, failures = row.cursor, row.failures
    session.commit()
    return bool(claimed), cursor, failures


def _finish(
    name: str,
    *,
    session: Session,
    now: datetime,
    next_at: datetime,
    cursor: str | None,
    keep_cursor: bool,
    error: str | None,
) -> None:
    """Record the poll's end (committed): success (cursor, next time) or failure (count, error, retry time)."""
    row = session.exec(select(PollCursor).where(PollCursor.source == name)).one()
    row.next_attempt_at = next_at
    if error is None:
        row.failures, row.last_error, row.last_success_at = 0, None, now
        if not keep_cursor:
            row.cursor = cursor
    else:
        row.failures += 1
        row.last_error = error
    session.commit()


def retry_delay(failures: int) -> timedelta:
    """Wait after the n-th failure in a row: about 1, 2, 4 … minutes (± a quarter), at most an hour."""
    return timedelta(
        seconds=backoff_delay(
            failures, base_seconds=RETRY_BASE_S, cap_seconds=RETRY_MAX_S, jitter=RETRY_JITTER, factor=2, rng=_rng
        )
    )


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

    @field_validator("status", "note", "document_number", "evidence_url", "reported_by")
    @classmethod
    def _nfc(cls, value: str | None) -> str | None:
        """Text from another system is stored and compared in NFC."""
        return nfc(value) if value is not None else None


def _nfc_deep(item: Any) -> Any:
    """The item with every string in NFC, so one report sent in NFC and in NFD has one identity."""
    if isinstance(item, str):
        return nfc(item)
    if isinstance(item, dict):
        return {nfc(str(k)): _nfc_deep(v) for k, v in item.items()}
    if isinstance(item, list):
        return [_nfc_deep(v) for v in item]
    return item


def item_key(item: Any) -> str:
    """The item's identity at its source: its id, or the hash of its content (both in NFC)."""
    item = _nfc_deep(item)
    if isinstance(item, dict) and isinstance(item.get("id"), (str, int)) and str(item["id"]).strip():
        key = f"id:{str(item['id']).strip()}"
        if len(key) <= 200:
            return key
    canonical = json.dumps(item, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return "sha:" + hashlib.sha256(canonical.encode()).hexdigest()


def _seen(name: str, key: str, *, session: Session) -> bool:
    """This item was read before."""
    found = session.exec(select(PolledItem.id).where(PolledItem.source == name, PolledItem.item_key == key)).first()
    return found is not None


def _apply_item(spec: SourceSpec, agency: Agency, item: Any, now: datetime, *, session: Session) -> None:
    """Validate one item and record it, received now; raises ValidationError or StatusChangeRefused."""
    update_in = PolledUpdate.model_validate(_nfc_deep(item))
    status = parse_status(update_in.status)
    if status is None:
        raise StatusChangeRefused(f"trạng thái không hợp lệ: «{update_in.status}»")
    declared = update_in.reported_at
    if declared is not None:
        declared = (declared if declared.tzinfo else declared.replace(tzinfo=VN_TZ)).astimezone(UTC)
        if declared > now + FUTURE_SLACK:
            raise StatusChangeRefused("thời điểm báo cáo ở tương lai")
    who = agency.short_name or agency.name
    reporter = f"{update_in.reported_by} – {who}" if update_in.reported_by else f"{who} (nguồn {spec.name})"
    record_status_update(
        update_in.assignment_id,
        session=session,
        status=status,
        percent=update_in.percent,
        note=update_in.note,
        document_number=update_in.document_number,
        evidence_url=update_in.evidence_url,
        reported_by=reporter,
        source="poll",
        at=now,
        declared_at=declared,
        agency_id=agency.id,
    )


def _record_item(
    spec: SourceSpec, agency: Agency, item: Any, now: datetime, *, session: Session
) -> tuple[str, str | None]:
    """Record one item with its seen-row, and commit; return (outcome, problem)."""
    key = item_key(item)
    if _seen(spec.name, key, session=session):
        session.commit()
        return "duplicate", None
    problem = None
    try:
        with session.begin_nested():  # a refused item leaves nothing of itself but its seen-row
            _apply_item(spec, agency, item, now, session=session)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    except StatusChangeRefused as exc:
        problem = str(exc)
    session.add(
        PolledItem(
            source=spec.name, item_key=key, outcome="rejected" if problem else "recorded", detail=problem, seen_at=now
        )
    )
    session.commit()
    return ("rejected" if problem else "recorded"), problem


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


async def _read_body(url: str, params: dict[str, str] | None, headers: dict[str, str], timeout: float) -> bytes:
    """GET url and read the whole body (at most MAX_RESPONSE_BYTES)."""
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
        client.stream("GET", url, params=params, headers=headers) as response,
    ):
        if response.status_code != 200:
            raise SourceDown(f"máy chủ trả về HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise SourceDown(f"phản hồi lớn quá {MAX_RESPONSE_BYTES // (1024 * 1024)} MB")
        return bytes(body)


async def _read_within(
    url: str, params: dict[str, str] | None, headers: dict[str, str], timeout: float, deadline: float
) -> bytes:
    """_read_body, cancelled when the deadline passes (httpx's timeouts are per operation, not per request)."""
    return await asyncio.wait_for(_read_body(url, params, headers, timeout), deadline)


def fetch_http(spec: SourceSpec, cursor: str | None) -> tuple[list[Any], str | None]:
    """GET the endpoint (since=cursor) within its deadline; return its updates and new cursor. Errors never show the token."""
    url = _secret(spec.url, spec.url_env, "địa chỉ")
    token = _secret(spec.token, spec.token_env, "mã truy cập")
    assert url is not None  # the config check requires url or url_env
    headers = {"Accept": "application/json", "User-Agent": "dondoc-status-poller"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    params = {"since": cursor} if cursor else None
    try:
        # A fresh event loop in this thread: polling runs in sync code (CLI, Prefect's worker threads).
        body = asyncio.run(_read_within(url, params, headers, spec.timeout_seconds, spec.deadline_seconds))
    except TimeoutError:
        raise SourceDown(f"nguồn trả lời quá {spec.deadline_seconds:g} giây, đã ngắt") from None
    except httpx.HTTPError as exc:
        raise SourceDown(f"không kết nối được ({type(exc).__name__})") from None
    try:
        data = json.loads(body)
    except ValueError:
        raise SourceDown("phản hồi không phải JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("updates"), list):
        raise SourceDown("phản hồi không đúng định dạng (cần đối tượng có danh sách «updates»)")
    new_cursor = data.get("cursor")
    if new_cursor is not None:
        new_cursor = str(new_cursor)[:1000]
    return data["updates"], new_cursor


def _poll_http(
    spec: SourceSpec, agency: Agency, cursor: str | None, now: datetime, outcome: SourceOutcome, *, session: Session
) -> tuple[str | None, bool]:
    """Poll an HTTP source; return the cursor to keep and whether to keep the old one."""
    items, new_cursor = fetch_http(spec, cursor)
    for item in items:
        kind, problem = _record_item(spec, agency, item, now, session=session)
        if kind == "duplicate":
            outcome.duplicates += 1
        elif kind == "rejected":
            outcome.rejected += 1
            outcome.problems.append(f"{item_key(item)}: {problem}")
        else:
            outcome.recorded += 1
    return new_cursor, new_cursor is None


def _reject_file(spec: SourceSpec, key: str, detail: str, now: datetime, *, session: Session) -> None:
    """Remember a refused file (committed), so it is reported once, not on every poll (a corrected file has a new hash)."""
    session.add(PolledItem(source=spec.name, item_key=key, outcome="rejected", detail=detail[:4000], seen_at=now))
    session.commit()


def _poll_file(
    spec: SourceSpec, agency: Agency, path: Path, key: str, data: bytes, now: datetime, *, session: Session
) -> tuple[int, str | None]:
    """Import one new file whole or not at all, and remember it; return (updates recorded, problem)."""
    name = nfc(path.name)
    try:
        parsed = read_updates(path, data=data, today=now.astimezone(VN_TZ).date())
    except TemplateError as exc:  # a zip bomb included: refused before openpyxl opens it, and never read again
        _reject_file(spec, key, f"{name}: {exc}", now, session=session)
        return 0, str(exc)
    except Exception as exc:  # noqa: BLE001  (a file that breaks the reader is refused once, not re-read after every backoff)
        problem = f"không đọc được tệp ({type(exc).__name__})"
        _reject_file(spec, key, f"{name}: {problem}", now, session=session)
        return 0, problem
    who = agency.short_name or agency.name
    result = write_updates(
        parsed,
        session=session,
        reported_by=f"{who} (tệp {name})"[:255],
        source="poll",
        agency_id=agency.id,
        received_at=now,
    )
    if not result.ok:  # write_updates rolled the file's rows back
        details = "; ".join(str(e) for e in result.errors[:20])
        _reject_file(spec, key, f"{name}: {details}", now, session=session)
        return 0, details
    session.add(PolledItem(source=spec.name, item_key=key, outcome="recorded", detail=name, seen_at=now))
    try:
        session.commit()
    except IntegrityError:  # another poll took it meanwhile
        session.rollback()
        return -1, None
    return len(result.recorded), None


def _poll_folder(
    spec: SourceSpec, agency: Agency, now: datetime, outcome: SourceOutcome, *, session: Session
) -> tuple[str | None, bool]:
    """Read every new XLSX report in the folder: each file whole or not at all."""
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
        too_big = stat.st_size > MAX_FILE_BYTES
        data = b"" if too_big else path.read_bytes()
        key = (
            f"big:{nfc(path.name)}:{stat.st_size}:{int(stat.st_mtime)}"
            if too_big
            else "file:" + hashlib.sha256(data).hexdigest()
        )
        if _seen(spec.name, key, session=session):
            session.commit()
            outcome.duplicates += 1
            continue
        if too_big:
            _reject_file(
                spec, key, f"{nfc(path.name)}: tệp lớn quá {MAX_FILE_BYTES // (1024 * 1024)} MB", now, session=session
            )
            outcome.rejected += 1
            outcome.problems.append(f"{nfc(path.name)}: tệp quá lớn")
            continue
        recorded, problem = _poll_file(spec, agency, path, key, data, now, session=session)
        if problem is not None:
            outcome.rejected += 1
            outcome.problems.append(f"{nfc(path.name)}: {problem}")
        elif recorded < 0:
            outcome.duplicates += 1
        else:
            outcome.recorded += recorded
            last = f"{nfc(path.name)} {key}"
    return last, last is None


def _poll_imap(spec: SourceSpec, now: datetime, outcome: SourceOutcome) -> tuple[str | None, bool]:
    """Read a reply mailbox (kind imap): each new message is handled as an agency's reply, then moved.

    The UID cursor is saved on this source's cursor row after each message, so it is kept here.
    """
    password = os.environ.get(spec.password_env or "")
    if not password:
        raise SourceDown(f"chưa đặt biến môi trường {spec.password_env} (mật khẩu hộp thư)")
    mailbox = MailboxSpec(
        host=spec.host or "",
        port=spec.port or (993 if spec.tls == "ssl" else 143),
        user=spec.user or "",
        password=password,
        tls=spec.tls,
        folder=spec.folder,
        processed_folder=spec.processed_folder,
        held_folder=spec.held_folder,
        timeout_seconds=spec.timeout_seconds,
    )
    try:
        polled = poll_reply_mailbox(spec.name, mailbox, rules=load_follow_up_rules(), as_of=now)
    except MailboxDown as exc:
        raise SourceDown(str(exc)) from exc
    for reply in polled.outcomes:
        if reply.state == "recorded":
            outcome.recorded += len(reply.updates) + len(reply.extensions)
        elif reply.state == "duplicate":
            outcome.duplicates += 1
        else:
            outcome.rejected += 1
            outcome.problems.append("giữ lại chờ xem xét: " + "; ".join(reply.reasons))
    return None, True


def poll_source(
    spec: SourceSpec, *, session: Session, now: datetime | None = None, force: bool = False
) -> SourceOutcome:
    """Poll one source if it is due (or force); failures are recorded, logged and returned, never raised."""
    now = now or utcnow()
    outcome = SourceOutcome(spec.name, spec.agency, "ok")
    claimed, cursor, failures = _claim(spec.name, now, force, session=session)
    if not claimed:
        outcome.state = "skipped"
        return outcome
    try:
        agency = session.exec(select(Agency).where(Agency.code == spec.agency)).first()
        session.commit()
        if agency is None:
            raise SourceDown(f"cơ quan {spec.agency} chưa có trong cơ sở dữ liệu")
        if spec.kind == "imap":
            new_cursor, keep = _poll_imap(spec, now, outcome)
        elif spec.kind == "http_json":
            new_cursor, keep = _poll_http(spec, agency, cursor, now, outcome, session=session)
        else:
            new_cursor, keep = _poll_folder(spec, agency, now, outcome, session=session)
        next_at = now + timedelta(minutes=spec.interval_minutes)
        _finish(spec.name, session=session, now=now, next_at=next_at, cursor=new_cursor, keep_cursor=keep, error=None)
    except Exception as exc:  # noqa: BLE001  (a source must never stop the follow-up)
        session.rollback()
        message = str(exc) if isinstance(exc, SourceDown) else f"lỗi không lường trước ({type(exc).__name__})"
        outcome.state, outcome.error = "failed", message
        outcome.retry_at = now + retry_delay(failures + 1)
        try:
            _finish(
                spec.name,
                session=session,
                now=now,
                next_at=outcome.retry_at,
                cursor=None,
                keep_cursor=True,
                error=message,
            )
        except Exception:
            session.rollback()
            logger.exception("Could not record the failure of source %s", spec.describe())
        logger.warning(outcome.line())
        return outcome
    for problem in outcome.problems:
        logger.warning("Nguồn %s: bị từ chối: %s", spec.name, problem)
    logger.info(outcome.line())
    return outcome


def poll_sources(
    sources: Iterable[SourceSpec], *, session: Session, now: datetime | None = None, force: bool = False
) -> PollReport:
    """Poll each source that is due."""
    return PollReport([poll_source(spec, session=session, now=now, force=force) for spec in sources])


def poll_for_directive(
    directive_id: int, *, session: Session, config_dir: Path, now: datetime | None = None
) -> PollReport:
    """Poll the sources of the agencies a directive involves; a bad config is reported, not raised."""
    try:
        sources = load_status_sources(config_dir).sources
    except ConfigError as exc:
        logger.error("status_sources.yaml is invalid; no source polled: %s", exc)
        return PollReport(config_error=str(exc))
    if not sources:
        return PollReport()
    codes = set(
        session.exec(
            select(Agency.code)
            .join(Assignment, col(Assignment.agency_id) == Agency.id)
            .where(Assignment.directive_id == directive_id)
        ).all()
    )
    session.commit()
    # A reply mailbox serves every agency: it is read by whichever follow-up comes first (at most once per interval).
    return poll_sources([s for s in sources if s.kind == "imap" or s.agency in codes], session=session, now=now)


def source_states(*, session: Session) -> list[PollCursor]:
    """Every source's cursor row, for `dondoc intake sources`."""
    return list(session.exec(select(PollCursor).order_by(col(PollCursor.source))).all())


# --- the Prefect task ---------------------------------------------------------------------------


# No Prefect retries: a source that is down is retried later by its own backoff, and never fails the run.
@task(name="Lấy trạng thái từ nguồn ngoài", cache_policy=NONE)
def poll_status_sources_task(directive_id: int, as_of: datetime | None = None) -> int:
    """Poll the status sources of the directive's agencies (config/status_sources.yaml); return new updates."""
    run_logger = get_run_logger()
    try:
        with session_scope() as session:
            report = poll_for_directive(directive_id, session=session, config_dir=get_settings().config_dir, now=as_of)
    except Exception as exc:  # noqa: BLE001  (e.g. the database is briefly unreachable: the follow-up goes on)
        run_logger.warning("Không lấy được trạng thái từ nguồn ngoài: %s", type(exc).__name__)
        return 0
    if report.config_error:
        run_logger.error("Tệp status_sources.yaml không hợp lệ, không lấy nguồn nào: %s", report.config_error)
    for outcome in report.outcomes:
        if outcome.state == "failed":
            run_logger.warning(outcome.line())
        elif outcome.state == "ok":
            run_logger.info(outcome.line())
            for problem in outcome.problems:
                run_logger.warning("Nguồn %s: bị từ chối: %s", outcome.source, problem)
    if any(o.rejected for o in report.outcomes):
        publish_held_replies()
    return report.recorded
