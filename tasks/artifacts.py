"""What coordinators read in the Prefect UI: tables, progress and summaries, in Vietnamese."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from prefect import task
from prefect.artifacts import MarkdownArtifact, create_progress_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL
from prefect.utilities.asyncutils import run_coro_as_sync
from sqlmodel import Session, col, select

from domain.deadlines import period_vi
from domain.labels import ROLE_VI, STATUS_VI
from domain.safe_text import markdown_text
from domain.text import ascii_slug, excerpt
from domain.timeliness import CATEGORY_VI, AssignmentFacts, Category, Timeliness
from domain.workdays import format_date_vi, local_date, weekday_vi
from models import Directive
from models.db import session_scope
from tasks.directive_state import DirectiveState, read_directive_states
from tasks.planning import FollowUpPlan, plan_directive
from tasks.retries import IO_RETRIES
from tasks.rules import FollowUpRules, load_follow_up_rules

# Order and wording of the one-line summary, e.g. "5 việc: 2 quá hạn, 1 đúng hạn, 2 trong hạn".
SUMMARY_WORDS = [
    (Category.overdue, "quá hạn"),
    (Category.late, "hoàn thành quá hạn"),
    (Category.on_time, "đúng hạn"),
    (Category.in_progress, "trong hạn"),
]


# Notice summaries in flight at once: enough to hide each request's round trip, few enough that the
# SQLite-backed server's single writer does not queue them behind each other.
SUMMARY_REQUESTS_IN_FLIGHT = 4
NOTICES_PER_READ = 50  # notices whose directives are read together for their summaries


def directive_key(notice_number: str, directive_number: str) -> str:
    """Artifact key of a directive's table (lowercase letters, digits and dashes, as Prefect requires)."""
    return f"dondoc-{ascii_slug(notice_number)}-muc-{ascii_slug(directive_number)}"


def notice_key(notice_number: str) -> str:
    """Artifact key of a notice's summary."""
    return f"dondoc-{ascii_slug(notice_number)}-tong-hop"


def summary_line(judged: list[Timeliness | None]) -> str:
    """Return "N việc: a quá hạn, b đúng hạn, …" over the assignments still judged."""
    counts = Counter(t.category for t in judged if t is not None)
    total = sum(counts.values())
    parts = [f"{counts[c]} {word}" for c, word in SUMMARY_WORDS if counts[c]]
    return f"{total} việc: " + ", ".join(parts) if parts else f"{total} việc"


def _due_text(judged: Timeliness | None, *, weekday: bool = True) -> str:
    """Due date as a cell: the date (with its weekday in prose), and the report period for ongoing work."""
    if judged is None or judged.due is None:
        return "—"
    text = format_date_vi(judged.due) + (f" ({weekday_vi(judged.due)})" if weekday else "")
    if not judged.period:
        return text
    if weekday:
        return f"{text}, kỳ {period_vi(judged.period)}"
    # In the table the due date already says the year: "20/09/2022 (quý III)".
    return f"{text} ({(period_vi(judged.period) or judged.period).split('/')[0]})"


# Rows a coordinator must act on come first: overdue, then due soon, then the rest.
_ORDER = {Category.overdue: 0, Category.in_progress: 2, Category.late: 3, Category.on_time: 4}
UPDATE_CHARS = 32  # with short cells elsewhere, the first six columns fit a 1440 px window


def _row_rank(facts: AssignmentFacts, judged: Timeliness | None, due_soon: set[str], name: str) -> tuple[int, int]:
    """Sort key: overdue (most days first), due soon, in progress, done, withdrawn."""
    if judged is None:
        return (5, 0)
    if judged.category is Category.in_progress and name in due_soon:
        return (1, 0)
    return (_ORDER[judged.category], -judged.days_overdue)


# The table's short forms of the four categories (the notice summary and the reports write them in full),
# so that the first six columns fit a 1440 px window.
_STATUS_SHORT = {
    Category.overdue: "⚠ Quá hạn",
    Category.in_progress: "Trong hạn",
    Category.on_time: "Xong, đúng hạn",
    Category.late: "Xong, quá hạn",
}


def _status_cell(judged: Timeliness | None, soon: bool) -> str:
    """The category in short, marked when the row needs action."""
    if judged is None:
        return "Đã thu hồi"
    if judged.category is Category.in_progress and soon:
        return "Sắp đến hạn"
    return _STATUS_SHORT[judged.category]


