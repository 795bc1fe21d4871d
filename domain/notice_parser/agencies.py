"""Agency names in the text: directory names (longest match, Unicode- and tone-insensitive) and unknown agency-like names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.body_types import BodyLevel, BodyMatch, BodyTypeCatalog
from domain.notice_parser.abbreviations import written_forms
from domain.notice_parser.collectives import collective_spans
from domain.notice_parser.directory import AgencyDirectoryLike
from domain.notice_parser.document import Doc, norm_low
from domain.notice_parser.name_extents import (
    SUB_BODY_PREFIXES,
    branch_end,
    hyphen_compound_end,
    longer_reading,
    lower_level_words,
    plural_counterpart_end,
    spaced,
    sub_body_start,
)
from domain.notice_parser.shared_names import join_parent_units, share_places
from domain.notice_parser.standard_bodies import StandardBodies
from domain.notice_parser.unknown_names import TailToken, level_bounded_tail, shared_head_siblings, tail_end

_TOKEN = re.compile(r"\w+(?:\s*&\s*\w+)*")
_SOFT_GAP = re.compile(r"^[\s,.\-–]*$")
# Aliases that start with one of these words name an institution even in lower case
# ("hội nông dân các cấp"); others ("Tài chính", "STC", "MTTQ") must match their capitals.
_INSTITUTION_HEADS = {
    "sở",
    "ban",
    "hội",
    "ủy",
    "ubnd",
    "hđnd",
    "văn",
    "liên",
    "đài",
    "báo",
    "đảng",
    "huyện",
    "thành",
    "tỉnh",
    "thường",
    "đoàn",
    "các",
    "công",
    "trung",
    "bộ",
    "ubmttq",
    "mặt",
    "đồng",
    "phó",
    "lm",
}


@dataclass(frozen=True)
class _Entry:
    """One directory name: what it resolves to and how it must match."""

    code: str
    is_group: bool
    members: tuple[str, ...]
    alias: str
    raw_tokens: tuple[str, ...]
    case_sensitive: bool


@dataclass
class _Tok:
    """A word of the text with its key for matching."""

    start: int
    end: int
    raw: str
    key: str


@dataclass
class Mention:
    """A name found in the text: known (code) or agency-like but unknown."""

    start: int
    end: int
    surface: str
    code: str | None
    is_group: bool
    members: tuple[str, ...]
    canonical: str | None
    generic: bool = False  # a collective phrase ("các đơn vị có liên quan"): several bodies the text does not list
    body_type: BodyMatch | None = None  # for a name outside the directory: its standard type, when it has one

    @property
    def key(self) -> str:
        """Identity for merging: the code, else the normalised surface."""
        return self.code or "?" + norm_low(self.surface)


def _key_of(raw_low: str) -> str:
    """Token key: lowercase, tone-normalised, no spaces around '&'."""
    return re.sub(r"\s+", "", raw_low)


def _keys_of(name: str) -> tuple[str, ...]:
    """The token keys of a whole name."""
    return tuple(_key_of(norm_low(m.group(0))) for m in _TOKEN.finditer(unicodedata.normalize("NFC", name)))


# Heads of agency-like names not in the directory; the tuple is the lowercase token sequence and
# whether the name may stand alone ("Công an tỉnh", "Tỉnh ủy") or needs a proper-name tail.
_UNKNOWN_HEADS: list[tuple[tuple[str, ...], bool]] = [
    (("ban", "cán", "sự", "đảng"), False),
    (("ban", "quản", "lý", "dự", "án"), False),
    (("ban", "qlda"), False),
    (("ban", "quản", "lý"), False),
    (("đảng", "bộ"), False),
    (("ủy", "ban"), False),
    (("hội", "đồng"), False),
    (("văn", "phòng"), False),
    (("liên", "minh"), False),
    (("liên", "đoàn"), False),
    (("liên", "hiệp"), False),
    (("công", "an"), True),
    (("trung", "tâm"), False),
    (("chi", "cục"), False),
    (("thanh", "tra"), True),
    (("kho", "bạc"), True),
    (("ngân", "hàng"), False),
    (("tổng", "công", "ty"), False),
    (("công", "ty"), False),
    (("trạm",), False),
    (("hiệp", "hội"), False),
    (("tỉnh", "ủy"), True),
    (("huyện", "ủy"), True),
    (("thành", "ủy"), True),
    (("thị", "ủy"), True),
    (("đảng", "ủy"), True),
    (("thường", "trực"), False),
    (("tỉnh", "đoàn"), True),
    (("mặt", "trận"), False),
    (("sở",), False),
    (("ban",), False),
    (("hội",), False),
    (("ubnd",), False),
    (("hđnd",), False),
    (("ubmttq",), False),
    (("đài",), False),
    (("báo",), False),
    (("bộ",), False),
    (("cục",), False),
    (("viện",), False),
    (("trường",), False),
    (("quỹ",), False),
    (("đoàn",), False),
    (("phòng",), False),
]
# Heads that are complete nouns: a lowercase name of their field follows, up to a level word or a place
# (level_bounded_tail). Heads of management boards, centres and stations followed by a lowercase word are read the
# same way ("Ban Quản lý rừng phòng hộ Đa Nhim", "Trung tâm y tế huyện").
_DESCRIPTIVE_HEADS = {("ban", "quản", "lý", "dự", "án"), ("ban", "qlda")}
_LOWER_TAIL_HEADS = {("ban", "quản", "lý"), ("trung", "tâm"), ("trạm",), ("chi", "cục")}


def _counterpart(doc: Doc, toks: list[_Tok], covered: list[bool], m: Mention, k: int) -> Mention:
    """m, or the lower level's body when a level word (and a place) follows m's last token k."""
    level = lower_level_words(doc.text, toks, k + 1)
    if not level:
        return m
    j = k + 1 + level
    while spaced(doc.text, toks, j) and not covered[j] and toks[j].raw[:1].isupper() and toks[j].raw[1:2].islower():
        j += 1  # the place: "Hội Nông dân huyện Chợ Lách"
    for x in range(k + 1, j):
        covered[x] = True
    return Mention(m.start, toks[j - 1].end, doc.text[m.start : toks[j - 1].end], None, False, (), None)


class AgencyMatcher:
    """Finds directory names (longest match, Unicode- and tone-insensitive) and unknown agency-like names."""

    def __init__(self, directory: AgencyDirectoryLike, body_types: BodyTypeCatalog | None = None):
        self.directory = directory
        # The national list of standard body types, so a body of another province is known by its type.
        self.standard = StandardBodies(body_types, _keys_of) if body_types is not None else None
        self.index: dict[tuple[str, ...], _Entry] = {}
        for agency in directory.agencies:
            names = [agency.name, *([agency.short_name] if agency.short_name else []), *agency.aliases]
            if re.fullmatch(r"[A-ZĐ]{3,}", agency.code):
                names.append(agency.code)
            for name in names:
                for form in written_forms(name):  # "Sở NN&PTNT" = "Sở Nông nghiệp và PTNT" = …
                    self._add(form, agency.code, False, (agency.code,))
        for group in directory.groups:
            for name in [group.name, *group.aliases]:
                for form in written_forms(name):
                    self._add(form, group.code, True, tuple(group.members))
        self.max_len = max((len(k) for k in self.index), default=1)
        # The longest name starting with each first word: most words start no name, and are skipped at once.
        self.max_len_by_head: dict[str, int] = {}
        for keys in self.index:
            self.max_len_by_head[keys[0]] = max(self.max_len_by_head.get(keys[0], 0), len(keys))
        # First words of body names: a comma before one of them ends an unknown name ("Công an tỉnh, Viện …").
        # "đồng chí …" and "phó …" start persons' titles, and place names such as Đồng Văn: not heads.
        heads = {h[0] for h, _ in _UNKNOWN_HEADS} | {k[0] for k, e in self.index.items() if not e.case_sensitive}
        self.heads = heads - {"đồng", "phó"}

    def _add(self, name: str, code: str, is_group: bool, members: tuple[str, ...]) -> None:
        """Index one name under its token keys (first name wins, as in the directory)."""
        nfc = unicodedata.normalize("NFC", name)
        toks = [m.group(0) for m in _TOKEN.finditer(nfc)]
        if not toks:
            return
        keys = tuple(_key_of(norm_low(t)) for t in toks)
        head = keys[0]
        case_sensitive = head not in _INSTITUTION_HEADS
        self.index.setdefault(keys, _Entry(code, is_group, members, nfc, tuple(toks), case_sensitive))

    def tokens(self, doc: Doc, start: int, end: int) -> list[_Tok]:
        """Words of doc[start:end]."""
        return [
            _Tok(start + m.start(), start + m.end(), m.group(0), _key_of(doc.low[start + m.start() : start + m.end()]))
            for m in _TOKEN.finditer(doc.text[start:end])
        ]

    @staticmethod
    def _case_ok(entry: _Entry, toks: list[_Tok]) -> bool:
        """For case-sensitive names: abbreviations must be upper case, words must keep their capitals."""
        if not entry.case_sensitive:
            return True
        for want, tok in zip(entry.raw_tokens, toks, strict=True):
            if len(want) > 1 and want.isupper():
                if not tok.raw.isupper():
                    return False
            elif want[:1].isupper() != tok.raw[:1].isupper():
                return False
        return True

    def find(self, doc: Doc, start: int, end: int) -> list[Mention]:
        """Every known and unknown agency name in doc[start:end], left to right, not overlapping."""
        toks = self.tokens(doc, start, end)
        soft = [True] + [bool(_SOFT_GAP.match(doc.text[toks[i - 1].end : toks[i].start])) for i in range(1, len(toks))]
        covered = [False] * len(toks)
        out = self._known_names(doc, toks, soft, covered)
        out = self._absorb_sub_bodies(doc, toks, soft, covered, out)
        out = self._lower_level_counterparts(doc, toks, covered, out)
        out = self._collectives(doc, start, end, toks, covered, out)
        out += self._unknown_names(doc, toks, soft, covered)
        out.sort(key=lambda m: m.start)
        out = join_parent_units(doc, share_places(doc, out, self.resolve_name))
        if self.standard is not None:
            for m in out:
                if m.code is None and not m.generic:
                    m.body_type = self.standard.classify(_keys_of(m.surface))
        return out

    def resolve_name(self, name: str) -> tuple[str, bool, tuple[str, ...]] | None:
        """(code, is_group, members) of a name the directory lists in exactly this form, else None."""
        doc = Doc.of(name)
        toks = self.tokens(doc, 0, len(doc.text))
        hit = self._longest_entry(toks, [True] * len(toks), 0) if toks else None
        if hit is None or hit[0] != len(toks):
            return None
        return hit[1].code, hit[1].is_group, hit[1].members

    def _longest_entry(self, toks: list[_Tok], soft: list[bool], i: int) -> tuple[int, _Entry] | None:
        """The longest directory name starting at token i whose words are joined by soft gaps only."""
        for n in range(min(self.max_len_by_head.get(toks[i].key, 0), len(toks) - i), 0, -1):
            if not all(soft[i + k] for k in range(1, n)):
                continue
            entry = self.index.get(tuple(t.key for t in toks[i : i + n]))
            if entry and self._case_ok(entry, toks[i : i + n]):
                return n, entry
        return None

    def _known_names(self, doc: Doc, toks: list[_Tok], soft: list[bool], covered: list[bool]) -> list[Mention]:
        """Directory names, longest first at each position, marking their tokens covered."""
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            hit = self._longest_entry(toks, soft, i)
            if hit is None:
                i += 1
                continue
            n, entry = hit
            s, e = toks[i].start, toks[i + n - 1].end
            out.append(Mention(s, e, doc.text[s:e], entry.code, entry.is_group, entry.members, entry.alias))
            for k in range(i, i + n):
                covered[k] = True
            i += n
        return out

    @staticmethod
    def _collectives(
        doc: Doc, start: int, end: int, toks: list[_Tok], covered: list[bool], found: list[Mention]
    ) -> list[Mention]:
        """Collective phrases as generic mentions; one that runs past a directory group replaces the group."""
        out = list(found)
        for s, e in collective_spans(doc, start, end):
            if doc.text[max(0, s - 6) : s].endswith("Khối "):
                continue  # "Đảng bộ Khối các cơ quan tỉnh": part of a bloc's name, not a collective
            inside = [m for m in out if m.start < e and s < m.end]
            if any(not m.is_group for m in inside) or any(m.start <= s and e <= m.end for m in inside):
                continue  # names a listed body, or is (part of) a directory group: the directory decides
            out = [m for m in out if m not in inside]
            out.append(Mention(s, e, doc.text[s:e], None, False, (), None, generic=True))
            for k, t in enumerate(toks):
                if s <= t.start < e:
                    covered[k] = True
        return out

    def _unknown_names(self, doc: Doc, toks: list[_Tok], soft: list[bool], covered: list[bool]) -> list[Mention]:
        """Agency-like names outside the directory among the tokens not yet covered (see unknown_names)."""
        tails = [
            TailToken(t.raw, t.key, doc.text[toks[k - 1].end : t.start] if k else "", covered[k])
            for k, t in enumerate(toks)
        ]
        out: list[Mention] = []
        i = 0
        while i < len(toks):
            found = None if covered[i] else self._unknown_end(toks, soft, covered, tails, i)
            if found is None:
                i += 1
                continue
            j, place, head_end = found
            s, e = toks[sub_body_start(toks, soft, covered, i)].start, toks[j - 1].end
            out.append(Mention(s, e, doc.text[s:e], None, False, (), None))
            if place:
                # "UBND huyện Na Hang, Lâm Bình": each further place is a body of the same head.
                place_start = next(k for k in range(head_end, j) if toks[k].raw[:1].isupper())
                head = doc.text[s : toks[place_start].start]
                for a, b in shared_head_siblings(tails, j, self.heads):
                    ss, se = toks[a].start, toks[b - 1].end
                    out.append(Mention(ss, se, head + doc.text[ss:se], None, False, (), None))
                    j = b
            i = j
        return out

    @staticmethod
    def _absorb_sub_bodies(
        doc: Doc, toks: list[_Tok], soft: list[bool], covered: list[bool], found: list[Mention]
    ) -> list[Mention]:
        """'Đảng đoàn Hội Nông dân tỉnh', 'Văn phòng UBND tỉnh': a sub-body is another body, unknown unless listed."""
        starts = {t.start: k for k, t in enumerate(toks)}
        out = []
        for m in found:
            k = starts.get(m.start)
            replaced = False
            if m.code is not None and k is not None:
                for prefix in SUB_BODY_PREFIXES:
                    n = len(prefix)
                    j = k - n
                    if j < 0 or tuple(t.key for t in toks[j:k]) != prefix or not toks[j].raw[:1].isupper():
                        continue
                    if any(covered[x] for x in range(j, k)) or not all(soft[x] for x in range(j + 1, k + 1)):
                        continue
                    s = toks[j].start
                    end_tok = next((x for x in range(k, len(toks)) if toks[x].end == m.end), k)
                    end_tok = hyphen_compound_end(doc.text, toks, covered, end_tok)
                    # "Phòng Nông nghiệp và Phát triển nông thôn huyện": keep the level word.
                    while (
                        end_tok + 1 < len(toks)
                        and soft[end_tok + 1]
                        and toks[end_tok + 1].key in ("huyện", "tỉnh", "thành", "phố", "thị", "xã")
                    ):
                        end_tok += 1
                        covered[end_tok] = True
                    end_tok = branch_end(doc.text, toks, covered, end_tok)
                    e = toks[end_tok].end
                    out.append(Mention(s, e, doc.text[s:e], None, False, (), None))
                    for x in range(j, k):
                        covered[x] = True
                    replaced = True
                    break
            if not replaced:
                out.append(m)
        return out

    def _lower_level_counterparts(
        self, doc: Doc, toks: list[_Tok], covered: list[bool], found: list[Mention]
    ) -> list[Mention]:
        """'Hội Nông dân huyện', 'Ban Tuyên giáo Huyện ủy': a provincial body's name before a lower level word
        names that level's counterpart, another body (unknown unless the directory lists it under its full name).
        """
        ends = {t.end: k for k, t in enumerate(toks)}
        by_start = {m.start: m for m in found}
        merged: set[int] = set()
        out: list[Mention] = []
        for m in found:
            if id(m) in merged:
                continue
            k = ends.get(m.end)
            agency = self.directory.by_code.get(m.code or "")
            if k is None or m.is_group or agency is None or agency.kind.startswith("district"):
                out.append(m)
                continue
            nxt = by_start.get(toks[k + 1].start) if spaced(doc.text, toks, k + 1) else None
            nxt_agency = self.directory.by_code.get(nxt.code or "") if nxt is not None else None
            if nxt is not None and nxt_agency is not None and nxt_agency.kind == "district_party_committee":
                # "Ban Tuyên giáo" + "Huyện ủy Tân Yên": the district committee's own board.
                merged.add(id(nxt))
                out.append(Mention(m.start, nxt.end, doc.text[m.start : nxt.end], None, False, (), None))
                continue
            plural_end = plural_counterpart_end(doc.text, toks, covered, k)
            if plural_end is None:
                out.append(_counterpart(doc, toks, covered, m, k))
                continue
            # The level words may have matched a name of their own ("các huyện ủy" as the district committees).
            merged |= {id(by_start[t.start]) for t in toks[k + 1 : plural_end] if t.start in by_start}
            e = toks[plural_end - 1].end
            out.append(Mention(m.start, e, doc.text[m.start : e], None, False, (), None, generic=True))
        return out

    def _unknown_end(
        self, toks: list[_Tok], soft: list[bool], covered: list[bool], tails: list[TailToken], i: int
    ) -> tuple[int, bool, int] | None:
        """(end index, ends in a place, index past the head) of an agency-like name starting at token i, or None."""
        if not toks[i].raw[:1].isupper():
            return None
        standard = self._standard_end(toks, soft, covered, tails, i)
        return longer_reading(standard, self._generic_end(soft, covered, tails, i), tails)

    def _generic_end(
        self, soft: list[bool], covered: list[bool], tails: list[TailToken], i: int
    ) -> tuple[int, bool, int] | None:
        """(end index, ends in a place, index past the head) of a name read by the generic head rules, or None."""
        for head, alone in _UNKNOWN_HEADS:
            n = len(head)
            if i + n > len(tails) or tuple(t.key for t in tails[i : i + n]) != head:
                continue
            if any(covered[k] or not soft[k] for k in range(i + 1, i + n)):
                continue
            lower_next = i + n < len(tails) and tails[i + n].raw.islower()
            descriptive = (
                level_bounded_tail(tails, i + n)
                if head in _DESCRIPTIVE_HEADS or (lower_next and head in _LOWER_TAIL_HEADS)
                else None
            )
            if descriptive is not None:
                return descriptive, False, i + n
            j, place = tail_end(tails, i + n, self.heads)
            if j == i + n and not alone:
                return None
            return j, place, i + n
        return None

    def _standard_end(
        self, toks: list[_Tok], soft: list[bool], covered: list[bool], tails: list[TailToken], i: int
    ) -> tuple[int, bool, int] | None:
        """Like _unknown_end, for a standard body name at token i: the whole standard name, then its place."""
        longest = self.standard.max_len_by_head.get(toks[i].key, 0) if self.standard is not None else 0
        if not longest or self.standard is None:
            return None  # most words start no standard name
        # Only words joined by soft gaps and not yet part of another name can belong to the standard name.
        limit = 1
        while limit < longest and i + limit < len(toks) and soft[i + limit] and not covered[i + limit]:
            limit += 1
        found = self.standard.longest_at([t.key for t in toks[i : i + limit]], 0)
        if found is None:
            return None
        n, match = found
        # A complete standard name goes on only over a place ("tỉnh Quảng Nam"), never over lowercase words.
        j, place = tail_end(tails, i + n, self.heads)
        if j == i + n and match.level is BodyLevel.province_or_district:
            return None  # "UBND", "Hội Nông dân" alone name no one body: the generic rules decide
        return j, place, i + n
