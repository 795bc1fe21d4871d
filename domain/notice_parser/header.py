"""The header and title block: the notice's number, date, title and issuer, and where the body starts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.notice_parser.agencies import AgencyMatcher, Mention
from domain.notice_parser.document import (
    Doc,
    clean,
    ends_sentence,
    is_syllable,
    lower_same_length,
    norm_low,
    vi_pattern,
)
from domain.notice_parser.genre import Genre, genre_of
from domain.notice_parser.models import MetaValue
from domain.notice_parser.press_dates import cited_source_date, dateline_date
from domain.notice_parser.structure import SEPARATOR, marker_of

_NUMBER = re.compile(
    r"(?:^|[\s\t|*])S[ốỐ]\s*:?\s*(?P<n>\d{1,5}\s*[-/]\s*[A-ZĐ]{1,6}(?:\s*[-/.]\s*[A-ZĐ0-9]{1,12}){0,3})"
)
_CITED_NUMBER = re.compile(r"\d{1,5}\s*[-/]\s*[A-ZĐ]{1,6}(?:[-/.][A-ZĐ0-9]{1,12}){0,3}")
_DATE_WORDS = re.compile(r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})", re.I)
_DATE_NUM = re.compile(r"ngày\s+(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})", re.I)
_TITLE_MARK = vi_pattern(r"^\s*(?:\*\*|__|#+\s*)?\s*(?:thông\s+báo|kết\s+luận|ý\s+kiến\s+chỉ\s+đạo)\b")
_SUBJECT_LINE = vi_pattern(r"^\s*(?:\*\*|__)?\s*v/v\b")
_BOILERPLATE = vi_pattern(
    r"^(?:xuất\s+bản\s+thông\s+tin|trang\s+chủ|tin\s+tức|chia\s+sẻ|in\s+bài|bản\s+in|cổng\s+thông\s+tin|lượt\s+xem"
    r"|cỡ\s+chữ|đọc\s+bài|nghe\s+bài|tin\s+liên\s+quan)\b"
)
# "Kính gửi:" and the addressee lines under it: recipients of the letter, never the body.
_ADDRESSEES = vi_pattern(r"^\s*(?:\*\*|__)?\s*kính\s+gửi\b")
# A date that is a deadline, never the issue date ("trước ngày 20/3/2024", "hạn …", "chậm nhất …").
_DEADLINE_BEFORE = vi_pattern(r"(?<!\w)(?:trước|hạn|chậm\s+nhất|đến|từ|xong|hết)\s*(?:ngày\s*)?$")
# "(Theo Công văn số 1187/UBND-KT, ngày 05/3/2024)" closing a portal article: the source document.
_SOURCE_NOTE = re.compile(
    r"\(?\s*(?:Theo|Nguồn:?)\s+(?:Công văn|Thông báo|Văn bản|Kết luận)\s+số\s*(?P<n>\d{1,5}\s*[-/]\s*[A-ZĐ][A-ZĐ0-9/\-.]*?)"
    r"\s*,?\s*ngày\s+(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})",
    re.I,
)
_BODY_CUE = vi_pattern(
    r"^\s*(?:\*\*|__)?\s*(?:(?:sáng|chiều|tối)\s+)?(?:ngày\s+\d|vừa\s+qua|căn\s+cứ|(?:thực\s+hiện|tại)\s.{150,}|trong\s+(?:các\s+)?ngày|từ\s+ngày|sau\s+khi|tham\s+dự|cùng\s+dự|ban\s+thường\s+vụ[^,]{0,40}đã|thường\s+trực[^,]{0,40}đã)"
)


def _mkdate(d: str, m: str, y: str) -> date | None:
    """A date or None when it does not exist."""
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


@dataclass
class Header:
    """What the header and title give, and where the body starts."""

    number: MetaValue
    date: MetaValue
    title: MetaValue
    issuer: MetaValue
    body_first: int
    has_marker: bool
    genre: Genre


# Institutional words written with capitals in titles even when the body is not in the directory.
_TITLE_WORDS = [
    "Ban Thường vụ",
    "Ban Chấp hành",
    "Thường trực",
    "Tỉnh ủy",
    "Huyện ủy",
    "Thành ủy",
    "Thị ủy",
    "Đảng ủy",
    "Đảng bộ",
    "Ủy ban nhân dân",
    "Hội đồng nhân dân",
    "Phó Bí thư",
    "Bí thư",
    "Phó Chủ tịch",
    "Chủ tịch",
    "Đề án",
    "Nghị quyết",
    "Chỉ thị",
    "Kết luận",
    "Chương trình",
    "Đại hội",
    "Hội nghị",
    "Trung ương",
    "Việt Nam",
]


def _recase(line: str, matcher: AgencyMatcher, province: str) -> str:
    """Turn an ALL-CAPS title line into sentence case, restoring agency names and acronyms."""
    letters = [c for c in line if c.isalpha()]
    if not letters or any(c.islower() for c in letters):
        return line
    words = re.split(r"(\W+)", line)
    out = []
    for w in words:
        if w and w[0].isalpha() and (not is_syllable(w) or re.fullmatch(r"[IVXLC]+", w)):
            out.append(w)  # acronym (OCOP, HTX) or Roman numeral
        else:
            out.append(lower_same_length(w))
    text = "".join(out)
    doc = Doc.of(text)
    pieces, last = [], 0
    for m in matcher.find(doc, 0, len(text)):
        if m.canonical and len(m.canonical) == m.end - m.start:
            pieces += [text[last : m.start], m.canonical]
            last = m.end
    pieces.append(text[last:])
    text = "".join(pieces)
    for word in _TITLE_WORDS:
        text = re.sub(r"(?<!\w)" + re.escape(lower_same_length(word)) + r"(?!\w)", word, text)
    return re.sub(re.escape(lower_same_length(province)), province, text)


_HEADING_PREFIX = re.compile(r"^\s*(?:#{1,6}|>)\s*")
_NOTICE_WORDS = vi_pattern(r"kết\s+luận|thông\s+báo")
_BARE_NOTICE = vi_pattern(r"thông\s+báo")
_TITLE_STARTS = ("thông báo kết luận", "kết luận của", "thông báo ý kiến", "thông báo số")
_NUMBER_IN_TITLE = re.compile(
    r"(?i)\s*(?:thông báo(?: kết luận)?|kết luận)\s+số\s*:?\s*(" + _CITED_NUMBER.pattern + ")"
)
_CITED_DOCUMENT_BEFORE = re.compile(r"số\s*\S*\s*$", re.I)
_INTRO_DATE_NUM = re.compile(
    r"\W*(?:(?:Sáng|Chiều|Tối|sáng|chiều|tối)\s+)?(?:[Nn]gày)\s+(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})"
)
_INTRO_DATE_WORDS = re.compile(
    r"\W*(?:(?:Sáng|Chiều|Tối|sáng|chiều|tối)\s+)?[Nn]gày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})"
)
_CONCLUSION_OF = vi_pattern(r"kết\s+luận\s+(?:của\s+)?")
_CONCLUDES = vi_pattern(
    r"\bkết\s+luận\s*(?:như\s+sau|:)|\b(?:có\s+)?ý\s+kiến(?:\s+chỉ\s+đạo)?\s*(?:như\s+sau|:)|\bchỉ\s+đạo\s*(?:như\s+sau|:)"
)
# How far into the text the title ("THÔNG BÁO", "KẾT LUẬN CỦA …") is looked for.
_TITLE_SEARCH_LINES = 60


def _heading_text(line: str) -> str:
    """A line without its Markdown heading or quote mark, whitespace collapsed."""
    return clean(_HEADING_PREFIX.sub("", line))


def _title_line(doc: Doc) -> int | None:
    """The line of the title marker ("THÔNG BÁO", "KẾT LUẬN CỦA …", "Ý KIẾN CHỈ ĐẠO"), or None (a letter, a summary)."""
    limit = min(doc.nlines, _TITLE_SEARCH_LINES)
    for i in range(limit):
        text = _heading_text(doc.line(i))
        if not text:
            continue
        low = norm_low(text)
        if _TITLE_MARK.match(low) and (text.upper() == text or low.startswith(_TITLE_STARTS)):
            return i
    return None


def subject_line(doc: Doc) -> int | None:
    """The "V/v …" subject line of an official letter (Công văn), in the first lines."""
    for i in range(min(doc.nlines, _TITLE_SEARCH_LINES)):
        if _SUBJECT_LINE.match(doc.low[doc.line_starts[i] : doc.line_end(i)]):
            return i
    return None


def is_portal_boilerplate(line: str) -> bool:
    """True for a web portal's furniture pasted with an article ("Xuất bản thông tin", "Trang chủ > Tin tức")."""
    low = norm_low(clean(line))
    return bool(_BOILERPLATE.match(low)) or low.count(">") >= 2 or low.count("|") >= 2


