"""Issue dates of press summaries and portal articles, which state no date of their own in a header.

Two rules, tried after the header and the closing source line:
- cited_source_date: "Văn phòng UBND tỉnh vừa ban hành Thông báo số 245/TB-VP ngày 15/7/2024 …" — the article
  summarises that document, whose date is the date of the conclusions; its number stays the cited document's.
- dateline_date: the article's opening date, "Chiều 14/8/2023, …" or a dateline "Đà Lạt, 03/4/2024 – …".
"""

from __future__ import annotations

import re
from datetime import date

from domain.notice_parser.document import Doc
from domain.notice_parser.models import MetaValue

# "(vừa|đã) ban hành/có Thông báo (kết luận) số N ngày D" anywhere in the opening of the text.
_CITED_SOURCE = re.compile(
    r"(?:vừa|đã|mới)\s+(?:ban\s+hành|có|gửi)\s+(?:Thông\s+báo|Công\s+văn|Văn\s+bản|Kết\s+luận)(?:\s+kết\s+luận)?"
    r"\s+số\s*:?\s*(?P<n>\d{1,5}\s*[-/]\s*[A-ZĐ][A-ZĐ0-9/\-.]*?)\s*,?\s*(?:ngày|ban\s+hành\s+ngày)\s+"
    r"(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})",
    re.IGNORECASE,
)
# How far into the text a press summary names the document it summarises.
_CITED_SOURCE_REACH = 3000
# "Chiều 14/8/2023," or "Sáng ngày 3/4/2024," opening a paragraph.
_TIME_OF_DAY_DATE = re.compile(
    r"\W*(?:Sáng|Chiều|Tối|Trưa)\s+(?:nay\s*\(|ngày\s+)?(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})"
)
# "Đà Lạt, 03/4/2024 –" or "**Hà Giang, ngày 12/7/2024** -": a dateline of capitalised place words.
_DATELINE = re.compile(
    r"\W*(?P<place>[^\W\d_]+(?:\s+[^\W\d_]+){0,3})\s*,\s*(?:ngày\s+)?"
    r"(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})\W{0,4}\s*[-–—]"
)


def _day(d: str, m: str, y: str) -> date | None:
    """A date from its parts, None when it does not exist."""
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def cited_source_date(doc: Doc, start: int) -> MetaValue:
    """The date of the document a press summary says was issued ("vừa ban hành Thông báo số … ngày …")."""
    m = _CITED_SOURCE.search(doc.text, start, min(len(doc.text), start + _CITED_SOURCE_REACH))
    day = _day(m["d"], m["m"], m["y"]) if m else None
    if m is None or day is None:
        return MetaValue(confidence=0.0)
    number = re.sub(r"\s+", "", m["n"]).rstrip(".-/")
    return MetaValue(
        value=day.isoformat(),
        raw=m.group(0),
        confidence=0.7,
        span=doc.span(m.start(), m.end()),
        note=f"bài tóm tắt không ghi ngày ban hành; đây là ngày của văn bản được tóm tắt (số {number})",
    )


def dateline_date(line: str) -> re.Match[str] | None:
    """The opening date of an article's paragraph ("Chiều 14/8/2023, …", "Đà Lạt, 03/4/2024 – …"), else None."""
    m = _TIME_OF_DAY_DATE.match(line)
    if m:
        return m
    m = _DATELINE.match(line)
    if m and all(w[:1].isupper() for w in m["place"].split()):
        return m
    return None
