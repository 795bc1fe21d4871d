"""Where a body's name ends, in three cases the generic tail rules read too short (issue 16, batch 2).

Each function is a named rule: a standard name is a floor, not a ceiling (`longer_reading`); a hyphen joins a
compound field to a sub-body's name (`hyphen_compound_end`); a provincial body's name before "các" and level words
names its lower-level counterparts (`plural_counterpart_end`). They take the matcher's words and return indices.
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


def _spaced(text: str, words: Sequence[Word], k: int) -> bool:
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
    if _spaced(text, words, j + 1) and words[j + 1].raw.islower() and words[j + 1].key not in UNIT_WORDS:
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
    if (
        words[k].key == "tỉnh"
        or not _spaced(text, words, j)
        or words[j].key != "các"
        or not _spaced(text, words, j + 1)
    ):
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
