"""A directive's deadline, recurrence and priority, read by the deadline phrase parser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.deadline_phrases import FoundDeadline, ParsedDeadline, find_deadlines
from domain.notice_parser.document import Doc, norm_low, vi_pattern
from domain.notice_parser.models import UNSPECIFIED_RECURRENCE, DirectiveDeadline, Priority

SPECIFIC_KINDS = (
    "fixed_date",
    "working_days",
    "calendar_days",
    "within_month",
    "within_quarter",
    "within_half_year",
    "within_year",
    "meeting",
)


# A periodic report the phrase parser cannot schedule: "định kỳ" with no frequency, or weekly (no weekly period).
_PERIODIC = vi_pattern(r"định\s+kỳ|(?:hằng|hàng|mỗi)\s+tuần")
_WEEKLY = vi_pattern(r"(?:hằng|hàng|mỗi)\s+tuần")


@dataclass(frozen=True)
class _Read:
    """A deadline phrase the phrase parser understood."""

    found: FoundDeadline
    parsed: ParsedDeadline

    @property
    def kind(self) -> str | None:
        """The rule kind, or None for a recurrence without a rule."""
        return self.parsed.rule.kind if self.parsed.rule is not None else None


def directive_deadline(doc: Doc, start: int, end: int, reference: date | None) -> DirectiveDeadline:
    """The directive's deadline, recurrence and priority from the phrase parser."""
    found = find_deadlines(doc.text[start:end], reference=reference)
    read = [_Read(f, f.parsed) for f in found if f.parsed is not None]
    specific = [r for r in read if r.kind in SPECIFIC_KINDS]
    urgent = [r for r in read if r.kind == "urgent"]
    ongoing = [r for r in read if r.kind == "ongoing"]
    recurring = [r for r in read if r.parsed.recurrence is not None]
    unspecified = [f for f in found if f.parsed is None and _PERIODIC.search(norm_low(f.phrase))]
    errors = [f for f in found if f.parsed is None and f not in unspecified]
    out = DirectiveDeadline()
    notes: list[str] = []
    chosen: FoundDeadline | None = None
    if specific:
        first = specific[0]
        chosen = first.found
        conf = first.parsed.confidence
        if len({repr(r.parsed.rule) for r in specific}) > 1:
            others = "; ".join(f"«{r.found.phrase}»" for r in specific[1:])
            notes.append(f"mục có nhiều thời hạn, đã lấy «{chosen.phrase}»; còn: {others}")
            conf = min(conf, 0.6)
        out.rule = _rule_json(first.parsed)
        out.confidence = conf
    elif urgent:
        chosen = urgent[0].found
        out.rule = _rule_json(urgent[0].parsed)
        out.confidence = urgent[0].parsed.confidence
        notes.append("«khẩn trương» không nêu ngày: hạn tính theo số ngày làm việc mặc định trong cấu hình")
    elif ongoing or recurring or unspecified:
        chosen = (ongoing or recurring)[0].found if ongoing or recurring else unspecified[0]
        out.rule = {"kind": "ongoing"}
        out.confidence = chosen.parsed.confidence if chosen.parsed else 0.6
    if chosen is not None:
        out.phrase = chosen.phrase
        out.span = doc.span(start + chosen.start, start + chosen.end)
    if urgent:
        out.priority = Priority.URGENT
    if recurring and recurring[0].parsed.recurrence is not None:
        out.recurrence = recurring[0].parsed.recurrence.every
        out.recurrence_phrase = recurring[0].found.phrase
    elif unspecified:
        out.recurrence = UNSPECIFIED_RECURRENCE
        out.recurrence_phrase = unspecified[0].phrase
        weekly = _WEEKLY.search(norm_low(unspecified[0].phrase))
        why = "chu kỳ hằng tuần chưa được hệ thống theo dõi" if weekly else "văn bản không nêu chu kỳ"
        notes.append(f"«{unspecified[0].phrase}»: có báo cáo định kỳ nhưng {why} (tháng/quý/6 tháng/năm)")
        out.confidence = min(out.confidence or 0.5, 0.5)
    for f in errors:
        notes.append(f"«{f.phrase}»: {f.error}")
        out.confidence = min(out.confidence or 0.4, 0.4)
    if out.rule is None and not errors:
        notes.append("văn bản không nêu thời hạn cho mục này")
    out.notes = notes
    return out


def _rule_json(parsed: ParsedDeadline) -> dict[str, Any] | None:
    """The rule of a parsed phrase in its JSON form."""
    return parsed.rule.model_dump(mode="json") if parsed.rule is not None else None
