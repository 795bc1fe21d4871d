"""The body's structure: where the body starts and ends, its list markers, and the tree of items and paragraphs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum, auto

from domain.notice_parser.document import Doc, clean, ends_sentence, norm_low, starts_upper, vi_pattern
from domain.notice_parser.role_rules import ASSIGN_START

_MARKER = re.compile(
    r"^(?P<pre>[ \t]*(?:#{1,6}[ \t]+)?(?:>[ \t]*)?(?:\*\*|__)?[ \t]*)"
    r"(?P<m>(?P<roman>[IVX]{1,5})[.\-/][ \t]+"
    r"|(?P<multi>\d+(?:\.\d{1,3}){1,3})\.?(?:\*\*|__)?(?:[ \t]+|(?=[^\d\s.,/]))"
    r"|(?P<arabic>\d+)[.)](?:\*\*|__)?(?:[ \t]+|(?=[^\d\s.,/]))"
    r"|\((?P<paren>\d+)\)[ \t]*"
    r"|(?P<alpha>[a-zđ])[).](?:\*\*|__)?[ \t]+"
    r"|(?P<dash>[-–—])[ \t]*(?=\S)(?![-–—])"
    r"|(?P<plus>\+)[ \t]*(?=\S)"
    r"|(?P<bullet>[•·▪●]|\*(?!\*))[ \t]+)"
    r"(?P<post>(?:\*\*|__)?[ \t]*)"
)
# "1.500" or "12.000.000": Vietnamese thousands groups, not a list number (a list number "2.100." ends with a dot).
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
SEPARATOR = re.compile(r"^\s*(?:[-_*=~.]\s*){3,}$")
_CAPITAL_START = re.compile(r"\s*[A-ZĐÀ-ỸÂĂÊÔƠƯ\"“(]")

_BODY_END = vi_pattern(
    r"^[\s*_#>]*(?:nơi\s+nhận|t/m|t/l|k/t|tm\.|tl\.|kt\.|q\.\s*chánh|chánh\s+văn\s+phòng\s*$|bí\s+thư\s*$|chủ\s+tịch\s*$|nguồn\s*:|\(?nguồn\s*:)"
)
_CLOSING = vi_pattern(
    r"^\s*(?:trên\s+đây\s+là|(?:văn\s+phòng|vp)[^.;]{0,80}\bthông\s+báo\s+(?:để|đến)|[^.;]{0,120}\bthông\s+báo\s+để\s+(?:các|cơ\s+quan|đơn\s+vị)[^.;]{0,120}(?:biết|thực\s+hiện))"
)
# Closing formulas that end the body: "(UBND tỉnh) yêu cầu các cơ quan, đơn vị nghiêm túc thực hiện./.", "Giám đốc các sở …
# chịu trách nhiệm trước Chủ tịch UBND tỉnh …./.", "Đề nghị các đơn vị triển khai thực hiện.".
CLOSING_FORMULA = vi_pattern(
    r"^[\s*_]*(?:(?:[^.;:]{0,60}\s)?(?:yêu\s+cầu|đề\s+nghị)\s+(?:[^.;]{0,120}\s)?thực\s+hiện\s*(?:\./\.|\.?\s*$)"
    r"|[^.;]{0,200}\bchịu\s+trách\s+nhiệm\s+trước\s[^;]{0,200}\./\.)"
)
_INTRO_END = vi_pattern(r"(?:như\s+sau|kết\s+luận|ý\s+kiến(?:\s+chỉ\s+đạo)?|\bchỉ\s+đạo)\s*:\s*(?:\*\*|__)?\s*$")
# An assignment inside an opening paragraph ("Ngày 05/6, UBND tỉnh giao Sở X …"): the paragraph is not only an intro.
_ASSIGNS_INSIDE = re.compile(
    r"[\s,](?:giao|đề\s+nghị|yêu\s+cầu)\s+(?:cho\s+)?(?:các\s+)?[A-ZĐÀ-ỸÂĂÊÔƠƯ]"
)  # case matters: a capital starts the body
INTRO_START = vi_pattern(
    r"^\s*(?:\*\*|__)?\s*(?:(?:sáng|chiều|tối)\s+)?(?:ngày\s+\d|vừa\s+qua|căn\s+cứ|thực\s+hiện\s+chương\s+trình|tại\s+hội\s+nghị|trong\s+các\s+ngày|từ\s+ngày|sau\s+khi\s+nghe)"
)


class MarkerKind(Enum):
    """The kinds of list marker a notice uses."""

    ROMAN = auto()  # "II."
    MULTI = auto()  # "2.1." (depth 1), "2.1.3" (depth 2)
    ARABIC = auto()  # "2." or "2)"
    PAREN = auto()  # "(2)"
    ALPHA = auto()  # "a)"
    DASH = auto()  # "-"
    PLUS = auto()  # "+"
    BULLET = auto()  # "•", "*"


@dataclass(frozen=True)
class MarkerType:
    """A marker's kind and, for multi-level numbers, how many dots it has; equal types are siblings."""

    kind: MarkerKind
    depth: int = 0

    @property
    def is_bullet(self) -> bool:
        """True for unnumbered markers (-, +, •): the directive number is their position."""
        return self.kind in (MarkerKind.DASH, MarkerKind.PLUS, MarkerKind.BULLET)

    @property
    def is_top_level(self) -> bool:
        """True for the markers of sections (I., 1., 1.1.) that close an open unnumbered paragraph."""
        return self.kind in (MarkerKind.ROMAN, MarkerKind.ARABIC) or self == MarkerType(MarkerKind.MULTI, 1)