def directive_rows(
    state: DirectiveState, planned: FollowUpPlan, *, just_written: bool = False
) -> list[dict[str, object]]:
    """One row per assignment, overdue first: agency, category, days overdue, due date, rung, last update, …"""
    due_soon = set(planned.situation.due_soon)
    ranked = sorted(
        state.assignments,
        key=lambda f: _row_rank(
            f, planned.timeliness.get(f.assignment_id), due_soon, state.names.get(f.agency_code, f.agency_code)
        ),
    )
    rows: list[dict[str, object]] = []
    for facts in ranked:
        judged = planned.timeliness.get(facts.assignment_id)
        name = state.names.get(facts.agency_code, facts.agency_code)
        last = state.last_update.get(facts.assignment_id)
        update_text = "—"
        if last is not None:
            # Short enough for the table: "40% (28/09/2022)", "Hoàn thành (05/10/2022)".
            said = STATUS_VI.get(last.status, last.status)
            if last.status == "in_progress" and last.percent is not None:
                said = f"{last.percent}%"
            update_text = f"{said} ({format_date_vi(local_date(last.reported_at))})"
        late = judged is not None and judged.category in (Category.overdue, Category.late)
        level = planned.levels.get(facts.assignment_id)
        rows.append(
            {
                "Cơ quan": name,
                "Tình trạng": _status_cell(judged, name in due_soon),
                "Ngày quá hạn": judged.days_overdue if late and judged else 0,
                "Hạn": _due_text(judged, weekday=False),
                "Vượt cấp": f"bậc {level}" if level else "—",
                "Cập nhật gần nhất": excerpt(update_text, UPDATE_CHARS),
                "Vai trò": ROLE_VI.get(facts.role, facts.role),
                # The state was read before this run wrote its messages: count those too once they are written.
                "Đã nhắc": state.reminders_sent.get(facts.assignment_id, 0)
                + just_written
                * sum(1 for m in planned.messages if m.assignment_id == facts.assignment_id and m.kind != "assigned"),
                "Mã việc": facts.assignment_id,
            }
        )
    return rows


def publish_directive(state: DirectiveState, planned: FollowUpPlan, as_of: datetime) -> str:
    """Publish the directive's table and progress artifacts; return its one-line summary."""
    judged = list(planned.timeliness.values())
    summary = summary_line(judged)
    stamp = f"{format_date_vi(local_date(as_of))}"
    title = f"Mục {markdown_text(state.directive_number)} — Thông báo {markdown_text(state.notice_number)}"
    create_table_artifact(
        table=directive_rows(state, planned, just_written=True),
        key=directive_key(state.notice_number, state.directive_number),
        description=f"**{title}** (tính đến {stamp}): {summary}",
    )
    active = [t for t in judged if t is not None]
    done = sum(1 for t in active if t.category in (Category.on_time, Category.late))
    create_progress_artifact(
        progress=round(100.0 * done / len(active), 1) if active else 100.0,
        key=f"{directive_key(state.notice_number, state.directive_number)}-tien-do",
        description=f"{title}: {done}/{len(active)} việc đã hoàn thành",
    )
    return summary