def headline_line(doc: Doc) -> int | None:
    """The headline of a text with no title marker and no "V/v" line: its first short line, portal furniture aside."""
    for i in range(min(doc.nlines, 12)):
        text = _heading_text(doc.line(i))
        if not text or is_portal_boilerplate(text):
            continue
        if len(text) <= 200 and not text.endswith((".", ":")) and not marker_of(doc.line(i)):
            return i
        return None
    return None


def _title_block(doc: Doc, title_line: int) -> tuple[list[int], int]:
    """The title's lines (the marker line minus a bare "THÔNG BÁO", then short lines) and the first line after."""
    title_lines: list[int] = []
    i = title_line
    bare = bool(_BARE_NOTICE.fullmatch(norm_low(clean(doc.line(i))).strip(" .:*#")))
    if not bare:
        title_lines.append(i)
    i += 1
    while bare and i < doc.nlines and not clean(doc.line(i)):
        i += 1
    if not title_lines and i < doc.nlines:
        title_lines.append(i)
        i += 1
    while i < doc.nlines and len(title_lines) < 8:
        text = clean(doc.line(i))
        if (
            not text
            or SEPARATOR.match(doc.line(i))
            or len(text) > 240
            or _BODY_CUE.match(norm_low(text))
            or marker_of(doc.line(i))
        ):
            break
        last = clean(doc.line(title_lines[-1]))
        if ends_sentence(last) and last.endswith((".", ":")):
            break
        title_lines.append(i)
        i += 1
    return title_lines, i


