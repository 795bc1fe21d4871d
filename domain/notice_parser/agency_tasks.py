"""Each agency's own task in a directive: the sentences that name it, else those naming a group it belongs to.

A directive often gives different bodies different work ("Sở Công Thương tiếp tục đẩy mạnh …;
Sở Khoa học và Công nghệ tăng cường …"). A reminder should quote the recipient's own sentences,
found with the parser's own matcher and sentence splitter so import and parse agree on names.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.notice_parser.agencies import AgencyMatcher
from domain.notice_parser.directory import AgencyDirectoryLike
from domain.notice_parser.document import Doc
from domain.notice_parser.sentences import MentionIndex, quoted_ranges, sentences


def _named_codes(
    matcher: AgencyMatcher, doc: Doc, start: int, end: int, quoted: list[tuple[int, int]]
) -> tuple[set[str], set[str]]:
    """Codes a sentence names directly, and codes it names through a group; names inside quotes do not count."""
    direct: set[str] = set()
    via_group: set[str] = set()
    for mention in matcher.find(doc, start, end):
        if mention.code is None or any(a <= mention.start < b for a, b in quoted):
            continue
        if mention.is_group:
            via_group.update(mention.members)
        else:
            direct.add(mention.code)
    return direct, via_group


def agency_tasks(
    text: str, directory: AgencyDirectoryLike, codes: Iterable[str], matcher: AgencyMatcher | None = None
) -> dict[str, str]:
    """Map each code to the directive's sentences naming it; else those naming its group; else the whole text.

    A sentence naming a group ("các cơ quan, sở, ngành liên quan") is often another body's task with
    the group as its partner, so a member named on its own gets only its own sentences. Pass a
    matcher built once for the directory when calling this for many directives.
    """
    matcher = matcher or AgencyMatcher(directory)
    doc = Doc.of(text)
    end = len(doc.text)
    quoted = quoted_ranges(doc.text, 0, end)
    index = MentionIndex([m for m in matcher.find(doc, 0, end) if m.code is not None])
    own: dict[str, list[str]] = {}
    of_group: dict[str, list[str]] = {}
    for start, stop in sentences(doc, 0, end, index):
        sentence = " ".join(doc.text[start:stop].split())
        direct, via_group = _named_codes(matcher, doc, start, stop, quoted)
        for code in direct:
            own.setdefault(code, []).append(sentence)
        for code in via_group - direct:
            of_group.setdefault(code, []).append(sentence)
    whole = " ".join(doc.text.split())
    return {code: " ".join(own.get(code) or of_group.get(code) or [whole]) for code in codes}


__all__ = ["agency_tasks"]
