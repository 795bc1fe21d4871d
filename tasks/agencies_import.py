"""Load another province's agency directory (YAML or XLSX): validate it whole, then replace agencies.yaml and the
agency table together.

Every part of dondoc reads the directory from the configured config dir (config_dir/agencies.yaml) and the
database's agency table is synced from it; an import writes both or neither. The new file is written to a
temporary file and renamed over the old one inside the database transaction, and put back if the commit fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from config.agencies import AGENCIES_FILE, AgencyDirectory, load_agencies
from config.loader import ConfigError, format_loc, load_located_yaml, validate_located
from domain.labels import validation_message_vi
from models import Agency, AgencyContact, Assignment, AuditEvent, Notice, NoticeMonitor, Notification
from models.db import session_scope
from tasks.agencies_workbook import WorkbookRefused, read_workbook
from tasks.notice_import import sync_agencies

# A province's directory is tens of kilobytes; anything far larger is not one.
MAX_FILE_BYTES = 5 * 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")
XLSX_SUFFIXES = (".xlsx",)
# Column sizes of the agency table (models/tables.py), checked here so the database never truncates or refuses.
MAX_LENGTHS = {"code": 64, "name": 255, "short_name": 128, "kind": 32}
_PHONE = re.compile(r"^[0-9+().\s-]{3,32}$")

Loc = tuple[str | int, ...]


class DirectoryRefused(Exception):
    """The directory file is not acceptable; every problem, located, in Vietnamese. Nothing was written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class DirectoryChanges:
    """What replacing the current directory with a new one changes, by code."""

    province: tuple[str | None, str]
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_changed: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        """Whether anything changes at all."""
        lists = (self.added, self.changed, self.removed, self.groups_added, self.groups_changed, self.groups_removed)
        return self.province[0] != self.province[1] or any(lists)


@dataclass
class DirectoryImport:
    """What an import did (or, in a dry run, would do)."""

    directory: AgencyDirectory
    changes: DirectoryChanges
    target: Path
    written: bool


# --- reading and validating ---------------------------------------------------------------------------------


def read_directory(path: Path) -> AgencyDirectory:
    """Read a directory file (agencies.yaml format, or the XLSX workbook) and validate it whole."""
    data, locate, problems = _read_any(path)
    problems += structural_problems(data, locate)
    try:
        directory = AgencyDirectory.model_validate(data if data is not None else {})
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if isinstance(part, (str, int)))
            if not loc and problems:
                continue  # the model's own cross-checks: already said, with their place
            problems.append(f"{locate(loc)}: {validation_message_vi(err)}")
        raise DirectoryRefused(problems) from None
    if problems:
        raise DirectoryRefused(problems)
    return directory


