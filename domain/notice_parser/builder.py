"""The directive builder: walks the body tree and decides which items and clauses are directives, and their numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from domain.deadline_phrases import find_deadlines
from domain.notice_parser.agencies import AgencyMatcher, Mention
from domain.notice_parser.deadline import SPECIFIC_KINDS
from domain.notice_parser.document import Doc, clean, norm_low, vi_pattern
from domain.notice_parser.models import MentionRole
from domain.notice_parser.role_rules import ASSIGN_START, SUBJECT_PREFIX, Category, DoerKind
from domain.notice_parser.roles import Assignment, RoleReader, merge_roles
from domain.notice_parser.sentences import MentionIndex, sentences
from domain.notice_parser.structure import INTRO_START, MarkerKind, Node, NodeKind

_NARRATIVE_HEAD = vi_pattern(
    r"^(?:về\s+)?(?:đánh\s+giá|kết\s+quả|tình\s+hình|thời\s+gian\s+qua|trong\s+thời\s+gian\s+qua|những\s+năm\s+qua|nhìn\s+chung"
    r"|qua\s+(?:\d+\s+)?(?:năm|tháng)|qua\s+(?:kiểm\s+tra|báo\s+cáo|nghe)|năm\s+\d{4}\s*,|(?:6|sáu|9|chín|\d+)\s+tháng\s+đầu\s+năm"
    r"|thống\s+nhất|nhất\s+trí|đồng\s+ý|ghi\s+nhận|biểu\s+dương|cơ\s+bản|những\s+kết\s+quả|ưu\s+điểm|tồn\s+tại|hạn\s+chế"
    r"|cùng\s+(?:tham\s+)?dự|tham\s+dự|dự\s+(?:họp|buổi|cuộc)"
    r"|tuy\s+nhiên|bên\s+cạnh|từ\s+khi|sau\s+(?:\d+|một|hai|ba)\s+năm|thực\s+hiện\s+(?:nghị\s+quyết|kết\s+luận|chỉ\s+thị|kế\s+hoạch)[^,]{0,80},\s*(?:thời\s+gian\s+qua|đến\s+nay))"
)
_DIRECTIVE_HEAD = vi_pattern(
    r"nhiệm\s+vụ|giải\s+pháp|thời\s+gian\s+tới|yêu\s+cầu|đề\s+nghị|\bgiao\b|chỉ\s+đạo|tổ\s+chức\s+thực\s+hiện|phân\s+công"
    r"|cần\s+tập\s+trung|cần\s+thực\s+hiện|trọng\s+tâm\s+sau|\bsau\s*:\s*$|kiến\s+nghị|phương\s+hướng"
)
_IMPERATIVE_START = vi_pattern(
    r"^(?:tiếp\s+tục|tập\s+trung|khẩn\s+trương|rà\s+soát|xây\s+dựng|chỉ\s+đạo|tăng\s+cường|đẩy\s+mạnh|nâng\s+cao|quan\s+tâm"
    r"|hoàn\s+thành|thực\s+hiện|tổ\s+chức|phối\s+hợp|chủ\s+động|kịp\s+thời|bố\s+trí|hướng\s+dẫn|theo\s+dõi|kiểm\s+tra"
    r"|nghiên\s+cứu|đề\s+xuất|tham\s+mưu|triển\s+khai|bổ\s+sung|sớm|thường\s+xuyên|củng\s+cố|phát\s+huy|chú\s+trọng|ưu\s+tiên"
    r"|đảm\s+bảo|bảo\s+đảm|huy\s+động|đôn\s+đốc|lựa\s+chọn|hỗ\s+trợ|cần|phải|quán\s+triệt|làm\s+tốt|rà\s+soát|lãnh\s+đạo)\b"
)
# Who attended ("Cùng dự có lãnh đạo các sở …", "Tham dự cuộc họp có …"): a list of guests, never a task.
_ATTENDANCE = vi_pattern(r"^(?:cùng\s+(?:tham\s+)?dự|tham\s+dự|dự\s+(?:họp|buổi|cuộc))\b")
_ASSIGN_CUE = vi_pattern(r"(?:^|[.;:]\s*|,\s*)(?:giao|đề\s+nghị|yêu\s+cầu)\s+[^\s]")
_ASSIGN_SENTENCE = vi_pattern(r"(?:^|[.;:]\s*)(?:giao|đề\s+nghị|yêu\s+cầu)\s")
# The subject prefix ("Đồng thời, …", "Trong năm 2024, …") at the start of a sentence, to look past it.
_SUBJECT_PREFIX_START = re.compile(SUBJECT_PREFIX.pattern.rstrip("$"))
_ROMAN = re.compile(r"^[IVX]+$")


@dataclass
class Unit:
    """A directive before numbering: its text range and where it sits."""

    start: int
    end: int
    number: str
    label: str | None
    level: int
    synthetic: bool
    confidence: float
    inherited: list[Assignment] = field(default_factory=list)
    in_section: bool = True
    split_from: str | None = None  # the numbered item this piece was cut from (segmentation.split_numbered_item)


def requirement_without_agency(index: MentionIndex, s: int, e: int) -> bool:
    """True for a sentence that names no body ("Yêu cầu hoàn thành trước ngày …"): it continues the directive before."""
    return not index.starting_in(s, e)


class Builder:
    """Walks the body tree and emits directive units."""

    def __init__(self, doc: Doc, matcher: AgencyMatcher, reference: date | None):
        self.doc = doc
        self.matcher = matcher
        self.reference = reference
        self.units: list[Unit] = []
        self._used_numbers: set[str] = set()
        self._next_free: dict[str, int] = {}
        self._mentions: dict[tuple[int, int], list[Mention]] = {}

    def mentions(self, start: int, end: int) -> list[Mention]:
        """Names in doc[start:end] (remembered: segmentation and the directive read the same ranges)."""
        key = (start, end)
        if key not in self._mentions:
            self._mentions[key] = self.matcher.find(self.doc, start, end)
        return self._mentions[key]

    def roles(self, start: int, end: int) -> tuple[list[Assignment], bool]:
        """Roles of every name in doc[start:end]."""
        index = MentionIndex(self.mentions(start, end))
        return RoleReader(self.doc, start, end, index).resolve(sentences(self.doc, start, end, index))

    def own_leads(self, start: int, end: int) -> list[Assignment]:
        """Assignees of a heading's own text (to hand down to its items)."""
        assigns, _ = self.roles(start, end)
        keep, _ = merge_roles(assigns, False)
        return keep

    # Narrative or directive?
    def is_narrative(self, node: Node) -> bool | None:
        """True/False for a section's kind from its heading; None when the heading does not say."""
        head = clean(self.doc.text[node.content_start : node.own_end()])
        first = re.split(r"(?<=[.:;])\s", head, maxsplit=1)[0]
        low = norm_low(first)
        low_all = norm_low(head)
        assign_cue = bool(_ASSIGN_CUE.search(low_all))
        if _NARRATIVE_HEAD.match(low) and not assign_cue:
            return True
        if _DIRECTIVE_HEAD.search(low) or assign_cue:
            return False
        return None

    def leaf_is_directive(self, start: int, end: int) -> bool:
        """A leaf with no section context: a directive if it assigns, orders or sets a deadline."""
        low = norm_low(clean(self.doc.text[start:end]))
        if _NARRATIVE_HEAD.match(low) and not _ASSIGN_SENTENCE.search(low):
            return False
        assigns, has_lead = self.roles(start, end)
        if has_lead or any(a.does_work for a in assigns):
            return True
        if ASSIGN_START.match(low) or _IMPERATIVE_START.match(low):
            return True
        return any(
            f.parsed is not None and f.parsed.rule is not None and f.parsed.rule.kind in SPECIFIC_KINDS
            for f in find_deadlines(self.doc.text[start:end], reference=self.reference)
        )

    def walk(
        self, nodes: list[Node], prefix: str, level: int, inherited: list[Assignment], section: bool | None
    ) -> None:
        """Emit units for nodes under one parent."""
        ordinal = 0
        for node in nodes:
            if node.kind is NodeKind.PARAGRAPH:
                self.clause_units(node, prefix, level, inherited, section)
                continue
            ordinal += 1
            number = self.number_of(node, prefix, ordinal)
            kind = self.is_narrative(node)
            if kind is True and section is not True:
                continue
            if kind is True and section is True and level > 1:
                kind = None  # an item inside a directive section that merely starts like an assessment
            if kind is True:
                continue
            start, own_end, full_end = node.content_start, node.own_end(), node.full_end()
            if not node.children:
                is_dir = section if section is not None else (kind is False or self.leaf_is_directive(start, full_end))
                if kind is False or is_dir:
                    conf = 0.9 if (section or kind is False) else (0.85 if self.any_names(start, full_end) else 0.7)
                    self._emit(
                        Unit(start, full_end, number, node.marker, level, False, conf, inherited, section is not False)
                    )
                continue
            head_leads = self.own_leads(start, own_end)
            head_has_lead = any(a.role is MentionRole.LEAD for a in head_leads)
            child_section = True if (kind is False or section is True) else None
            head_text = clean(self.doc.text[start:own_end])
            if head_has_lead and not head_text.endswith(":"):
                self._emit(Unit(start, own_end, number, node.marker, level, False, 0.8, inherited, True))
            hand_down = head_leads if head_has_lead else inherited
            self.walk(node.children, number, level + 1, hand_down, child_section)

    def any_names(self, start: int, end: int) -> bool:
        """True when doc[start:end] names an agency that does something (lead, support or partner)."""
        assigns, has_lead = self.roles(start, end)
        return has_lead or any(a.does_work for a in assigns)

    def number_of(self, node: Node, prefix: str, ordinal: int) -> str:
        """The directive number: '2.1' as written, 'a' under '3' → '3.a', dashes → '3.a.1'."""
        if node.mtype is not None and node.mtype.kind is MarkerKind.MULTI:
            label = node.label or ""
            if prefix and not label.startswith(prefix.split(".")[-1] + ".") and not _ROMAN.match(prefix.split(".")[-1]):
                return f"{prefix}.{label}"
            roman = prefix.split(".")[0] if prefix and _ROMAN.match(prefix.split(".")[0]) else ""
            return f"{roman}.{label}" if roman else label
        label = str(ordinal) if node.mtype is not None and node.mtype.is_bullet else node.label or str(ordinal)
        return f"{prefix}.{label}" if prefix else label

    def clause_units(
        self, node: Node, prefix: str, level: int, inherited: list[Assignment], section: bool | None
    ) -> None:
        """Unnumbered paragraph: one directive per assignment clause ('Giao …', 'Đề nghị …', 'X chủ trì …')."""
        start, end = node.content_start, node.full_end()
        text_low = norm_low(clean(self.doc.text[start:end]))
        index = MentionIndex(self.mentions(start, end))
        sents = sentences(self.doc, start, end, index)
        narrative_para = bool(_NARRATIVE_HEAD.match(text_low)) or bool(INTRO_START.match(text_low))
        runs: list[list[int]] = []
        for s, e in sents:
            if self.sentence_starts_directive(s, e, index) and not (
                runs and runs[-1][1] == s and requirement_without_agency(index, s, e)
            ):
                runs.append([s, e])
            elif runs and runs[-1][1] == s:
                runs[-1][1] = e
            elif section is True and not narrative_para and not runs:
                runs.append([s, e])
            elif (
                not runs
                and _IMPERATIVE_START.match(norm_low(clean(self.doc.text[s:e])))
                and self.units
                and not narrative_para
                and self.units[-1].end <= s
                and self._adjacent(self.units[-1].end, s)
            ):
                self.units[-1].end = e  # an elliptical continuation of the previous directive
        if not node.children and clean(self.doc.text[start:end]).endswith(":"):
            return  # "… thực hiện tốt các nhiệm vụ sau:" introduces what follows; it is not a task itself
        if node.children:
            # "Giao Sở X thực hiện:" + items: the items are the directives, the paragraph hands down its agencies.
            head_leads = self.own_leads(start, node.own_end())
            own_runs = [r for r in runs if r[0] < node.own_end()]
            number = self.synthetic_number(prefix)
            if own_runs and not clean(self.doc.text[start : node.own_end()]).endswith(":"):
                self._emit(
                    Unit(
                        own_runs[0][0], node.own_end(), number, None, level, True, 0.7, inherited, section is not False
                    )
                )
            self.walk(node.children, number, level + 1, head_leads or inherited, True)
            return
        for s, e in runs:
            number = self.synthetic_number(prefix)
            self._emit(Unit(s, e, number, None, level, True, 0.75 if section else 0.7, inherited, section is not False))

    def _adjacent(self, a: int, b: int) -> bool:
        """True when only whitespace separates a and b."""
        return not self.doc.text[a:b].strip()

    def synthetic_number(self, prefix: str) -> str:
        """A number for an unnumbered directive: next after the siblings already emitted."""
        # Numbers are only ever added, so the first free one under a prefix never moves back: start from it.
        k = self._next_free.get(prefix, 1)
        while self._numbered(prefix, k) in self._used_numbers:
            k += 1
        self._next_free[prefix] = k
        return self._numbered(prefix, k)

    @staticmethod
    def _numbered(prefix: str, k: int) -> str:
        """'3.k', or 'k' at the top level."""
        return f"{prefix}.{k}" if prefix else str(k)

    def _emit(self, unit: Unit) -> None:
        """Add a directive unit, remembering its number."""
        self.units.append(unit)
        self._used_numbers.add(unit.number)

    def sentence_starts_directive(self, s: int, e: int, index: MentionIndex) -> bool:
        """True when a sentence opens an assignment: 'Giao …', 'Đề nghị …', or an agency doing its own task."""
        low = norm_low(clean(self.doc.text[s:e]))
        stripped = _SUBJECT_PREFIX_START.sub("", low, count=1)
        if ASSIGN_START.match(stripped) or ASSIGN_START.match(low):
            return True
        if _ATTENDANCE.match(low):
            return False
        found = RoleReader(self.doc, s, e, index).sentence(s, e)
        if not found.doers:
            return False
        group, kind = min(found.doers, key=lambda d: d[0].start)
        if group.category is Category.DIRECTED:
            return True  # "đề nghị Sở X phối hợp với Y …": being asked is being assigned, whatever the predicate
        if group.category is not Category.SUBJECT:
            return kind.leads
        return kind.leads or (kind is DoerKind.COOP and bool(found.links))
