"""Collective and generic assignees: "các đơn vị có liên quan", "các sở, ngành liên quan", "UBND các huyện ven biển".

Such a phrase assigns work to several bodies the text does not list (issue 16 §3). The parser keeps it as a flagged
generic assignment, which a coordinator expands to agencies or a group, instead of dropping it. A phrase that is a
group of the directory ("UBND các huyện, thành phố") stays that group unless the text's phrase runs further.
"""

from __future__ import annotations

import re

from domain.notice_parser.document import Doc, vi_pattern

_NOUN = (
    r"(?:ban\s+qlda|ban\s+quản\s+lý\s+dự\s+án|đơn\s+vị|cơ\s+quan|sở|ban|ngành|đoàn\s+thể|địa\s+phương|huyện\s+ủy|thành\s+ủy|thị\s+ủy|đảng\s+ủy|đảng\s+bộ"
    r"|thành\s+viên(?:\s+ban\s+chỉ\s+đạo)?|chủ\s+đầu\s+tư|tổ\s+chức\s+chính\s+trị\s*-\s*xã\s+hội|tổ\s+chức|huyện|thị\s+xã"
    r"|thành\s+phố|xã|phường|thị\s+trấn|doanh\s+nghiệp|hợp\s+tác\s+xã|hội\s+đoàn\s+thể)"
)
_TAIL = (
    r"(?:\s+(?:(?:có\s+)?liên\s+quan|chuyên\s+ngành|tỉnh|huyện|ven\s+biển|biên\s+giới|trực\s+thuộc(?:\s+tỉnh\s+ủy|\s+huyện\s+ủy)?"
    r"|trên\s+địa\s+bàn(?:\s+tỉnh|\s+huyện)?|là\s+thành\s+viên\s+ban\s+chỉ\s+đạo(?:[^,;.:()]{0,80}?(?=\s+(?:chủ|phối|thực|tăng|tiếp|hỗ|khẩn|theo|rà|kiểm)\b))?))*"
)
_HEAD = (
    r"(?:(?:ủy\s+ban\s+nhân\s+dân|ubnd|đảng\s+ủy|hội\s+nông\s+dân|hội\s+liên\s+hiệp\s+phụ\s+nữ|hội\s+cựu\s+chiến\s+binh"
    r"|đoàn\s+thanh\s+niên|ủy\s+ban\s+mttq|mttq|công\s+an|ban\s+chỉ\s+huy\s+quân\s+sự)\s+)?"
)
COLLECTIVE = vi_pattern(
    rf"(?<!\w){_HEAD}(?:các|những)\s+{_NOUN}(?:\s*,\s*{_NOUN})*(?:\s*(?:,\s*)?và\s+{_NOUN}(?!\s+\S+\s+(?:chủ|phối)))?{_TAIL}(?!\w)"
)
# A bare "các huyện/xã …" under a verb is usually the object of the task ("chỉ đạo các xã vận động …").
_LOWER_LEVEL_ONLY = vi_pattern(r"^(?:các|những)\s+(?:xã|phường|thị\s+trấn)(?:\s*,\s*(?:xã|phường|thị\s+trấn))*$")


# The level nouns after which a collective phrase may list its places ("Đảng ủy các xã Sơn Định, Vĩnh Thành").
_LEVEL_END = vi_pattern(r"(?:huyện|xã|phường|thị\s+trấn|thị\s+xã|thành\s+phố|quận)$")
_PLACE = re.compile(r"[^\W\d_][^\W_]*")
# First words of another body's name or a person's title: they end a list of places ("…, Sở Y tế …").
_NOT_PLACE = {
    "sở",
    "ban",
    "ủy",
    "uỷ",
    "ubnd",
    "hđnd",
    "hội",
    "trung",
    "công",
    "đài",
    "báo",
    "văn",
    "liên",
    "đảng",
    "chi",
    "phòng",
    "viện",
    "cục",
    "kho",
    "ngân",
    "bộ",
    "trường",
    "tỉnh",
    "huyện",
    "mặt",
    "đoàn",
    "giám",
    "chủ",
    "phó",
    "bí",
    "các",
    "thường",
}


def listed_places_end(text: str, e: int, end: int) -> int:
    """End of a list of capitalised place names right after e ("các xã Sơn Định, Vĩnh Thành và Long Thới"), else e.

    Each place is one or more capitalised words; places are joined by "," or "và". The list must start with a space.
    """
    at, last = e, e
    sep = re.compile(r"\s+và\s+|\s*,\s*| ")
    first = True
    while at < end:
        gap = sep.match(text, at, end)
        if gap is None or (first and gap.group(0) != " "):
            break
        word = _PLACE.match(text, gap.end(), end)
        if word is None or not word.group(0)[:1].isupper() or word.group(0).isupper():
            break
        if word.group(0).lower() in _NOT_PLACE:
            break
        at = last = word.end()
        while (nxt := _PLACE.match(text, at + 1, end)) and text[at] == " " and nxt.group(0)[:1].isupper():
            at = last = nxt.end()
        first = False
    return last


def collective_spans(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of collective assignee phrases in doc[start:end], left to right, not overlapping.

    A phrase that ends in a level noun takes the places listed after it: "UBND các huyện Mường Tè, Sìn Hồ" is one
    collective assignment naming its districts, for the coordinator to expand.
    """
    out: list[tuple[int, int]] = []
    for m in COLLECTIVE.finditer(doc.low, start, end):
        if _LOWER_LEVEL_ONLY.match(m.group(0)):
            continue
        s, e = m.start(), m.end()
        while e > s and doc.text[e - 1] in " ,":
            e -= 1
        if _LEVEL_END.search(doc.low[s:e]):
            e = listed_places_end(doc.text, e, end)
        out.append((s, e))
    return out
