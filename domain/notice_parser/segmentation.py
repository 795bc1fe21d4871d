"""Segmentation after the tree walk: a new directive where the subject agency changes at ";" or a sentence end.

Only unnumbered text is cut this way; a numbered item is one directive as the document numbers it.

"Sở Y tế bố trí đội cấp cứu; Công an tỉnh bảo đảm an ninh; Sở Công Thương kiểm soát giá" gives three directives
(issue 16 §6): each clause has its own subject doing its own task. A clause whose subject only cooperates
("Sở X phối hợp"), or that names no new subject, stays with the directive before it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from domain.notice_parser.builder import Builder, Unit
from domain.notice_parser.role_rules import Category
from domain.notice_parser.roles import RoleReader
from domain.notice_parser.sentences import MentionIndex, sentences

_SEMICOLON = re.compile(r";\s+")


def clause_pieces(builder: Builder, unit: Unit, index: MentionIndex) -> list[tuple[int, int]]:
    """The unit's sentences, each cut again after every ";" that falls outside a name."""
    doc = builder.doc
    pieces: list[tuple[int, int]] = []
    for s, e in sentences(doc, unit.start, unit.end, index):
        cut = s
        for m in _SEMICOLON.finditer(doc.text, s, e):
            if not index.covers(m.start()):
                pieces.append((cut, m.end()))
                cut = m.end()
        pieces.append((cut, e))
    return [(s, e) for s, e in pieces if doc.text[s:e].strip()]


def subject_lead(builder: Builder, index: MentionIndex, s: int, e: int) -> set[str] | None:
    """The keys of the clause's own subject when that subject leads a task of its own, else None."""
    found = RoleReader(builder.doc, s, e, index).sentence(s, e)
    if not found.doers:
        return None
    group, kind = min(found.doers, key=lambda d: d[0].start)
    if group.category is not Category.SUBJECT or not kind.leads:
        return None
    return {m.key for m in group.members}


def split_on_subject_change(builder: Builder, unit: Unit) -> list[Unit]:
    """The unit, cut where a clause's leading subject is a body the directive so far has not named as a doer."""
    index = MentionIndex(builder.mentions(unit.start, unit.end))
    pieces = clause_pieces(builder, unit, index)
    if len(pieces) < 2:
        return [unit]
    starts = [pieces[0][0]]
    seen: set[str] = set()
    for s, e in pieces:
        subject = subject_lead(builder, index, s, e)
        if subject and seen and not subject & seen and s != starts[-1]:
            starts.append(s)
            seen = set()
        found = RoleReader(builder.doc, s, e, index).sentence(s, e)
        seen |= {m.key for g, _ in found.doers for m in g.members}
    if len(starts) == 1:
        return [unit]
    ends = [*starts[1:], unit.end]
    out = [replace(unit, start=starts[0], end=_trim(builder, starts[0], ends[0]))]
    for k, (s, e) in enumerate(zip(starts[1:], ends[1:], strict=True), start=1):
        out.append(replace(unit, start=s, end=_trim(builder, s, e), number=f"{unit.number}{_suffix(k)}", label=None))
    return out


def _trim(builder: Builder, s: int, e: int) -> int:
    """End of a piece without the trailing ";" and spaces."""
    text = builder.doc.text
    while e > s and (text[e - 1].isspace() or text[e - 1] == ";"):
        e -= 1
    return e


def _suffix(k: int) -> str:
    """'b', 'c', … for the pieces after the first."""
    return chr(ord("a") + k) if k < 26 else f"-{k + 1}"


def split_units(builder: Builder) -> list[Unit]:
    """Every unit of the builder, the unnumbered ones split on subject changes.

    A numbered item stays one directive whatever its clauses: the document's own numbering is what the
    offices report against.
    """
    return [
        piece
        for unit in builder.units
        for piece in (split_on_subject_change(builder, unit) if unit.synthetic else [unit])
    ]
