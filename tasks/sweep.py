"""The sweep's one indexed query: directives whose next action is due (a status change sets it to now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from models import Directive, Notice, get_engine


@dataclass(frozen=True)
class DueDirective:
    """A directive the sweep must follow up."""

    directive_id: int
    notice_id: int
    notice_number: str
    directive_number: str


def find_due_directives(as_of: datetime, limit: int | None = None) -> list[DueDirective]:
    """Return directives with next_action_at <= as_of, oldest first (uses ix_directive_next_action_at)."""
    statement = (
        select(Directive.id, Directive.notice_id, Notice.number, Directive.number)
        .join(Notice, Notice.id == Directive.notice_id)
        .where(Directive.next_action_at <= as_of)  # type: ignore[operator]
        .order_by(Directive.next_action_at)
    )
    if limit:
        statement = statement.limit(limit)
    with Session(get_engine()) as session:
        return [DueDirective(*row) for row in session.exec(statement).all()]  # type: ignore[arg-type]
