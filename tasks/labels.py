"""Readable names and tags for Prefect runs."""

from __future__ import annotations

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from sqlmodel import Session, col, select

from domain.text import ascii_slug
from models import Agency, Assignment, Directive, Notice


def directive_label(directive_id: int, *, session: Session) -> str:
    """Return "<notice number> · <directive number>" for a directive."""
    row = session.exec(
        select(Notice.number, Directive.number)
        .join(Notice, col(Notice.id) == Directive.notice_id)
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


def tags_by_directive(directive_ids: list[int], *, session: Session) -> dict[int, list[str]]:
    """Tags for several directives, read in one query."""
    if not directive_ids:
        return {}
    rows = session.exec(
        select(Directive.id, Notice.number, Directive.number, Agency.code)
        .join(Notice, col(Notice.id) == Directive.notice_id)
        .join(Assignment, col(Assignment.directive_id) == Directive.id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(col(Directive.id).in_(directive_ids))
    ).all()
    grouped: dict[int, tuple[str, str, list[str]]] = {}
    for directive_id, notice_number, directive_number, code in rows:
        if directive_id is not None:
            grouped.setdefault(directive_id, (notice_number, directive_number, []))[2].append(code)
    return {d: directive_tags(n, num, codes) for d, (n, num, codes) in grouped.items()}


def assignment_label(assignment_id: int, *, session: Session) -> str:
    """Return "<notice number> · <directive number> · <agency>" for an assignment."""
    row = session.exec(
        select(Notice.number, Directive.number, Agency.short_name, Agency.name)
        .join(Directive, col(Directive.notice_id) == Notice.id)
        .join(Assignment, col(Assignment.directive_id) == Directive.id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(Assignment.id == assignment_id)
    ).first()
    if row is None:
        return f"việc #{assignment_id}"
    return f"{row[0]} · {row[1]} · {row[2] or row[3]}"


def tag_run(tag: str) -> None:
    """Add tag to the current flow run (its situation is known only at its end), keeping its other tags."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    # The run context already holds the run's tags: one API call, not two.
    with get_client(sync_client=True) as client:
        client.update_flow_run(UUID(run_id), tags=sorted({*flow_run.tags, tag}))
