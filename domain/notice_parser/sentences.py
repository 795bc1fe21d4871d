"""Sentences, clauses and quotations of a directive's text: the frames inside which roles are read."""

from __future__ import annotations

import re

from domain.notice_parser.agencies import Mention
from domain.notice_parser.document import Doc

_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)*]*\s+(?=[\"“(*]*[A-ZĐÀ-ỸÂĂÊÔƠƯ0-9])")
_LIST_LINE = re.compile(r"\n\s*(?=(?:[-–+•]|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s)")
_QUOTED = re.compile(r"“[^”]{0,400}”|\"[^\"\n]{0,400}\"")


def quoted_ranges(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Ranges inside “…” or "…" quotes (titles of cited documents and schemes)."""
    return [(start + m.start(), start + m.end()) for m in _QUOTED.finditer(text[start:end])]


def sentences(doc: Doc, start: int, end: int, mentions: list[Mention]) -> list[tuple[int, int]]:
    """Sentence ranges of doc[start:end]: ends at . ! ? … before a capital, never inside a name."""
    inside = [(m.start, m.end) for m in mentions]
    cuts = [start]
    for m in _SENTENCE_END.finditer(doc.text[start:end]):
        pos = start + m.start()
        if any(s <= pos < e for s, e in inside):
            continue
        cuts.append(start + m.end())
    for m in _LIST_LINE.finditer(doc.text[start:end]):
        cuts.append(start + m.end())
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True) if doc.text[a:b].strip()]


def clause_start(doc: Doc, sent_start: int, pos: int, mentions: list[Mention]) -> int:
    """Start of the clause (after the last ';' or ':' outside names) that holds pos."""
    seg = doc.text[sent_start:pos]
    for i in range(len(seg) - 1, -1, -1):
        if seg[i] in ";:":
            at = sent_start + i
            if not any(m.start <= at < m.end for m in mentions):
                return at + 1
    return sent_start
