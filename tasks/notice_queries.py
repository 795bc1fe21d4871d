"""Read-side queries over notices, for the CLI and the artifacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from config.agencies import load_agencies
from config.settings import get_settings
from domain.deadlines import EVERY_VI
from domain.text import match_key
from domain.workdays import format_date_vi, weekday_vi
from models import Agency, Assignment, AssignmentStatus, Directive, Notice


@dataclass
class DirectiveRow:
    """One line of the directives × agencies table."""

    number: str
    text: str
    leads: list[str]
    supports: list[str]
    deadline: str


def find_notice(session: Session, ref: str) -> Notice | None:
    """Find a notice by its number (accents and case ignored) or its internal id."""
    notice = session.exec(select(Notice).where(Notice.number == ref)).first()
    if notice is not None:
        return notice
    if ref.isdigit():
        return session.get(Notice, int(ref))
    wanted = match_key(ref)
    return next((n for n in session.exec(select(Notice)).all() if match_key(n.number) == wanted), None)


def deadline_label(directive: Directive) -> str:
    """Describe a directive's deadline as officials read it."""
    parts = []
    if directive.due_date:
        parts.append(f"{format_date_vi(directive.due_date)} ({weekday_vi(directive.due_date)})")
    else:
        parts.append("Thường xuyên")
    if directive.recurrence:
        parts.append(
            f"báo cáo {EVERY_VI.get(directive.recurrence.get('every', ''), directive.recurrence.get('every'))}"
        )
    if directive.priority == "urgent":
        parts.append("khẩn")
    return "; ".join(parts)


def _collapse_groups(codes: list[str], names: dict[str, str]) -> list[str]:
    """Show a whole group ("UBND các huyện, thành phố") instead of listing all its members."""
    directory = load_agencies(get_settings().config_dir)
    remaining = list(codes)
    labels = []
    for group in directory.groups:
        if len(group.members) > 1 and set(group.members) <= set(remaining):
            labels.append(f"{group.name} ({len(group.members)})")
            remaining = [c for c in remaining if c not in group.members]
    return [names[c] for c in remaining] + labels


def notice_table(session: Session, notice_id: int) -> list[DirectiveRow]:
    """Return the notice's directives with their leads, supports and deadlines."""
    directives = session.exec(
        select(Directive).where(Directive.notice_id == notice_id).order_by(Directive.position)
    ).all()
    rows = session.exec(
        select(Assignment, Agency)
        .join(Agency, Agency.id == Assignment.agency_id)
        .join(Directive, Directive.id == Assignment.directive_id)
        .where(Directive.notice_id == notice_id, Assignment.status != AssignmentStatus.withdrawn)
        .order_by(Assignment.id)
    ).all()
    names = {agency.code: agency.short_name or agency.name for _, agency in rows}
    by_directive: dict[int, dict[str, list[str]]] = {}
    for assignment, agency in rows:
        by_directive.setdefault(assignment.directive_id, {"lead": [], "support": []})[assignment.role].append(
            agency.code
        )
    out = []
    for directive in directives:
        roles = by_directive.get(directive.id, {"lead": [], "support": []})  # type: ignore[arg-type]
        out.append(
            DirectiveRow(
                number=directive.number,
                text=directive.text,
                leads=_collapse_groups(roles["lead"], names),
                supports=_collapse_groups(roles["support"], names),
                deadline=deadline_label(directive),
            )
        )
    return out
