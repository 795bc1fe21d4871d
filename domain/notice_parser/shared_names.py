"""Names that lean on the next name: shared tails and units named with their parent.

- share_places: "Huyện ủy, UBND huyện Văn Yên" names the Huyện ủy and the UBND of one district. A bare level body
  ("Huyện ủy", "UBND huyện", "Thành ủy") directly followed by "," or "và" and a body of a named place borrows that
  place: the text writes the place once for both. A bare name with no such neighbour stays as it is.
- join_parent_units: "Trung tâm Phát triển quỹ đất thuộc Ban Quản lý Khu kinh tế tỉnh" is one unit, named with
  the body it belongs to; the parent is not a second body of the clause.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from domain.notice_parser.document import Doc, norm_low

if TYPE_CHECKING:  # agencies imports this module; the type is only needed for checking
    from domain.notice_parser.agencies import Mention

# A bare level body: its name ends in the level word, with no place after it.
_BARE = re.compile(
    r"^(?:huyện|thành|thị|quận)\s+ủy$|^(?:ubnd|ủy\s+ban\s+nhân\s+dân|hđnd|ủy\s+ban\s+mttq)\s+(?:huyện|thành\s+phố|thị\s+xã|quận)$"
)
# The place at the end of a body's name: capitalised words after its last level word.
_PLACE_TAIL = re.compile(
    r"(?:huyện|thành\s+phố|thị\s+xã|quận|(?:huyện|thành|thị)\s+ủy)\s+(?P<place>[^\W\d_][^\W_]*(?:\s+[^\W\d_][^\W_]*){0,3})$",
    re.IGNORECASE,
)
_JOIN = re.compile(r"^\s*(?:,|và|,\s*và)\s*$")

# Looks a written name up in the directory: (code, is_group, members) or None.
Resolve = Callable[[str], tuple[str, bool, tuple[str, ...]] | None]


def place_of(surface: str) -> str | None:
    """The capitalised place a body's name ends with ("UBND huyện Văn Yên" → "Văn Yên"), else None."""
    m = _PLACE_TAIL.search(" ".join(surface.split()))
    if m is None or not all(w[:1].isupper() and not w.isupper() for w in m.group("place").split()):
        return None
    return m.group("place")


def share_places(doc: Doc, mentions: list[Mention], resolve: Resolve) -> list[Mention]:
    """Mentions in text order, each bare level body followed by a sibling of a named place given that place."""
    out = list(mentions)
    for i in range(len(out) - 1):
        bare, nxt = out[i], out[i + 1]
        if bare.generic or bare.is_group or not _BARE.match(norm_low(" ".join(bare.surface.split()))):
            continue
        if not _JOIN.match(doc.text[bare.end : nxt.start]) or nxt.generic or nxt.is_group:
            continue
        place = place_of(nxt.surface)
        if place is None:
            continue
        surface = f"{' '.join(bare.surface.split())} {place}"
        known = resolve(surface)
        code, is_group, members = known if known else (None, False, ())
        out[i] = replace(bare, surface=surface, code=code, is_group=is_group, members=members, canonical=None)
    return out


_UNDER = re.compile(r"^\s+(?:trực\s+)?thuộc\s+$", re.IGNORECASE)


def join_parent_units(doc: Doc, mentions: list[Mention]) -> list[Mention]:
    """Mentions in text order, an unknown unit followed by "thuộc" and its parent joined into one unknown name."""
    out: list[Mention] = []
    for m in mentions:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.code is None
            and not prev.generic
            and not m.generic
            and not m.is_group
            and _UNDER.match(doc.text[prev.end : m.start])
        ):
            out[-1] = replace(prev, end=m.end, surface=doc.text[prev.start : m.end], canonical=None)
            continue
        out.append(m)
    return out