def run_link(flow_run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run, when the UI's address is known."""
    ui = PREFECT_UI_URL.value()
    return f"{ui.rstrip('/')}/runs/flow-run/{flow_run_id}" if ui and flow_run_id else None


def notice_states(
    notice_ids: list[int], as_of: datetime, *, session: Session, rules: FollowUpRules
) -> dict[int, list[DirectiveState]]:
    """Every directive of each notice, in notice order, read together in a few queries."""
    pairs = session.exec(
        select(Directive.notice_id, Directive.id)
        .where(col(Directive.notice_id).in_(notice_ids))
        .order_by(col(Directive.notice_id), col(Directive.position))
    ).all()
    states = read_directive_states([d for _, d in pairs if d is not None], as_of, session=session, rules=rules)
    grouped: dict[int, list[DirectiveState]] = {n: [] for n in notice_ids}
    for state in states:
        grouped[state.notice_id].append(state)
    return grouped


def notice_summary_markdown(
    states: list[DirectiveState],
    as_of: datetime,
    *,
    rules: FollowUpRules,
    run_links: dict[int, str] | None = None,
) -> str:
    """Markdown summary of every directive of a notice: the four categories and who is overdue, worst first."""
    lines: list[str] = []
    totals: Counter[Category] = Counter()
    overdue: list[tuple[int, str]] = []
    for state in states:
        planned = plan_directive(state, as_of, rules=rules)
        counts = Counter(t.category for t in planned.timeliness.values() if t is not None)
        totals.update(counts)
        cells = " | ".join(str(counts[c]) for c in Category)
        lines.append(f"| {markdown_text(state.directive_number)} | {cells} |")
        for facts in state.assignments:
            judged = planned.timeliness.get(facts.assignment_id)
            if judged is not None and judged.category == Category.overdue:
                link = (run_links or {}).get(state.directive_id)
                run = f" — [lượt đôn đốc mới nhất]({link})" if link else ""
                level = planned.levels.get(facts.assignment_id)
                rung = f", đã báo vượt cấp bậc {level}" if level else ""
                overdue.append(
                    (
                        judged.days_overdue,
                        f"- Mục {markdown_text(state.directive_number)}: "
                        f"**{markdown_text(state.names[facts.agency_code])}** ({ROLE_VI[facts.role].lower()}) — "
                        f"{judged.label_vi}, hạn {_due_text(judged)}{rung}{run}",
                    )
                )
    overdue_lines = [line for _, line in sorted(overdue, key=lambda item: -item[0])]
    first = states[0] if states else None
    header = [
        f"# Tổng hợp thực hiện Thông báo {markdown_text(first.notice_number) if first else ''}",
        "",
        f"Tính đến ngày {format_date_vi(local_date(as_of))}.",
        "",
        "| Mục | " + " | ".join(CATEGORY_VI[c] for c in Category) + " |",
        "|---|" + "---:|" * len(Category),
    ]
    total_row = "| **Cộng** | " + " | ".join(f"**{totals[c]}**" for c in Category) + " |"
    body = header + lines + [total_row, "", "## Việc quá hạn", ""] + (overdue_lines or ["Không có việc quá hạn."])
    return "\n".join(body) + "\n"


def notice_summary_artifact(
    notice_number: str,
    states: list[DirectiveState],
    as_of: datetime,
    *,
    rules: FollowUpRules,
    run_links: dict[int, str] | None = None,
) -> MarkdownArtifact:
    """The notice's markdown summary artifact, ready to publish."""
    return MarkdownArtifact(
        markdown=notice_summary_markdown(states, as_of, rules=rules, run_links=run_links),
        key=notice_key(notice_number),
        description=f"Tổng hợp Thông báo {markdown_text(notice_number)}",
    )


async def _publish_all(artifacts: list[MarkdownArtifact], concurrency: int) -> None:
    """Create the artifacts over one API client, a few requests in flight at a time."""
    limit = asyncio.Semaphore(concurrency)
    async with get_client() as client:

        async def publish(artifact: MarkdownArtifact) -> None:
            async with limit:
                await artifact.acreate(client)

        await asyncio.gather(*(publish(artifact) for artifact in artifacts))


@task(name="Cập nhật bảng theo dõi", cache_policy=NONE, **IO_RETRIES)
def publish_artifacts(state: DirectiveState, planned: FollowUpPlan, as_of: datetime, with_notice: bool) -> str:
    """Publish the directive's table and progress (and, standalone, the notice summary)."""
    summary = publish_directive(state, planned, as_of)
    if with_notice:
        links = {state.directive_id: link} if (link := run_link(flow_run.get_id())) else {}
        publish_notice_summaries.fn({state.notice_id: state.notice_number}, as_of, links)
    return summary


@task(name="Cập nhật tổng hợp thông báo", cache_policy=NONE, **IO_RETRIES)
def publish_notice_summaries(notices: dict[int, str], as_of: datetime, run_links: dict[int, str] | None = None) -> None:
    """Publish one markdown summary per notice touched by a sweep, read a batch of notices at a time."""
    rules = load_follow_up_rules()
    ids = list(notices)
    artifacts: list[MarkdownArtifact] = []
    # A batch at a time keeps memory flat: one bulk read of ~700 notices held every status update at once
    # (+230 MB in the 1,000-directive bench). Only the markdown is kept.
    for start in range(0, len(ids), NOTICES_PER_READ):
        batch = ids[start : start + NOTICES_PER_READ]
        with session_scope(read_only=True) as session:
            states = notice_states(batch, as_of, session=session, rules=rules)
        artifacts += [
            notice_summary_artifact(notices[n], states[n], as_of, rules=rules, run_links=run_links) for n in batch
        ]
    # After the session ends, over one client, a few at a time: a sweep touches hundreds of notices, and one
    # request after another each on a new client cost a minute per 1,000 follow-ups (bench/README.md).
    run_coro_as_sync(_publish_all(artifacts, SUMMARY_REQUESTS_IN_FLIGHT))
