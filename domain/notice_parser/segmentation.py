"""Segmentation after the tree walk: a new directive where the subject agency changes at ";" or a sentence end.

Unnumbered text is cut at every such change. A numbered item is cut more narrowly (split_numbered_item): only a
one-sentence item that hands out one task per body, "Sở A làm X; Sở B làm Y", each clause opening with its own
single body; an item that reads as one task carried by several bodies stays whole, as the document numbers it.

"Sở Y tế bố trí đội cấp cứu; Công an tỉnh bảo đảm an ninh; Sở Công Thương kiểm soát giá" gives three directives
(issue 16 §6): each clause has its own subject doing its own task. A clause whose subject only cooperates
("Sở X phối hợp"), or that names no new subject, stays with the directive before it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from domain.notice_parser.builder import Builder, Unit
from domain.notice_parser.document import vi_pattern
from domain.notice_parser.role_rules import Category, DoerKind, main_verb
from domain.notice_parser.roles import RoleReader
from domain.notice_parser.sentences import MentionIndex, sentences

_SEMICOLON = re.compile(r";\s+")
# "Ban Tuyên giáo định hướng thông tin; Báo … đăng tải": the first body orients the work the next ones carry out.
_ORIENTS = vi_pattern(r"^định\s+hướng\b")
# Oversight verbs with no object: the clause watches over the task before it ("…; Sở Công Thương kiểm tra, đôn đốc.").
_OVERSEES = vi_pattern(
    r"^(?:(?:kiểm\s+tra|đôn\s+đốc|theo\s+dõi|giám\s+sát)(?:\s*,\s*|\s+và\s+|\s+)?)+(?:việc\s+)?(?:thực\s+hiện)?[\s.;/]*$"
)
# The kinds of an opening subject that does a task of its own in its clause.
_OWN_TASK = (DoerKind.PLAIN, DoerKind.CHAIR, DoerKind.COOP)


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


def only_oversees(verb: str) -> bool:
    """True for a predicate that only oversees the task before it: "Sở X kiểm tra, đôn đốc." has no task of its own."""
    return bool(_OVERSEES.match(verb))


def subject_lead(builder: Builder, index: MentionIndex, s: int, e: int) -> set[str] | None:
    """The keys of the clause's own subject when that subject leads a task of its own, else None."""
    found = RoleReader(builder.doc, s, e, index).sentence(s, e)
    if not found.doers:
        return None
    group, kind = min(found.doers, key=lambda d: d[0].start)
    if group.category is not Category.SUBJECT or not kind.leads:
        return None
    if only_oversees(main_verb(builder.doc.low[group.end : e])):
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


def opening_subject(builder: Builder, index: MentionIndex, s: int, e: int) -> tuple[str, DoerKind, str] | None:
    """(key, kind, predicate) of the one named body a clause opens with when it does a task of its own, else None.

    None for a clause that opens with no body, with a list or a collective phrase ("Sở A, Sở B …", "các ngành …"),
    or whose first body assigns, directs, cooperates only, or narrates.
    """
    found = RoleReader(builder.doc, s, e, index).sentence(s, e)
    if not found.doers:
        return None
    group, kind = min(found.doers, key=lambda d: d[0].start)
    lead_in = builder.doc.text[s : group.start].strip(" *_-–+•\n\t")
    if group.category is not Category.SUBJECT or lead_in or kind not in _OWN_TASK:
        return None
    if len(group.members) != 1 or group.members[0].generic or group.members[0].is_group:
        return None
    verb = main_verb(builder.doc.low[group.end : e])
    if only_oversees(verb):
        return None
    if kind is DoerKind.COOP and not re.search(r"\S\s+\S", verb.split("với", 1)[-1].strip()):
        return None  # "Sở X phối hợp." supports the clause before; it is no task of its own
    return group.members[0].key, kind, verb


def split_numbered_item(builder: Builder, unit: Unit) -> list[Unit]:
    """A numbered one-sentence item cut at ";" when every clause opens with its own single body doing its own task.

    "2. Sở Tài chính bố trí kinh phí; Sở Y tế tổ chức tiêm chủng." gives 2 and 2b: two bodies, two tasks. The
    item stays whole when any clause opens with no body or with several ("UBND huyện A, UBND huyện B …"), when a
    body comes back, or when the first body only orients ("định hướng") what the next ones carry out.
    """
    if ";" not in builder.doc.text[unit.start : unit.end]:
        return [unit]  # most items: nothing to cut, no names to look up
    index = MentionIndex(builder.mentions(unit.start, unit.end))
    if len(sentences(builder.doc, unit.start, unit.end, index)) != 1:
        return [unit]
    pieces = clause_pieces(builder, unit, index)
    if len(pieces) < 2:
        return [unit]
    subjects = [opening_subject(builder, index, s, e) for s, e in pieces]
    keys = [sub[0] for sub in subjects if sub is not None]
    # A later clause whose body only "phối hợp" supports the task before it ("…; Sở B phối hợp tuyên truyền").
    if any(sub is not None and sub[1] is DoerKind.COOP for sub in subjects[1:]):
        return [unit]
    if (
        len(keys) != len(pieces)
        or len(set(keys)) != len(keys)
        or any(_ORIENTS.match(sub[2]) for sub in subjects if sub)
    ):
        return [unit]
    out = []
    for k, (s, e) in enumerate(pieces):
        end = _trim(builder, s, e) if k < len(pieces) - 1 else unit.end
        start = unit.start if k == 0 else s
        number = unit.number if k == 0 else f"{unit.number}{_suffix(k)}"
        out.append(replace(unit, start=start, end=end, number=number, split_from=unit.number))
    return out


def split_units(builder: Builder) -> list[Unit]:
    """Every unit of the builder: unnumbered ones split on subject changes, numbered ones by split_numbered_item."""
    return [
        piece
        for unit in builder.units
        for piece in (split_on_subject_change(builder, unit) if unit.synthetic else split_numbered_item(builder, unit))
    ]
