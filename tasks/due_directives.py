"""The sweep's tasks: its one indexed query: directives whose next action is due (a status change sets it to now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import task
from prefect.cache_policies import NONE
from sqlmodel import Session, col, select

from models import Directive, Notice
from models.db import session_scope
from notifications.dead_letters import publish_dead_letters
from tasks.labels import tags_by_directive
from tasks.retries import IO_RETRIES


@dataclass(frozen=True)
class DueDirective:
    """A directive the sweep must follow up."""

    directive_id: int
    notice_id: int
    notice_number: str
    directive_number: str


def find_due_directives(as_of: datetime, limit: int | None = None, *, session: Session) -> list[DueDirective]:
    """Return directives with next_action_at <= as_of, oldest first (uses ix_directive_next_action_at)."""
    statement = (
        select(Directive.id, Directive.notice_id, Notice.number, Directive.number)
        .join(Notice, col(Notice.id) == Directive.notice_id)
        .where(col(Directive.next_action_at) <= as_of)
        .order_by(col(Directive.next_action_at))
    )
    if limit:
        statement = statement.limit(limit)
    return [DueDirective(*row) for row in session.exec(statement).all()]


@task(name="Tìm mục đến lượt đôn đốc", cache_policy=NONE, **IO_RETRIES)
def due_directives(as_of: datetime) -> list[DueDirective]:
    """The one indexed query for directives whose next action is due."""
    with session_scope(read_only=True) as session:
        return find_due_directives(as_of, session=session)


@task(name="Đọc nhãn", cache_policy=NONE, **IO_RETRIES)
def directive_tags(directive_ids: list[int]) -> dict[int, list[str]]:
    """Tags (notice, directive, agencies) for the runs, in one query."""
    with session_scope(read_only=True) as session:
        return tags_by_directive(directive_ids, session=session)


@task(name="Cập nhật thư không gửi được", cache_policy=NONE, **IO_RETRIES)
def publish_dead_letter_table() -> int:
    """Publish the dead-letter table, so coordinators see what could not be delivered."""
    with session_scope(read_only=True) as session:
        return publish_dead_letters(session=session)