def _number(doc: Doc, header_zone: range, title_lines: list[int], title_text: str) -> MetaValue:
    """ "Số 1061-TB/TU" in the header zone (never a number cited in the body), else "Thông báo số …" in the title."""
    for i in header_zone:
        m = _NUMBER.search(clean(doc.line(i)).replace("**", ""))
        if m:
            n = re.sub(r"\s+", "", m.group("n"))
            pos = doc.line(i).find(m.group("n").split()[0][:3])
            s = doc.line_starts[i] + max(pos, 0)
            return MetaValue(value=n, raw=m.group(0).strip(), confidence=0.95, span=doc.span(s, s + len(m.group("n"))))
    if title_lines:
        m = _NUMBER_IN_TITLE.match(title_text)
        if m:
            s = doc.line_starts[title_lines[0]]
            return MetaValue(
                value=re.sub(r"\s+", "", m.group(1)),
                raw=m.group(0),
                confidence=0.85,
                span=doc.span(s, doc.line_end(title_lines[0])),
            )
    return MetaValue(confidence=0.0)


def _header_date(doc: Doc, header_zone: range, title_lines: list[int], number: MetaValue) -> MetaValue:
    """ "Bắc Giang, ngày 23 tháng 5 năm 2022" in the header, else in the title; never a cited document's date."""
    blocks = [(0, doc.line_end(header_zone[-1]) if len(header_zone) else 0, 0.95)]
    if title_lines:
        blocks.append((doc.line_starts[title_lines[0]], doc.line_end(title_lines[-1]), 0.85))
    for bs, be, base in blocks:
        block = doc.text[bs:be]
        for rx, conf in ((_DATE_WORDS, base), (_DATE_NUM, base - 0.05)):
            for m in rx.finditer(block):
                line_no = doc.line_of(bs + m.start())
                own_number_line = number.span is not None and number.span.line_start == line_no + 1
                before = doc.text[doc.line_starts[line_no] : bs + m.start()]
                if not own_number_line and _CITED_DOCUMENT_BEFORE.search(before):
                    continue  # the date of a cited document ("Nghị quyết số … ngày …")
                if is_deadline_date(doc.low[max(bs, bs + m.start() - 40) : bs + m.start()]):
                    continue
                d = _mkdate(m["d"], m["m"], m["y"])
                if d:
                    s = bs + m.start()
                    return MetaValue(
                        value=d.isoformat(),
                        raw=" ".join(m.group(0).split()),
                        confidence=conf,
                        span=doc.span(s, s + len(m.group(0))),
                    )
    return MetaValue(confidence=0.0)


