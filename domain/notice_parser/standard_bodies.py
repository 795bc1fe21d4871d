"""Standard body names of any province (domain.body_types) in the text: a hook of the agency matcher.

A name outside the province's directory that starts with a standard name ("Cục Quản lý thị trường tỉnh Quảng
Nam", "Sở KH&ĐT tỉnh Nghệ An") is a body: the matcher keeps at least the whole standard name, even where the
generic rules of unknown_names would stop early, and the draft tells the reviewer its type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.body_types import BodyMatch, BodyTypeCatalog, place_level
from domain.notice_parser.abbreviations import written_forms

# Turns a name into the matcher's word keys, so the index and the text are read the same way.
KeysOf = Callable[[str], tuple[str, ...]]


class StandardBodies:
    """The catalogue's names in every written form ("Sở NN&PTNT", "Sở Nông nghiệp và PTNT" …), by word keys."""

    def __init__(self, catalog: BodyTypeCatalog, keys_of: KeysOf):
        self.index: dict[tuple[str, ...], BodyMatch] = {}
        for name, match in catalog.written_names():
            for form in written_forms(name):
                keys = keys_of(form)
                if keys:
                    self.index.setdefault(keys, match)
        self.max_len_by_head: dict[str, int] = {}
        for keys in self.index:
            self.max_len_by_head[keys[0]] = max(self.max_len_by_head.get(keys[0], 0), len(keys))

    def longest_at(self, keys: Sequence[str], i: int) -> tuple[int, BodyMatch] | None:
        """(words, match) of the longest standard name starting at keys[i], or None."""
        for n in range(min(self.max_len_by_head.get(keys[i], 0), len(keys) - i), 0, -1):
            match = self.index.get(tuple(keys[i : i + n]))
            if match is not None:
                return n, match
        return None

    def classify(self, keys: Sequence[str]) -> BodyMatch | None:
        """The type of a name (its word keys) that starts with a standard name, at the level its place word says."""
        if not keys:
            return None
        found = self.longest_at(keys, 0)
        if found is None:
            return None
        n, match = found
        level = place_level(list(keys[n:]))
        return match.at_level(level) if level else match