def _read_any(path: Path) -> tuple[Any, Callable[[Loc], str], list[str]]:
    """The file's data, a function naming the place of a data location, and the problems found while reading."""
    suffix = path.suffix.lower()
    if suffix not in YAML_SUFFIXES + XLSX_SUFFIXES:
        raise DirectoryRefused([f"{path.name}: chỉ nhận tệp .yaml, .yml hoặc .xlsx"])
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DirectoryRefused(
                [f"{path.name}: tệp quá lớn ({size // 1024} KB; tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB)"]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DirectoryRefused([f"{path}: không tìm thấy tệp"]) from None
    except OSError as exc:
        raise DirectoryRefused([f"{path}: không đọc được tệp ({exc.strerror})"]) from None
    if suffix in XLSX_SUFFIXES:
        try:
            book = read_workbook(path, raw)
        except WorkbookRefused as exc:
            raise DirectoryRefused([str(exc)]) from None

        def locate_cell(loc: Loc) -> str:
            cell = book.locate(loc)
            return cell.where(path.name) if cell else path.name

        return book.data, locate_cell, [f"{ref.where(path.name)}: {message}" for ref, message in book.problems]
    try:
        located = load_located_yaml(path, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DirectoryRefused([f"{path}: tệp không phải UTF-8 ({exc.reason})"]) from None
    except ConfigError as exc:
        raise DirectoryRefused([str(issue) for issue in exc.issues]) from None

    def locate_line(loc: Loc) -> str:
        line = located.line_of(loc)
        where = f"{path}:{line}" if line else str(path)
        return f"{where}: {format_loc(loc)}" if loc else where

    return located.data, locate_line, []


def structural_problems(data: Any, locate: Callable[[Loc], str]) -> list[str]:
    """Duplicate codes, unknown supervisors and members, empty required cells, oversized values, bad phones."""
    if not isinstance(data, dict):
        return []  # the model says what is wrong with the whole
    agencies, groups = _dicts(data.get("agencies")), _dicts(data.get("groups"))
    problems: list[str] = []
    first: dict[str, Loc] = {}
    for kind, items in (("agencies", agencies), ("groups", groups)):
        for i, item in enumerate(items):
            code = item.get("code")
            if not isinstance(code, str) or not code:
                continue
            if code in first:
                problems.append(f"{locate((kind, i, 'code'))}: mã «{code}» bị trùng (đã có ở {locate(first[code])})")
            else:
                first[code] = (kind, i, "code")
    codes = {a.get("code") for a in agencies}
    for i, agency in enumerate(agencies):
        for key in ("name", "kind"):
            if key in agency and isinstance(agency[key], str) and not agency[key].strip():
                problems.append(f"{locate(('agencies', i, key))}: không được để trống")
        for key, limit in MAX_LENGTHS.items():
            value = agency.get(key)
            if isinstance(value, str) and len(value) > limit:
                problems.append(f"{locate(('agencies', i, key))}: dài quá {limit} ký tự")
        boss = agency.get("escalates_to")
        if isinstance(boss, str) and boss:
            if boss == agency.get("code"):
                problems.append(f"{locate(('agencies', i, 'escalates_to'))}: cơ quan cấp trên trỏ tới chính mình")
            elif boss not in codes:
                problems.append(
                    f"{locate(('agencies', i, 'escalates_to'))}: cơ quan cấp trên «{boss}» không có trong danh mục"
                )
        phone = agency.get("phone")
        if isinstance(phone, str) and not _PHONE.fullmatch(phone):
            problems.append(f"{locate(('agencies', i, 'phone'))}: số điện thoại không hợp lệ «{phone}»")
        for k, contact in enumerate(_dicts(agency.get("contacts"))):
            address = contact.get("address")
            if isinstance(address, str) and contact.get("channel") == "zalo" and re.search(r"\s", address):
                problems.append(
                    f"{locate(('agencies', i, 'contacts', k))}: mã Zalo không được có khoảng trắng «{address}»"
                )
    for i, group in enumerate(groups):
        members = group.get("members")
        missing = [m for m in members if m not in codes] if isinstance(members, list) else []
        if missing:
            problems.append(
                f"{locate(('groups', i, 'members'))}: thành viên không có trong danh mục: {', '.join(map(str, missing))}"
            )
    return problems


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The items of a list as mappings ({} for any other item; none when value is no list): the model says the rest."""
    return [item if isinstance(item, dict) else {} for item in value] if isinstance(value, list) else []


# --- comparing and writing ----------------------------------------------------------------------------------


def directory_changes(old: AgencyDirectory | None, new: AgencyDirectory) -> DirectoryChanges:
    """Agencies and groups added, changed and removed, by code."""
    changes = DirectoryChanges((old.province if old else None, new.province))
    pairs = (
        ({a.code: a.model_dump() for a in old.agencies} if old else {}, {a.code: a.model_dump() for a in new.agencies}),
        ({g.code: g.model_dump() for g in old.groups} if old else {}, {g.code: g.model_dump() for g in new.groups}),
    )
    for (before, after), (added, changed, removed) in zip(
        pairs,
        (
            (changes.added, changes.changed, changes.removed),
            (changes.groups_added, changes.groups_changed, changes.groups_removed),
        ),
        strict=True,
    ):
        added += [c for c in after if c not in before]
        changed += [c for c in after if c in before and before[c] != after[c]]
        removed += [c for c in before if c not in after]
    return changes


def render_directory(directory: AgencyDirectory, source: str) -> str:
    """The directory as an agencies.yaml file, with a header saying where it came from."""
    body = yaml.safe_dump(
        directory.model_dump(mode="json", exclude_defaults=True), allow_unicode=True, sort_keys=False, width=120
    )
    header = (
        f"# Danh mục cơ quan tỉnh {directory.province}, nhập bằng «dondoc agencies import» từ tệp {source}.\n"
        "# Các trường: xem docs/agencies.md. Sửa tệp gốc rồi nhập lại (thêm --dry-run để xem trước).\n"
    )
    return header + body


def current_directory(config_dir: Path) -> AgencyDirectory | None:
    """The directory in use, or None when there is none (or it no longer loads: the import replaces it)."""
    target = config_dir / AGENCIES_FILE
    if not target.is_file():
        return None
    try:
        return validate_located(load_located_yaml(target), AgencyDirectory)
    except ConfigError:
        return None


def import_directory(path: Path, config_dir: Path, *, dry_run: bool = False, actor: str = "cli") -> DirectoryImport:
    """Validate path whole, then (unless dry_run) replace config_dir/agencies.yaml and sync the agency table together."""
    directory = read_directory(path)
    target = config_dir / AGENCIES_FILE
    changes = directory_changes(current_directory(config_dir), directory)
    text = render_directory(directory, path.name)
    if validate_located(load_located_yaml(target, text), AgencyDirectory) != directory:
        raise RuntimeError("the rendered directory does not load back equal")  # a bug of render_directory, not input
    if dry_run:
        with session_scope(read_only=True) as session:
            refuse_removing_used(directory, path, session=session)
        return DirectoryImport(directory, changes, target, written=False)
    previous = target.read_bytes() if target.is_file() else None
    replaced = False
    try:
        with session_scope() as session:
            refuse_removing_used(directory, path, session=session)
            sync_agencies(session, directory, actor)
            retire_removed(directory, session=session)
            session.add(
                AuditEvent(
                    actor=actor,
                    action="agencies.imported",
                    entity_type="agency",
                    details={
                        "source": path.name,
                        "added": changes.added,
                        "changed": changes.changed,
                        "removed": changes.removed,
                    },
                )
            )
            session.flush()
            write_atomically(target, text.encode("utf-8"))
            replaced = True
    except BaseException:
        if replaced:  # the commit failed after the rename: put the old directory back
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                write_atomically(target, previous)
        raise
    finally:
        load_agencies.cache_clear()
    return DirectoryImport(directory, changes, target, written=True)


def write_atomically(target: Path, content: bytes) -> None:
    """Write content to a temporary file beside target, flush it to disk, and rename it over target."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


# --- the database -------------------------------------------------------------------------------------------


def refuse_removing_used(directory: AgencyDirectory, path: Path, *, session: Session) -> None:
    """Refuse a directory that leaves out agencies notices, assignments or messages in the database refer to."""
    keep = {a.code for a in directory.agencies}
    gone = [a for a in session.exec(select(Agency)).all() if a.code not in keep]
    used = [(a, n) for a in gone if (n := _references(a.id, session=session))]  # type: ignore[arg-type]
    if used:
        names = "; ".join(f"{a.code} ({a.name}, {n} lượt dùng)" for a, n in used)
        raise DirectoryRefused(
            [
                f"{path.name}: thiếu cơ quan đang được dùng trong cơ sở dữ liệu (thông báo, giao việc, tin nhắn): "
                f"{names} — hãy giữ các cơ quan này trong danh mục"
            ]
        )


def _references(agency_id: int, *, session: Session) -> int:
    """How many notices, monitors, assignments and messages refer to an agency."""
    queries = [
        select(func.count()).select_from(Notice).where(Notice.issuer_id == agency_id),
        select(func.count()).select_from(NoticeMonitor).where(NoticeMonitor.agency_id == agency_id),
        select(func.count()).select_from(Assignment).where(Assignment.agency_id == agency_id),
        select(func.count()).select_from(Notification).where(Notification.recipient_agency_id == agency_id),
    ]
    return sum(session.exec(query).one() for query in queries)


def retire_removed(directory: AgencyDirectory, *, session: Session) -> None:
    """Delete the rows (and contacts) of agencies the new directory leaves out; none is referenced any more."""
    keep = {a.code for a in directory.agencies}
    gone = [a for a in session.exec(select(Agency)).all() if a.code not in keep]
    if not gone:
        return
    ids = [a.id for a in gone]
    for row in session.exec(select(Agency).where(col(Agency.escalates_to_id).in_(ids))).all():
        row.escalates_to_id = None
    for contact in session.exec(select(AgencyContact).where(col(AgencyContact.agency_id).in_(ids))).all():
        session.delete(contact)
    session.flush()
    for agency in gone:
        session.delete(agency)