@dataclass(frozen=True)
class Marker:
    """A list marker found at the start of a line."""

    type: MarkerType
    label: str  # "2.1", "a"; empty for bullets
    text: str  # the marker as written: "2.1.", "a)", "-"
    content_offset: int  # where the item's text starts in the line


class NodeKind(Enum):
    """A node of the body tree."""

    ITEM = auto()  # a line that starts with a list marker, and its continuation lines
    PARAGRAPH = auto()  # unnumbered text


@dataclass
class Node:
    """A numbered item or an unnumbered paragraph of the body."""

    kind: NodeKind
    mtype: MarkerType | None
    label: str | None
    marker: str | None
    content_start: int
    end: int
    first_line: int
    line_offset: int = 0
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def own_end(self) -> int:
        """End of the node's own text (before its first child)."""
        return self.children[0].line_offset if self.children else self.end

    def full_end(self) -> int:
        """End of the node with all its descendants."""
        return self.children[-1].full_end() if self.children else self.end


_NUMBERED_KINDS = (
    ("roman", MarkerKind.ROMAN),
    ("multi", MarkerKind.MULTI),
    ("arabic", MarkerKind.ARABIC),
    ("paren", MarkerKind.PAREN),
    ("alpha", MarkerKind.ALPHA),
)
_BULLET_KINDS = (("dash", MarkerKind.DASH), ("plus", MarkerKind.PLUS), ("bullet", MarkerKind.BULLET))


def marker_of(line: str) -> Marker | None:
    """The list marker that starts line, or None (a separator line, prose 'a. b.', a marker with no text)."""
    m = _MARKER.match(line)
    if not m:
        return None
    rest = line[m.end() :]
    if not rest.strip() or SEPARATOR.match(line):
        return None
    for group, kind in _NUMBERED_KINDS:
        label = m.group(group)
        if label and kind is MarkerKind.MULTI and _THOUSANDS.fullmatch(m.group("m").strip()):
            return None  # "1.500 hộ dân …": a number with thousands separators opens the sentence
        if label:
            depth = label.count(".") if kind is MarkerKind.MULTI else 0
            if kind is MarkerKind.ALPHA and not _CAPITAL_START.match(rest):
                return None  # "a. b." inside prose; real items start with a capital
            return Marker(MarkerType(kind, depth), label, m.group("m").strip(), m.end())
    for group, kind in _BULLET_KINDS:
        if m.group(group):
            return Marker(MarkerType(kind), "", m.group("m").strip(), m.end())
    return None


def ends_with_colon(doc: Doc, node: Node) -> bool:
    """True when the node's own text ends with ':' (a heading that introduces items), Markdown marks aside.

    Scans back from the end only: it is asked again for every line added to a long item.
    """
    text, i = doc.text, node.own_end()
    while i > node.content_start and (text[i - 1] in "*_" or text[i - 1].isspace()):
        i -= 1
    return i > node.content_start and text[i - 1] == ":"