def is_deadline_date(before_low: str) -> bool:
    """True when the words before a date make it a deadline ("trước ngày", "hạn", "chậm nhất"): never the issue date."""
    return bool(_DEADLINE_BEFORE.search(before_low.rstrip()))


def _intro_date(doc: Doc, body_first: int) -> MetaValue:
    """The meeting date that opens the intro ("Ngày 08/10/2023, …"), when the header has none."""
    for i in range(body_first, min(doc.nlines, body_first + 12)):
        line = doc.line(i)
        if not line.strip():
            continue
        mm = _INTRO_DATE_NUM.match(line) or _INTRO_DATE_WORDS.match(line) or dateline_date(line)
        d = _mkdate(mm.group("d"), mm.group("m"), mm.group("y")) if mm else None
        if mm and d:
            s = doc.line_starts[i] + mm.start("d")
            return MetaValue(
                value=d.isoformat(),
                raw=mm.group(0).strip(),
                confidence=0.6,
                span=doc.span(s, doc.line_starts[i] + mm.end()),
                note="văn bản không ghi ngày ban hành ở phần đầu; đây là ngày họp/làm việc nêu ở đoạn mở đầu",
            )
        break
    return MetaValue(confidence=0.0)


def _title(doc: Doc, matcher: AgencyMatcher, title_lines: list[int], title_text: str, has_marker: bool) -> MetaValue:
    """The title in sentence case, agency names and acronyms restored, without a leading "Thông báo"."""
    if not title_lines:
        return MetaValue(confidence=0.0)
    province = matcher.directory.province
    pieces = [_recase(_heading_text(doc.line(i)), matcher, province) for i in title_lines]
    text = " ".join(p for p in pieces if p).strip()
    text = re.sub(r"^(?:thông báo\s+)(?=kết luận)", "", text, flags=re.I)
    text = text[:1].upper() + text[1:]
    s, e = doc.line_starts[title_lines[0]], doc.line_end(title_lines[-1])
    return MetaValue(value=text, raw=title_text, confidence=0.85 if has_marker else 0.5, span=doc.span(s, e))


def _issuer(doc: Doc, matcher: AgencyMatcher, title_lines: list[int], body_first: int) -> MetaValue:
    """ "KẾT LUẬN CỦA <X>" in the title, else "<X> kết luận như sau" in the intro, else the header's first lines.

    An unknown body named in the title is kept (flagged) only when neither later place names a known issuer.
    """
    from_title = MetaValue(confidence=0.0)
    if title_lines:
        s, e = doc.line_starts[title_lines[0]], doc.line_end(title_lines[-1])
        m = _CONCLUSION_OF.search(doc.low[s:e])
        if m:
            found = [x for x in matcher.find(doc, s + m.end(), e) if x.start - (s + m.end()) < 60]
            if found:
                from_title = _issuer_value(found[0], doc, 0.9, "trong tiêu đề «Kết luận của …»")
                if from_title.value is not None:
                    return from_title
    for i in range(body_first, min(doc.nlines, body_first + 30)):
        mm = _CONCLUDES.search(doc.low[doc.line_starts[i] : doc.line_end(i)])
        if mm:
            s = doc.line_starts[i]
            before = [x for x in matcher.find(doc, s, s + mm.start()) if x.code and not x.is_group]
            if before and s + mm.start() - before[-1].end < 6:
                return _issuer_value(before[-1], doc, 0.8, "ở đoạn mở đầu «… kết luận như sau»")
            break
    top = title_lines[0] if title_lines else 0  # no title: the header lines cannot be told from the body
    for i in range(0, top):
        s, e = doc.line_starts[i], doc.line_end(i)
        found = [x for x in matcher.find(doc, s, e) if x.code and not x.is_group]
        if found:
            return _issuer_value(found[0], doc, 0.6, "ở dòng tên cơ quan ban hành (đầu văn bản)")
    return from_title


