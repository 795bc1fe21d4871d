"""Sentences, clauses and quotations of a directive's text: the frames inside which roles are read."""

from __future__ import annotations

import bisect
import re

from domain.notice_parser.agencies import Mention
from domain.notice_parser.document import Doc

_SENTENCE_END = re.compile(r"[.!?…]+[\"”’)*]*\s+(?=[\"“(*]*[A-ZĐÀ-ỸÂĂÊÔƠƯ0-9])")
_LIST_LINE = re.compile(r"\n\s*(?=(?:[-–+•]|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s)")
_QUOTED = re.compile(r"“[^”]{0,400}”|\"[^\"\n]{0,400}\"")


def quoted_ranges(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Ranges inside “…” or "…" quotes (titles of cited documents and schemes)."""
    return [(start + m.start(), start + m.end()) for m in _QUOTED.finditer(text[start:end])]


class MentionIndex:
    """The names found in a range, sorted by start, with logarithmic lookups (a paragraph can hold thousands)."""

    def __init__(self, mentions: list[Mention]):
        self.mentions = sorted(mentions, key=lambda m: m.start)
        self.starts = [m.start for m in self.mentions]
        # reach[i]: the furthest end among names 0..i, so "is pos inside a name" needs one bisection.
        self.reach: list[int] = []
        for m in self.mentions:
            self.reach.append(max(m.end, self.reach[-1]) if self.reach else m.end)

    def covers(self, pos: int) -> bool:
        """True when pos falls inside a name (start <= pos < end of some name)."""
        i = bisect.bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.reach[i]

    def starting_in(self, start: int, end: int) -> list[Mention]:
        """The names that start in [start, end), in order."""
        return self.mentions[bisect.bisect_left(self.starts, start) : bisect.bisect_left(self.starts, end)]


def sentences(doc: Doc, start: int, end: int, index: MentionIndex) -> list[tuple[int, int]]:
    """Sentence ranges of doc[start:end]: ends at . ! ? … before a capital, never inside a name."""
    cuts = [start]
    for m in _SENTENCE_END.finditer(doc.text, start, end):
        if index.covers(m.start()):
            continue
        cuts.append(m.end())
    for m in _LIST_LINE.finditer(doc.text[start:end]):
        cuts.append(start + m.end())
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True) if doc.text[a:b].strip()]


def clause_start(doc: Doc, sent_start: int, pos: int, index: MentionIndex) -> int:
    """Start of the clause (after the last ';' or ':' outside names) that holds pos."""
    at = pos
    while True:
        at = max(doc.text.rfind(";", sent_start, at), doc.text.rfind(":", sent_start, at))
        if at < 0:
            return sent_start
        if not index.covers(at):
            return at + 1