class Structure:
    """Builds the tree of numbered items and paragraphs of the body."""

    def __init__(self, doc: Doc, first: int, last: int):
        self.doc = doc
        self.first = first
        self.last = last  # exclusive line index

    def build(self) -> list[Node]:
        """Top-level nodes of lines [first, last)."""
        doc = self.doc
        roots: list[Node] = []
        stack: list[Node] = []
        markers = [marker_of(doc.line(i)) for i in range(self.first, self.last)]
        marker_after = [False] * (self.last - self.first + 1)
        for k in range(self.last - self.first - 1, -1, -1):
            marker_after[k] = marker_after[k + 1] or markers[k] is not None
        current: Node | None = None
        prev_text = ""
        blank_before = False
        for k, i in enumerate(range(self.first, self.last)):
            line = doc.line(i)
            if not line.strip() or SEPARATOR.match(line):
                blank_before = True
                continue
            start, end = doc.line_starts[i], doc.line_end(i)
            mk = markers[k]
            if mk:
                node = Node(NodeKind.ITEM, mk.type, mk.label, mk.text, start + mk.content_offset, end, i, start)
                self._place(node, stack, roots)
                current = node
            else:
                new_para = starts_upper(line) and (blank_before or ends_sentence(prev_text) or current is None)
                if (current is not None and not new_para) or (
                    current is not None
                    and current.kind is NodeKind.ITEM
                    and not self._breaks_out(line, current, marker_after[k + 1])
                ):
                    current.end = end
                else:
                    current = self._open_paragraph(line, start, end, i, stack, roots)
            prev_text = line
            blank_before = False
        return roots

    def _open_paragraph(self, line: str, start: int, end: int, i: int, stack: list[Node], roots: list[Node]) -> Node:
        """Start an unnumbered paragraph under the nearest item that ends with ':', else at the top."""
        node = Node(NodeKind.PARAGRAPH, None, None, None, start + len(line) - len(line.lstrip()), end, i, start)
        parent = next((n for n in reversed(stack) if n.kind is NodeKind.ITEM and ends_with_colon(self.doc, n)), None)
        if parent is None:
            stack.clear()
            roots.append(node)
        else:
            while stack and stack[-1] is not parent:
                stack.pop()
            node.parent = parent
            parent.children.append(node)
        stack.append(node)
        return node

    def _breaks_out(self, line: str, current: Node, markers_follow: bool) -> bool:
        """Whether a new unnumbered paragraph after an item starts a node of its own."""
        low = norm_low(unicodedata.normalize("NFC", line.strip().lstrip("*_ ")))
        if ends_with_colon(self.doc, current):
            return True  # "2. Nhiệm vụ thời gian tới:" then unnumbered paragraphs
        cue = bool(ASSIGN_START.match(low))
        if current.mtype is not None and current.mtype.is_bullet:
            return cue
        return cue and not markers_follow

    @staticmethod
    def _place(node: Node, stack: list[Node], roots: list[Node]) -> None:
        """Put a numbered node under the right parent by marker type (same type = sibling)."""
        mtype = node.mtype
        same = next(
            (j for j in range(len(stack) - 1, -1, -1) if stack[j].kind is NodeKind.ITEM and stack[j].mtype == mtype),
            None,
        )
        if same is not None:
            del stack[same:]
        elif mtype is not None and mtype.kind is MarkerKind.MULTI:
            # "2.1" sits under "2." / "1.2.1" under "1.2": pop deeper arabic levels.
            while stack and _multi_depth(stack[-1]) >= mtype.depth:
                stack.pop()
        elif mtype is not None and mtype.kind is MarkerKind.ARABIC:
            while stack and _multi_depth(stack[-1]) > 0:
                stack.pop()
        while (
            stack
            and stack[-1].kind is NodeKind.PARAGRAPH
            and stack[-1].parent is None
            and mtype is not None
            and mtype.is_top_level
        ):
            stack.pop()
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)


def _multi_depth(node: Node) -> int:
    """The depth of a multi-level number item ("2.1" → 1), or 0 for any other node."""
    return node.mtype.depth if node.mtype is not None and node.mtype.kind is MarkerKind.MULTI else 0


def body_range(doc: Doc, first: int) -> tuple[int, int]:
    """Lines [start, end) of the body: after the intro, before the closing formula, 'Nơi nhận' or signature."""
    end = _body_end(doc, first)
    return _after_intro(doc, first, end), end


def _body_end(doc: Doc, first: int) -> int:
    """The first line of the closing formula, 'Nơi nhận' or the signature block."""
    for i in range(first, doc.nlines):
        line = clean(doc.line(i))
        if not line:
            continue
        low = norm_low(line)
        if _BODY_END.match(low) or _CLOSING.match(low) or is_closing_formula(low):
            return i
    return doc.nlines


def assigns_inside(line: str) -> bool:
    """True when an opening paragraph also assigns work ("…, Chủ tịch UBND tỉnh giao Sở X …"): keep it in the body."""
    return bool(_ASSIGNS_INSIDE.search(unicodedata.normalize("NFC", line)))


def is_closing_formula(line_low: str) -> bool:
    """True for a closing formula line: a general "yêu cầu/đề nghị … thực hiện" to all, or "chịu trách nhiệm trước".

    A general request ends the body only when it names no one in particular: it ends the document ("./."), or it
    addresses "các cơ quan/đơn vị/sở …" as a whole.
    """
    m = CLOSING_FORMULA.match(line_low)
    if not m:
        return False
    return line_low.rstrip().endswith("./.") or bool(_GENERAL_ADDRESSEES.search(m.group(0)))


_GENERAL_ADDRESSEES = vi_pattern(r"\bcác\s+(?:cơ\s+quan|đơn\s+vị|sở|ngành|địa\s+phương)")


def _after_intro(doc: Doc, first: int, end: int) -> int:
    """The line after the intro ("Ngày …, … kết luận như sau:"), which is not a directive."""
    for i in range(first, min(end, first + 40)):
        line = clean(doc.line(i))
        if not line:
            continue
        if marker_of(doc.line(i)):
            break
        if _INTRO_END.search(norm_low(line)) and not ASSIGN_START.match(norm_low(line)):
            return i + 1
    # No "như sau:": skip an opening paragraph that reports the meeting.
    for i in range(first, end):
        line = clean(doc.line(i))
        if not line:
            continue
        if INTRO_START.match(norm_low(line)) and not marker_of(doc.line(i)) and not assigns_inside(line):
            j = i
            while (
                j + 1 < end
                and clean(doc.line(j + 1))
                and not marker_of(doc.line(j + 1))
                and not (ends_sentence(doc.line(j)) and starts_upper(doc.line(j + 1)))
            ):
                j += 1
            return j + 1
        break
    return first