def skip_addressees(doc: Doc, i: int) -> int:
    """The first line after a "Kính gửi:" block that starts at or after line i (i itself when there is none).

    The addressees of a letter receive it; they are not assigned anything by being listed there.
    """
    j = i
    while j < doc.nlines and not doc.line(j).strip():
        j += 1
    if j >= doc.nlines or not _ADDRESSEES.match(doc.low[doc.line_starts[j] : doc.line_end(j)]):
        return i
    own = clean(doc.line(j)).split(":", 1)[-1].strip()
    j += 1
    if own and own.endswith("."):
        return j
    while j < doc.nlines and doc.line(j).strip() and (marker_of(doc.line(j)) or len(clean(doc.line(j))) < 120):
        j += 1
    return j


def parse_header(doc: Doc, matcher: AgencyMatcher, source_name: str) -> Header:
    """Find the title block (or a letter's "V/v" line, or a headline), number, date, issuer and genre."""
    title_line = _title_line(doc)
    letter_line = subject_line(doc) if title_line is None else None
    if title_line is not None:
        title_lines, body_first = _title_block(doc, title_line)
    elif letter_line is not None:
        title_lines, body_first = _subject_block(doc, letter_line)
    else:
        headline = headline_line(doc)
        title_lines, body_first = ([headline], headline + 1) if headline is not None else ([], 0)
    body_first = skip_addressees(doc, body_first)
    zone_end = title_lines[0] if title_lines else title_line if title_line is not None else 12
    header_zone = range(0, min(zone_end + 1, doc.nlines))
    title_text = " ".join(_heading_text(doc.line(i)) for i in title_lines)
    number = _number(doc, header_zone, title_lines, title_text)
    found_date = _header_date(doc, header_zone, title_lines, number)
    source_number, source_date = _source_note(doc)
    if number.value is None:
        number = source_number
    if found_date.value is None:
        cited = cited_source_date(doc, doc.line_starts[body_first] if body_first < doc.nlines else 0)
        found_date = next((v for v in (source_date, cited) if v.value), None) or _intro_date(doc, body_first)
    has_marker = title_line is not None
    title = _title(doc, matcher, title_lines, title_text, has_marker or letter_line is not None)
    issuer = _issuer(doc, matcher, title_lines, body_first)
    title_low = norm_low(_heading_text(doc.line(title_line))) if title_line is not None else ""
    opening = doc.low[doc.line_starts[body_first] if body_first < doc.nlines else 0 :][:1500]
    genre = genre_of(title_low, opening, letter=letter_line is not None)
    return Header(number, found_date, title, issuer, body_first, has_marker, genre)


def _subject_block(doc: Doc, line: int) -> tuple[list[int], int]:
    """A letter's subject ("V/v …" and its continuation lines) and the first line after it."""
    lines = [line]
    i = line + 1
    while i < doc.nlines and clean(doc.line(i)) and len(lines) < 4 and not _ADDRESSEES.match(norm_low(doc.line(i))):
        if marker_of(doc.line(i)) or ends_sentence(clean(doc.line(lines[-1]))):
            break
        lines.append(i)
        i += 1
    return lines, i


def _source_note(doc: Doc) -> tuple[MetaValue, MetaValue]:
    """Number and date of the document a portal article reproduces ("(Theo Công văn số …, ngày …)")."""
    tail_start = max(0, len(doc.text) - 3000)
    found = list(_SOURCE_NOTE.finditer(doc.text, tail_start))
    if not found:
        return MetaValue(confidence=0.0), MetaValue(confidence=0.0)
    m = found[-1]
    d = _mkdate(m["d"], m["m"], m["y"])
    span = doc.span(m.start(), m.end())
    note = "theo dòng nguồn cuối bài («Theo Công văn số …, ngày …»)"
    number = MetaValue(
        value=re.sub(r"\s+", "", m["n"]).rstrip(".-/"), raw=m.group(0), confidence=0.7, span=span, note=note
    )
    when = MetaValue(
        value=d.isoformat() if d else None, raw=m.group(0), confidence=0.7 if d else 0.0, span=span, note=note
    )
    return number, when


def _issuer_value(m: Mention, doc: Doc, conf: float, where: str) -> MetaValue:
    """A MetaValue for an issuer mention (unknown names keep the raw text, flagged)."""
    if m.code:
        return MetaValue(value=m.code, raw=m.surface, confidence=conf, span=doc.span(m.start, m.end), note=where)
    return MetaValue(
        value=None,
        raw=m.surface,
        confidence=0.3,
        span=doc.span(m.start, m.end),
        note=f"{where}; không có trong danh mục",
    )
