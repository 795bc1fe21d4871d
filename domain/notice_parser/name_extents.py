"""Where a body's name starts and ends, where the generic tail rules alone read it wrong.

Each function is a named rule: a standard name is a floor, not a ceiling (`longer_reading`); a hyphen joins a
compound field to a sub-body's name (`hyphen_compound_end`); a provincial body's name before "các" and level words
names its lower-level counterparts (`plural_counterpart_end`); a sub-body prefix starts the name
(`sub_body_start`); a branch goes on with its place (`branch_end`); level words name a lower level
(`lower_level_words`). They take the matcher's words and return indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.notice_parser.unknown_names import UNIT_WORDS, TailToken


class Word(Protocol):
    """A word of the text as the agency matcher holds it."""

    start: int
    end: int
    raw: str
    key: str


def _gap(text: str, words: Sequence[Word], k: int) -> str:
    """The text between word k - 1 and word k."""
    return text[words[k - 1].end : words[k].start]


def spaced(text: str, words: Sequence[Word], k: int) -> bool:
    """True when only spaces separate word k from the one before it."""
    return 0 < k < len(words) and _gap(text, words, k) in (" ", "\u00a0")


def longer_reading(
    standard: tuple[int, bool, int] | None, generic: tuple[int, bool, int] | None, tails: Sequence[TailToken]
) -> tuple[int, bool, int] | None:
    """Rule `standard_name_is_a_floor`: a standard name keeps at least its own words, and the generic reading of
    the same name goes further when what it adds is closed by a place or a level word ("Ban Quản lý Khu kinh tế
    cửa khẩu Đồng Đăng - Lạng Sơn", "Ban Quản lý dự án … giao thông và nông nghiệp tỉnh"); lowercase words
    that end nowhere are the predicate ("Sở Giáo dục và Đào tạo căn cứ diễn biến …"), so the standard name stays.
    """
    if standard is None or generic is None:
        return standard or generic
    if generic[0] <= standard[0]:
        return standard
    last = tails[generic[0] - 1]
    closed = last.raw[:1].isupper() or last.key in UNIT_WORDS
    return generic if closed else standard


_HYPHENS = (" - ", " – ", "-", "–")
# Head words of another body: after a hyphen they start it ("Phòng Tài chính - Sở Tài chính").
_HYPHEN_STOP_HEADS = {"sở", "ban", "ubnd", "ủy", "hội", "phòng", "chi", "trung", "văn", "công", "cục", "đảng"}


def hyphen_compound_end(text: str, words: Sequence[Word], covered: list[bool], k: int) -> int:
    """Rule `hyphen_joins_a_compound_name`: last word of a sub-body name whose field goes on after a hyphen.

    "Phòng Tài chính - Kế hoạch", "Phòng Văn hóa - Thông tin": a hyphen, then a capitalised word and the one
    lowercase syllable that completes it, are part of the name, not the end of "Phòng Tài chính"; a hyphen
    before another body's head word ("Phòng Tài chính - Sở Tài chính") still separates them.
    """
    j = k + 1
    if j >= len(words) or covered[j] or _gap(text, words, j) not in _HYPHENS:
        return k
    if not words[j].raw[:1].isupper() or words[j].key in _HYPHEN_STOP_HEADS:
        return k
    if spaced(text, words, j + 1) and words[j + 1].raw.islower() and words[j + 1].key not in UNIT_WORDS:
        j += 1
    for x in range(k + 1, j + 1):
        covered[x] = True
    return j


# Words of the lower levels a plural counterpart lists: "các huyện ủy, thành ủy", "các xã, phường", "các cấp".
_PLURAL_LEVEL_WORDS = {"huyện", "ủy", "uỷ", "thành", "thị", "xã", "phường", "quận", "trấn", "phố", "cấp"}


def plural_counterpart_end(text: str, words: Sequence[Word], covered: list[bool], k: int) -> int | None:
    """Rule `plural_level_counterpart`: index past the phrase when the name ending at word k goes on with "các"
    and level words, else None. "Ban Dân vận các huyện ủy, thành ủy", "Hội Nông dân các cấp", "Hội Liên hiệp Phụ
    nữ các xã, thị trấn" name the counterparts at those levels, several bodies the text does not list: one
    flagged generic assignee, not the provincial body.
    """
    j = k + 1
    if words[k].key == "tỉnh" or not spaced(text, words, j) or words[j].key != "các" or not spaced(text, words, j + 1):
        return None  # "Hội Nông dân tỉnh các …": a body named with its own level is that body
    j += 1
    while j < len(words) and words[j].key in _PLURAL_LEVEL_WORDS:
        if _gap(text, words, j) not in (" ", "\u00a0", ", ") and words[j - 1].key != "các":
            break
        j += 1
    if j == k + 2:
        return None  # "các" before something else ("Sở Y tế các tỉnh bạn", "… các đơn vị"): not a level
    for x in range(k + 1, j):
        covered[x] = True
    return j


# Sub-body prefixes: "Đảng đoàn Hội đồng nhân dân tỉnh" is the party group of that council, a body of its own.
SUB_BODY_PREFIXES = [
    ("ban", "cán", "sự", "đảng"),
    ("ban", "thường", "vụ"),
    ("ban", "chấp", "hành"),
    ("đảng", "đoàn"),
    ("văn", "phòng"),
    ("đảng", "ủy"),
    ("chi", "bộ"),
    ("phòng",),
    ("chi", "cục"),
    ("trung", "tâm"),
    ("ngân", "hàng"),
]


def sub_body_start(words: Sequence[Word], soft: list[bool], covered: list[bool], i: int) -> int:
    """Index of a sub-body prefix ("Đảng đoàn", "Ban cán sự đảng") right before an unknown name at i, else i.

    "Đảng đoàn Hội đồng nhân dân tỉnh" is the party group of that council, a body of its own, as for directory names.
    """
    for prefix in SUB_BODY_PREFIXES:
        k = i - len(prefix)
        if k < 0 or tuple(t.key for t in words[k:i]) != prefix or not words[k].raw[:1].isupper():
            continue
        if not any(covered[x] for x in range(k, i)) and all(soft[x] for x in range(k + 1, i + 1)):
            return k
    return i


def branch_end(text: str, words: Sequence[Word], covered: list[bool], k: int) -> int:
    """Last token of a name that goes on with its branch ("… chi nhánh Gia Lai", "… chi nhánh tỉnh"), else k."""
    if not (spaced(text, words, k + 1) and spaced(text, words, k + 2)):
        return k
    if (words[k + 1].key, words[k + 2].key) != ("chi", "nhánh"):
        return k
    j = k + 3
    while spaced(text, words, j) and not covered[j] and (words[j].raw[:1].isupper() or words[j].key in UNIT_WORDS):
        j += 1
    if j == k + 3:
        return k
    for x in range(k + 1, j):
        covered[x] = True
    return j - 1


# Level words below the province, as (first word, words that may follow it): "huyện", "thị xã", "Huyện ủy" …
_LOWER_LEVELS = {
    "huyện": ("ủy", "uỷ"),
    "xã": (),
    "quận": (),
    "phường": (),
    "thị": ("xã", "trấn", "ủy", "uỷ"),
    "thành": ("phố", "ủy", "uỷ"),
    "đảng": ("ủy", "uỷ"),
}


def lower_level_words(text: str, words: Sequence[Word], k: int) -> int:
    """How many words at k name a level below the province ("huyện", "thị xã", "Huyện ủy"); 0 when none."""
    if not spaced(text, words, k) or words[k].key not in _LOWER_LEVELS:
        return 0
    follow = _LOWER_LEVELS[words[k].key]
    nxt = words[k + 1].key if spaced(text, words, k + 1) else ""
    if nxt in follow:
        return 2
    return 0 if words[k].key in ("thị", "thành", "đảng") else 1
