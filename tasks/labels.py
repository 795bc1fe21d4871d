"""Readable names and tags for Prefect runs."""

from __future__ import annotations

from sqlmodel import Session, select

from domain.text import ascii_slug
from models import Agency, Assignment, Directive, Notice, get_engine


def directive_label(directive_id: int) -> str:
    """Return "<notice number> · <directive number>" for a directive."""
    with Session(get_engine()) as session:
        row = session.exec(
            select(Notice.number, Directive.number)
            .join(Notice, Notice.id == Directive.notice_id)
            .where(Directive.id == directive_id)
        ).first()
    return f"{row[0]} · {row[1]}" if row else f"mục #{directive_id}"


def directive_tags(notice_number: str, directive_number: str, agency_codes: list[str]) -> list[str]:
    """Tags for filtering runs in the UI by notice, directive and agency."""
    notice = ascii_slug(notice_number)
    return [
        f"notice:{notice}",
        f"directive:{notice}/{directive_number}",
        *(f"agency:{code}" for code in sorted(agency_codes)),
    ]


def tags_by_directive(directive_ids: list[int]) -> dict[int, list[str]]:
    """Tags for several directives, read in one query."""
    if not directive_ids:
        return {}
    with Session(get_engine()) as session:
        rows = session.exec(
            select(Directive.id, Notice.number, Directive.number, Agency.code)
            .join(Notice, Notice.id == Directive.notice_id)
            .join(Assignment, Assignment.directive_id == Directive.id)
            .join(Agency, Agency.id == Assignment.agency_id)
            .where(Directive.id.in_(directive_ids))  # type: ignore[union-attr]
        ).all()
    grouped: dict[int, tuple[str, str, list[str]]] = {}
    for directive_id, notice_number, directive_number, code in rows:
        grouped.setdefault(directive_id, (notice_number, directive_number, []))[2].append(code)  # type: ignore[index]
    return {d: directive_tags(n, num, codes) for d, (n, num, codes) in grouped.items()}


def assignment_label(assignment_id: int) -> str:
    """Return "<notice number> · <directive number> · <agency>" for an assignment."""
    with Session(get_engine()) as session:
        row = session.exec(
            select(Notice.number, Directive.number, Agency.short_name, Agency.name)
            .join(Directive, Directive.notice_id == Notice.id)
            .join(Assignment, Assignment.directive_id == Directive.id)
            .join(Agency, Agency.id == Assignment.agency_id)
            .where(Assignment.id == assignment_id)
        ).first()
    if row is None:
        return f"việc #{assignment_id}"
    return f"{row[0]} · {row[1]} · {row[2] or row[3]}"
