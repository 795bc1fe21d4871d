"""Write a validated notice (and the agency directory it relies on) in one transaction."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from config.agencies import AgencyDirectory, load_agencies
from config.notice_file import read_notice_file
from config.policy import load_calendar, load_deadline_policy
from domain.notice_draft import DirectiveDraft, NoticeDraft, with_due_dates
from models import (
    Agency,
    AgencyContact,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    DeadlineChange,
    Directive,
    Notice,
    NoticeMonitor,
)
from models.db import session_scope
from models.types import row_id, utcnow


class ImportRefused(Exception):
    """The notice exists with different content and --update was not given."""

    def __init__(self, number: str, diff: str):
        self.number = number
        self.diff = diff
        super().__init__(
            f"Thông báo {number} đã được nhập trước đây với nội dung khác. "
            f"Xem thay đổi dưới đây; dùng --update để cập nhật.\n{diff}"
        )


@dataclass
class ImportResult:
    """What an import did."""

    notice_id: int
    number: str
    action: str  # created | unchanged | updated
    directives: int
    assignments: int
    changes: list[str]


def sync_agencies(session: Session, directory: AgencyDirectory, actor: str) -> dict[str, int]:
    """Upsert every agency and contact of the directory; return agency ids by code."""
    existing = {a.code: a for a in session.exec(select(Agency)).all()}
    now = utcnow()
    for spec in directory.agencies:
        agency = existing.get(spec.code)
        if agency is None:
            agency = Agency(code=spec.code, name=spec.name, short_name=spec.short_name, kind=spec.kind)
            session.add(agency)
            existing[spec.code] = agency
            session.add(
                AuditEvent(actor=actor, action="agency.created", entity_type="agency", details={"code": spec.code})
            )
        elif (agency.name, agency.short_name, agency.kind) != (spec.name, spec.short_name, spec.kind):
            agency.name, agency.short_name, agency.kind, agency.updated_at = spec.name, spec.short_name, spec.kind, now
    session.flush()
    ids = {code: a.id for code, a in existing.items() if a.id is not None}
    for spec in directory.agencies:
        agency = existing[spec.code]
        target = ids.get(spec.escalates_to) if spec.escalates_to else None
        if agency.escalates_to_id != target:
            agency.escalates_to_id = target
        _sync_contacts(session, agency, spec.contacts)
    return ids


def _sync_contacts(session: Session, agency: Agency, contacts: list) -> None:  # type: ignore[type-arg]
    """Make the agency's active contacts equal to the directory's, keeping old rows inactive."""
    rows = {
        (c.channel, c.address): c
        for c in session.exec(select(AgencyContact).where(AgencyContact.agency_id == agency.id)).all()
    }
    wanted = {(c.channel, c.address): c for c in contacts}
    for key, row in rows.items():
        row.active = key in wanted
        if key in wanted:
            row.role, row.name = wanted[key].role, wanted[key].name
    for key, spec in wanted.items():
        if key not in rows:
            session.add(
                AgencyContact(
                    agency_id=row_id(agency), name=spec.name, role=spec.role, channel=spec.channel, address=spec.address
                )
            )


def readable_diff(old: str, new: str, number: str) -> str:
    """Return a unified diff between two canonical notice files."""
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=f"{number} (đã nhập)",
        tofile=f"{number} (tệp mới)",
        lineterm="",
        n=2,
    )
    return "\n".join(lines)


def import_notice(
    path: Path, config_dir: Path, *, update: bool = False, actor: str = "cli", at: datetime | None = None
) -> ImportResult:
    """Validate path completely against config_dir, then write it in one transaction (a no-op if unchanged).

    The use case's edge, called by the CLI and the replay task: files are read and validated
    before any session opens; at is when the assignments are given (default now).
    """
    directory = load_agencies(config_dir)
    draft = with_due_dates(
        read_notice_file(path, directory), load_calendar(config_dir), load_deadline_policy(config_dir)
    )
    with session_scope() as session:
        return write_notice(draft, directory, path, session=session, update=update, actor=actor, at=at)


def write_notice(
    draft: NoticeDraft,
    directory: AgencyDirectory,
    path: Path,
    *,
    session: Session,
    update: bool = False,
    actor: str = "cli",
    at: datetime | None = None,
) -> ImportResult:
    """Write a validated draft (agencies synced first); refuse a changed notice unless update."""
    agency_ids = sync_agencies(session, directory, actor)
    notice = session.exec(select(Notice).where(Notice.number == draft.number)).first()
    if notice is not None and notice.spec_hash == draft.spec_hash:
        _fill_missing_tasks(session, notice, draft, agency_ids)
        return ImportResult(notice.id, notice.number, "unchanged", len(draft.directives), _count(draft), [])  # type: ignore[arg-type]
    if notice is not None and not update:
        raise ImportRefused(draft.number, readable_diff(notice.spec_yaml, draft.spec_yaml, draft.number))
    now = at or utcnow()
    if notice is None:
        notice = Notice(
            number=draft.number,
            issued_on=draft.issued_on,
            issuer_id=agency_ids[draft.issuer_code],
            title=draft.title,
            spec_hash=draft.spec_hash,
            spec_yaml=draft.spec_yaml,
            created_at=now,
        )
        action = "created"
    else:
        action = "updated"
    notice.number_is_placeholder = draft.number_is_placeholder
    notice.issued_on, notice.issuer_id, notice.title = draft.issued_on, agency_ids[draft.issuer_code], draft.title
    notice.source_text, notice.source_file = draft.source_text, draft.source_file
    notice.spec_hash, notice.spec_yaml, notice.updated_at = draft.spec_hash, draft.spec_yaml, now
    session.add(notice)
    session.flush()
    _sync_monitors(session, notice, draft, agency_ids)
    changes: list[str] = []
    existing = {d.number: d for d in session.exec(select(Directive).where(Directive.notice_id == notice.id)).all()}
    for item in draft.directives:
        changes += _upsert_directive(session, notice, existing.get(item.number), item, agency_ids, actor, now)
    for number, directive in existing.items():
        if number not in {d.number for d in draft.directives}:
            changes += _withdraw_all(session, directive, actor, now, f"mục {number} không còn trong tệp")
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=f"notice.{action}",
            entity_type="notice",
            entity_id=notice.id,
            details={"number": notice.number, "file": str(path), "hash": draft.spec_hash, "changes": changes},
        )
    )
    return ImportResult(notice.id, notice.number, action, len(draft.directives), _count(draft), changes)  # type: ignore[arg-type]


def _fill_missing_tasks(session: Session, notice: Notice, draft: NoticeDraft, agency_ids: dict[str, int]) -> None:
    """Give rows imported before tasks existed their derived task (the file itself is unchanged)."""
    wanted = {(d.number, agency_ids[a.agency_code]): a.task for d in draft.directives for a in d.assignments if a.task}
    rows = session.exec(
        select(Assignment, Directive.number)
        .join(Directive, col(Directive.id) == col(Assignment.directive_id))
        .where(Directive.notice_id == notice.id, col(Assignment.task).is_(None))
    ).all()
    for row, number in rows:
        task = wanted.get((number, row.agency_id))
        if task:
            row.task = task
            session.add(row)


def _count(draft: NoticeDraft) -> int:
    """Return the number of assignments in a draft."""
    return sum(len(d.assignments) for d in draft.directives)


def _sync_monitors(session: Session, notice: Notice, draft: NoticeDraft, agency_ids: dict[str, int]) -> None:
    """Make the notice's monitoring bodies equal to the draft's."""
    rows = {
        m.agency_id: m for m in session.exec(select(NoticeMonitor).where(NoticeMonitor.notice_id == notice.id)).all()
    }
    wanted = {agency_ids[m.agency_code]: m.role for m in draft.monitors}
    for agency_id, row in rows.items():
        if agency_id not in wanted:
            session.delete(row)
        else:
            row.role = wanted[agency_id]
    for agency_id, role in wanted.items():
        if agency_id not in rows:
            session.add(NoticeMonitor(notice_id=notice.id, agency_id=agency_id, role=role))  # type: ignore[arg-type]


def _upsert_directive(
    session: Session,
    notice: Notice,
    directive: Directive | None,
    item: DirectiveDraft,
    agency_ids: dict[str, int],
    actor: str,
    now: datetime,
) -> list[str]:
    """Create or update one directive and its assignments; return human-readable changes."""
    changes: list[str] = []
    due_changed = False
    is_new = directive is None
    code_of = {agency_id: code for code, agency_id in agency_ids.items()}
    if directive is None:
        directive = Directive(
            notice_id=row_id(notice),
            number=item.number,
            position=item.position,
            text=item.text,
            deadline_rule=item.deadline_rule,
            created_at=now,
        )
        changes.append(f"thêm mục {item.number}")
    else:
        due_changed = directive.due_date != item.due_date
        if (directive.text, directive.deadline_rule, directive.recurrence, directive.priority, directive.due_date) != (
            item.text,
            item.deadline_rule,
            item.recurrence,
            item.priority,
            item.due_date,
        ):
            changes.append(f"sửa mục {item.number}")
    directive.position, directive.text, directive.deadline_phrase = item.position, item.text, item.deadline_phrase
    directive.deadline_rule, directive.recurrence, directive.priority = (
        item.deadline_rule,
        item.recurrence,
        item.priority,
    )
    directive.due_date, directive.due_explanation, directive.updated_at = item.due_date, item.due_explanation, now
    directive.next_action_at = now  # a new or changed directive is followed up at the next sweep
    session.add(directive)
    session.flush()
    rows = {
        a.agency_id: a for a in session.exec(select(Assignment).where(Assignment.directive_id == directive.id)).all()
    }
    wanted = {agency_ids[a.agency_code]: a.role for a in item.assignments}
    tasks = {agency_ids[a.agency_code]: a.task or None for a in item.assignments}
    for agency_id, role in wanted.items():
        row = rows.get(agency_id)
        if row is None:
            row = Assignment(
                directive_id=row_id(directive),
                agency_id=agency_id,
                role=role,
                task=tasks[agency_id],
                due_date=item.due_date,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            session.add(
                DeadlineChange(
                    assignment_id=row_id(row),
                    kind="original",
                    due_date=item.due_date,
                    reason=item.due_explanation,
                    approved_by=actor,
                    created_at=now,
                )
            )
            if not is_new:
                changes.append(f"mục {item.number}: giao thêm cho {code_of[agency_id]}")
            continue
        if row.status == AssignmentStatus.withdrawn:
            row.status, row.withdrawn_at = AssignmentStatus.assigned, None
            changes.append(f"mục {item.number}: giao lại cho {code_of[agency_id]}")
        if row.role != role:
            row.role = role
            changes.append(f"mục {item.number}: đổi vai trò của {code_of[agency_id]} thành {role}")
        if row.task != tasks[agency_id]:
            if row.task is not None:
                changes.append(f"mục {item.number}: sửa nội dung việc của {code_of[agency_id]}")
            row.task = tasks[agency_id]
        if due_changed:
            row.due_date = item.due_date
            session.add(
                DeadlineChange(
                    assignment_id=row_id(row),
                    kind="revision",
                    due_date=item.due_date,
                    reason=f"Sửa thông báo: {item.due_explanation}",
                    approved_by=actor,
                    created_at=now,
                )
            )
        row.updated_at = now
    for agency_id, row in rows.items():
        if agency_id not in wanted and row.status != AssignmentStatus.withdrawn:
            row.status, row.withdrawn_at, row.updated_at = AssignmentStatus.withdrawn, now, now
            changes.append(f"mục {item.number}: thu hồi việc của {code_of[agency_id]}")
    return changes


def _withdraw_all(session: Session, directive: Directive, actor: str, now: datetime, reason: str) -> list[str]:
    """Withdraw every open assignment of a directive that left the file; history stays."""
    for row in session.exec(select(Assignment).where(Assignment.directive_id == directive.id)).all():
        if row.status != AssignmentStatus.withdrawn:
            row.status, row.withdrawn_at, row.updated_at = AssignmentStatus.withdrawn, now, now
            session.add(
                AuditEvent(
                    at=now,
                    actor=actor,
                    action="assignment.withdrawn",
                    entity_type="assignment",
                    entity_id=row.id,
                    details={"reason": reason},
                )
            )
    directive.next_action_at = now
    return [reason]
