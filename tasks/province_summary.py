"""The province-wide artifact `dondoc-tong-hop`: every overdue assignment across all notices, worst first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from domain.labels import ROLE_VI
from domain.safe_text import markdown_text
from domain.situation import level_reached
from domain.timeliness import Category
from domain.workdays import format_date_vi, local_date
from models import Agency, Assignment, AssignmentStatus, Directive, Notice
from models.db import session_scope
from tasks.directive_state import read_directive_state
from tasks.planning import plan_directive
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules

PROVINCE_KEY = "dondoc-tong-hop"
OPEN_STATUSES = (AssignmentStatus.assigned, AssignmentStatus.acknowledged, AssignmentStatus.in_progress)
MAX_ROWS = 500  # an artifact a coordinator can read; the count above the table says how many there are


@dataclass(frozen=True)
class OverdueRow:
    """One overdue assignment anywhere in the province."""

    notice_number: str
    directive_id: int
    directive_number: str
    agency: str
    role: str
    days_overdue: int
    due_text: str
    level: int | None


def _dated_overdue(as_of: datetime, *, session: Session, rules: FollowUpRules) -> list[OverdueRow]:
    """Open assignments whose single deadline has passed, in one query (classify's rule: due < today)."""
    today = local_date(as_of)
    # Eight columns: more than sqlmodel's typed select() overloads take, so SQLAlchemy's own select.
    rows = session.execute(
        sa_select(
            col(Notice.number),
            col(Directive.id),
            col(Directive.number),
            col(Directive.priority),
            col(Agency.short_name),
            col(Agency.name),
            col(Assignment.role),
            col(Assignment.due_date),
        )
        .select_from(Assignment)
        .join(Directive, col(Directive.id) == Assignment.directive_id)
        .join(Notice, col(Notice.id) == Directive.notice_id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(col(Assignment.status).in_(OPEN_STATUSES), col(Assignment.due_date) < today)
    ).all()
    found = []
    for number, directive_id, directive_number, priority, short, name, role, due in rows:
        if due is None or directive_id is None:
            continue
        days = rules.calendar.working_days_between(due, today)
        ladder = rules.escalation.ladder(priority)
        found.append(
            OverdueRow(
                number,
                directive_id,
                directive_number,
                short or name,
                role,
                days,
                format_date_vi(due),
                level_reached(ladder, days),
            )
        )
    return found


def _ongoing_overdue(as_of: datetime, *, session: Session, rules: FollowUpRules) -> list[OverdueRow]:
    """Ongoing directives (periodic reports, no single deadline) judged one by one, as their follow-ups do."""
    ids = session.exec(
        select(Directive.id)
        .where(col(Directive.due_date).is_(None))
        .where(col(Directive.id).in_(select(Assignment.directive_id).where(col(Assignment.status).in_(OPEN_STATUSES))))
    ).all()
    found = []
    for directive_id in ids:
        if directive_id is None:
            continue
        state = read_directive_state(directive_id, as_of, session=session, rules=rules)
        planned = plan_directive(state, as_of, rules=rules)
        for facts in state.assignments:
            judged = planned.timeliness.get(facts.assignment_id)
            if judged is None or judged.category is not Category.overdue:
                continue
            due = f"{format_date_vi(judged.due)}, kỳ {judged.period}" if judged.due else "—"
            found.append(
                OverdueRow(
                    state.notice_number,
                    directive_id,
                    state.directive_number,
                    state.names.get(facts.agency_code, facts.agency_code),
                    facts.role,
                    judged.days_overdue,
                    due,
                    planned.levels.get(facts.assignment_id),
                )
            )
    return found


def province_overdue(as_of: datetime, *, session: Session, rules: FollowUpRules) -> list[OverdueRow]:
    """Every overdue assignment in the province at as_of, most working days late first."""
    rows = _dated_overdue(as_of, session=session, rules=rules) + _ongoing_overdue(as_of, session=session, rules=rules)
    return sorted(rows, key=lambda r: (-r.days_overdue, r.notice_number, r.directive_number, r.agency))


def province_markdown(rows: list[OverdueRow], as_of: datetime, run_links: dict[int, str]) -> str:
    """The artifact's text: a count, then one table row per overdue assignment (links to this sweep's runs)."""
    lines = [
        "# Tổng hợp việc quá hạn toàn tỉnh",
        "",
        f"Tính đến ngày {format_date_vi(local_date(as_of))}: **{len(rows)} việc quá hạn**."
        + (f" Hiện {MAX_ROWS} việc quá hạn lâu nhất." if len(rows) > MAX_ROWS else ""),
        "",
    ]
    if not rows:
        return "\n".join([*lines, "Không có việc quá hạn."]) + "\n"
    lines += [
        "| Thông báo | Mục | Cơ quan | Vai trò | Quá hạn (ngày làm việc) | Hạn | Vượt cấp | Lượt đôn đốc |",
        "|---|---|---|---|---:|---|---|---|",
    ]
    for row in rows[:MAX_ROWS]:
        link = run_links.get(row.directive_id)
        cells = [
            markdown_text(row.notice_number),
            markdown_text(row.directive_number),
            f"**{markdown_text(row.agency)}**",
            ROLE_VI.get(row.role, row.role),
            str(row.days_overdue),
            row.due_text,
            f"bậc {row.level}" if row.level else "—",
            f"[xem]({link})" if link else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@task(name="Cập nhật tổng hợp quá hạn toàn tỉnh", cache_policy=NONE, **IO_RETRIES)
def publish_province_summary(as_of: datetime, run_links: dict[int, str] | None = None) -> int:
    """Publish `dondoc-tong-hop`, every overdue assignment across all notices; return how many there are."""
    rules = load_follow_up_rules()
    with session_scope(read_only=True) as session:
        rows = province_overdue(as_of, session=session, rules=rules)
    create_markdown_artifact(
        markdown=province_markdown(rows, as_of, run_links or {}),
        key=PROVINCE_KEY,
        description=f"Việc quá hạn toàn tỉnh: {len(rows)}",
    )
    return len(rows)
