"""Collective and generic assignees: "các đơn vị có liên quan", "các sở, ngành liên quan", "UBND các huyện ven biển".

Such a phrase assigns work to several bodies the text does not list (issue 16 §3). The parser keeps it as a flagged
generic assignment, which a coordinator expands to agencies or a group, instead of dropping it. A phrase that is a
group of the directory ("UBND các huyện, thành phố") stays that group unless the text's phrase runs further.
"""

from __future__ import annotations

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


def collective_spans(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of collective assignee phrases in doc[start:end], left to right, not overlapping."""
    out: list[tuple[int, int]] = []
    for m in COLLECTIVE.finditer(doc.low, start, end):
        if _LOWER_LEVEL_ONLY.match(m.group(0)):
            continue
        s, e = m.start(), m.end()
        while e > s and doc.text[e - 1] in " ,":
            e -= 1
        out.append((s, e))
    return out
