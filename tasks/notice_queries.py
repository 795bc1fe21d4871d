"""Read-side queries over notices, for the CLI and the artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from domain.agencies import AgencyDirectory
from domain.deadlines import Recurrence, period_vi, report_obligations
from domain.labels import EVERY_VI
from domain.policy import DeadlinePolicy
from domain.safe_text import nfc
from domain.text import ascii_slug, match_key
from domain.workdays import WorkCalendar, format_date_vi, weekday_vi
from models import Agency, Assignment, AssignmentStatus, Directive, Notice
from models.types import row_id


@dataclass
class DirectiveRow:
    """One line of the directives × agencies table."""

    number: str
    text: str
    leads: list[str]
    supports: list[str]
    deadline: str


class AmbiguousNotice(LookupError):
    """A number typed without diacritics or in another case matches several notices."""

    def __init__(self, ref: str, candidates: list[str]):
        super().__init__(f"«{ref}» khớp với nhiều thông báo: {', '.join(candidates)}; hãy gõ đúng số thông báo")
        self.candidates = candidates


def find_notice(ref: str, *, session: Session) -> Notice | None:
    """Find a notice by its exact number, its internal id, or its number with accents and case ignored.

    Raises AmbiguousNotice when the loose form matches several notices (e.g. "TAM-1" for "TẠM-1" and "TÂM-1").
    """
    ref = nfc(ref.strip())
    notice = session.exec(select(Notice).where(Notice.number == ref)).first()
    if notice is not None:
        return notice
    if ref.isdigit():
        return session.get(Notice, int(ref))
    notices = session.exec(select(Notice)).all()
    # Case and spacing first; then without diacritics too ("TAM-1" for "TẠM-1"), which may be ambiguous.
    for key in (match_key, ascii_slug):
        matches = [n for n in notices if key(n.number) == key(ref)]
        if len(matches) > 1:
            raise AmbiguousNotice(ref, sorted(n.number for n in matches))
        if matches:
            return matches[0]
    return None


@dataclass(frozen=True)
class DeadlineContext:
    """What a deadline label needs to name the next report period: the day, the calendar and the policy."""

    today: date
    issued_on: date
    calendar: WorkCalendar
    policy: DeadlinePolicy


def _next_period(directive: Directive, context: DeadlineContext) -> str | None:
    """The next report period of an ongoing directive and its due date, e.g. "kỳ tới: quý IV/2022, hạn 20/12/2022"."""
    if not directive.recurrence:
        return None
    recurrence = Recurrence.model_validate(directive.recurrence)
    upcoming = report_obligations(
        recurrence, context.issued_on, context.today + timedelta(days=400), context.calendar, context.policy
    )
    following = next((o for o in upcoming if o.due >= context.today), None)
    if following is None:
        return None
    return f"kỳ tới: {period_vi(following.period)}, hạn {format_date_vi(following.due)} ({weekday_vi(following.due)})"


def deadline_label(directive: Directive, context: DeadlineContext | None = None) -> str:
    """Describe a directive's deadline as officials read it; an ongoing one names its next report period."""
    parts = []
    if directive.due_date:
        parts.append(f"{format_date_vi(directive.due_date)} ({weekday_vi(directive.due_date)})")
    else:
        parts.append("Thường xuyên")
    if directive.recurrence:
        parts.append(
            f"báo cáo {EVERY_VI.get(directive.recurrence.get('every', ''), directive.recurrence.get('every'))}"
        )
        following = _next_period(directive, context) if context else None
        if following:
            parts.append(following)
    if directive.priority == "urgent":
        parts.append("khẩn")
    return "; ".join(parts)


def _extension_lines(
    rows: Sequence[tuple[Assignment, Agency]], directive: Directive, names: dict[str, str]
) -> list[str]:
    """One line per assignment whose deadline was extended: the current date, with the original noted."""
    lines = []
    for assignment, agency in rows:
        if assignment.directive_id != directive.id or assignment.due_date in (None, directive.due_date):
            continue
        original = f" (hạn ban đầu {format_date_vi(directive.due_date)})" if directive.due_date else ""
        lines.append(f"{names[agency.code]}: gia hạn đến {format_date_vi(assignment.due_date)}{original}")
    return lines


def _collapse_groups(codes: list[str], names: dict[str, str], directory: AgencyDirectory) -> list[str]:
    """Show a whole group ("UBND các huyện, thành phố") instead of listing all its members."""
    remaining = list(codes)
    labels = []
    for group in directory.groups:
        if len(group.members) > 1 and set(group.members) <= set(remaining):
            labels.append(f"{group.name} ({len(group.members)})")
            remaining = [c for c in remaining if c not in group.members]
    return [names[c] for c in remaining] + labels


def notice_table(
    notice_id: int, *, session: Session, directory: AgencyDirectory, context: DeadlineContext | None = None
) -> list[DirectiveRow]:
    """Return the notice's directives with their leads, supports and deadlines."""
    directives = session.exec(
        select(Directive).where(Directive.notice_id == notice_id).order_by(col(Directive.position))
    ).all()
    rows = session.exec(
        select(Assignment, Agency)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .join(Directive, col(Directive.id) == Assignment.directive_id)
        .where(Directive.notice_id == notice_id, Assignment.status != AssignmentStatus.withdrawn)
        .order_by(col(Assignment.id))
    ).all()
    names = {agency.code: agency.short_name or agency.name for _, agency in rows}
    by_directive: dict[int, dict[str, list[str]]] = {}
    for assignment, agency in rows:
        by_directive.setdefault(assignment.directive_id, {"lead": [], "support": []})[assignment.role].append(
            agency.code
        )
    out = []
    for directive in directives:
        roles = by_directive.get(row_id(directive), {"lead": [], "support": []})
        out.append(
            DirectiveRow(
                number=directive.number,
                text=directive.text,
                leads=_collapse_groups(roles["lead"], names, directory),
                supports=_collapse_groups(roles["support"], names, directory),
                deadline="\n".join([deadline_label(directive, context), *_extension_lines(rows, directive, names)]),
            )
        )
    return out
