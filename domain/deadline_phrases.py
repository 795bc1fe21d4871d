"""Vietnamese deadline phrases → structured rules; scanning directive text for deadline expressions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.deadlines import (
    CalendarDaysRule,
    DeadlineRule,
    Every,
    FixedDateRule,
    MeetingRule,
    OngoingRule,
    Recurrence,
    UrgentRule,
    WithinHalfYearRule,
    WithinMonthRule,
    WithinQuarterRule,
    WithinYearRule,
    WorkingDaysRule,
)
from domain.text import normalize_vietnamese
from domain.workdays import format_date_vi


class UnparseableDeadline(ValueError):
    """A phrase that is not understood as a deadline; reason_vi says why, in Vietnamese."""

    def __init__(self, phrase: str, reason_vi: str):
        self.phrase = phrase
        self.reason_vi = reason_vi
        super().__init__(f"Không hiểu được hạn «{phrase}»: {reason_vi}")


class ParsedDeadline(BaseModel):
    """What a phrase means: a rule and/or a recurrence, with how sure the parser is."""

    model_config = ConfigDict(frozen=True)

    phrase: str
    rule: DeadlineRule | None = None
    recurrence: Recurrence | None = None
    confidence: float


class FoundDeadline(BaseModel):
    """A deadline or recurrence expression found in a text, with its span in the NFC text."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    phrase: str
    parsed: ParsedDeadline | None = None
    error: str | None = None


# --- regex building blocks ----------------------------------------------------------------------

_S = r"\s+"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def _date_re(p: str) -> str:
    """A date as 30/9/2022, 30-9-2022, 30.9.2022, '30 tháng 9 năm 2022' (year optional); groups prefixed p."""
    numeric = (
        rf"(?P<{p}d>\d{{1,2}})(?P<{p}sep>[/.\-])(?P<{p}m>\d{{1,2}})"
        rf"(?:(?P={p}sep)(?P<{p}y>\d{{4}}))?(?![/.\-]?\d)"
    )
    words = rf"(?P<{p}wd>\d{{1,2}}){_S}tháng{_S}(?P<{p}wm>\d{{1,2}})(?:{_S}năm{_S}(?P<{p}wy>\d{{4}}))?(?!\s*[/\d])"
    return rf"(?:ngày{_S})?(?:{numeric}|{words})"


_MONTH_YEAR = r"(?P<m>\d{1,2})(?:(?:\s*/\s*|\s+năm\s+)(?P<y>\d{4})|(?![/.\-]?\d)(?!\s+năm\s+\d))"
_QUARTER_YEAR = r"(?P<q>iv|iii|ii|i|[1-4])(?!\w)(?:(?:\s*/\s*|\s+năm\s+)(?P<y>\d{4})|(?![/.\-]?\d)(?!\s+năm\s+\d))"
_NUM = r"(?P<n>\d{1,3})(?:\s*\([^()\n]{1,30}\))?"
_SINCE = (
    rf"(?P<since>\s*,?\s*(?:kể{_S})?từ{_S}(?:"
    rf"{_date_re('s')}"
    rf"|ngày{_S}(?P<since_sign>ký|ban{_S}hành)(?:{_S}(?:văn{_S}bản|thông{_S}báo|kết{_S}luận))?(?:{_S}này)?"
    rf"|ngày{_S}(?P<since_recv>nhận{_S}được)(?:{_S}(?:văn{_S}bản|thông{_S}báo|kết{_S}luận|yêu{_S}cầu))?(?:{_S}này)?"
    rf"))?"
)
_MEETING_HALL = r"(?:hội\s+nghị|phiên\s+họp|kỳ\s+họp|cuộc\s+họp)"
_BODY = r"(?P<body>(?:(?!hội\s+nghị|phiên|kỳ\s+họp|cuộc\s+họp|thường\s+kỳ|tháng)[^\n,.;:()])+?)"
_MEETING_CUE = r"(?:tại|trước|trình|tới|ở)\s+"
# "đến hết năm 2023": the period's end is the deadline, as with "trong năm 2023".
_PERIOD_CUE = r"(?:trong\s+(?:(?:thời\s+gian|khoảng|suốt|cả)\s+)?|chậm\s+nhất\s+(?:là\s+)?(?:trong\s+)?|đến\s+hết\s+)"
# A time of day between the cue and the date ("trước 16 giờ ngày 14/9/2024", "chậm nhất 10h00, ngày …").
_TIME_OF_DAY = r"(?:\d{1,2}\s*(?:giờ|h)(?:\s*\d{1,2}(?:\s*phút)?)?\s*,?\s*(?=ngày\s))?"
# "trước ngày khai giảng 05/9/2023": an event's name between "ngày" and a full date.
_NAMED_DAY = r"(?:ngày(?:\s+(?!\d)\w+){1,3}\s+(?=\d{1,2}/\d{1,2}/\d{4}))?"
# "đến ngày 30/6/2024 phải đạt …" sets a date; "tính đến ngày …" only dates a figure.
_FIXED_CUE = (
    r"(?:trước|chậm\s+nhất(?:\s+là)?(?:\s+(?:vào|trước|trong))?|hạn\s+chót(?:\s+là)?|"
    r"(?:hoàn\s+thành|xong)\s+(?:trong|vào)|đến\s+hết|trong|(?<!tính\s)đến(?=\s+ngày\s))\s+"
    rf"{_TIME_OF_DAY}{_NAMED_DAY}"
)
_DAYS_CUE = r"(?:trong\s+(?:(?:vòng|thời\s+hạn|khoảng|hạn)\s+)?|chậm\s+nhất\s+(?:là\s+)?(?:sau\s+)?)"
_FREQ_PREFIX = r"(?:định\s+kỳ\s+)?"
_EACH = r"(?:hằng|hàng|mỗi)\s+"
_SIX = r"(?:6|06|sáu)\s+tháng"

# Words that may stand around a recognised expression in a phrase without changing its meaning.
_FILLER = set(
    [
        "hoàn",
        "thành",
        "xong",
        "thực",
        "hiện",
        "báo",
        "cáo",
        "gửi",
        "nộp",
        "trình",
        "kết",
        "quả",
        "và",
        "để",
        "phải",
        "cần",
        "là",
        "vào",
        "việc",
        "về",
        "cho",
        "tổng",
        "hợp",
        "chậm",
        "nhất",
        "hạn",
        "thời",
        "xin",
        "ý",
        "kiến",
        "đúng",
        "đảm",
        "bảo",
        "bảo",
        "hoàn",
        "tất",
        "giải",
        "quyết",
        "xử",
        "lý",
    ]
)


@dataclass(frozen=True)
class _Hit:
    """One regex hit turned into meaning (or an error)."""

    rule: DeadlineRule | None
    recurrence: Recurrence | None
    confidence: float
    error: str | None = None


Builder = Callable[[re.Match[str], "date | None"], _Hit]


@dataclass(frozen=True)
class _Pattern:
    """A named regex with the builder that reads its groups."""

    name: str
    find: re.Pattern[str]
    loose: re.Pattern[str]
    build: Builder


def _compile(body: str, cue: str | None) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Compile a pattern for scanning text (cue required) and for whole phrases (cue optional)."""
    flags = re.IGNORECASE | re.UNICODE
    body = unicodedata.normalize("NFC", body)
    if cue is None:
        strict = loose = rf"(?<!\w){body}(?!\w)"
    else:
        cue = unicodedata.normalize("NFC", cue)
        strict = rf"(?<!\w){cue}{body}(?!\w)"
        loose = rf"(?<!\w)(?:{cue})?{body}(?!\w)"
    return re.compile(strict, flags), re.compile(loose, flags)


# --- builders -----------------------------------------------------------------------------------


class _Problem(Exception):
    """Raised inside builders; becomes an error on the hit."""


def _year(raw: str | None, reference: date | None) -> tuple[int, bool]:
    """Return (year, taken_from_reference) or raise _Problem when there is no year to take."""
    if raw:
        return int(raw), False
    if reference is None:
        raise _Problem("không ghi năm và không có ngày ban hành thông báo để suy ra năm")
    return reference.year, True


def _date_from(m: re.Match[str], p: str, reference: date | None, *, allow_past: bool = False) -> tuple[date, bool]:
    """Read a date captured by _date_re(p); a year-less date before the reference is refused unless allow_past."""
    g = m.groupdict()
    if g.get(f"{p}d"):
        d, mo, y = g[f"{p}d"], g[f"{p}m"], g[f"{p}y"]
    else:
        d, mo, y = g[f"{p}wd"], g[f"{p}wm"], g[f"{p}wy"]
    year, inferred = _year(y, reference)
    try:
        value = date(year, int(mo), int(d))
    except ValueError:
        raise _Problem(f"ngày {d}/{mo}/{year} không tồn tại") from None
    if inferred and not allow_past and reference is not None and value < reference:
        raise _Problem(
            f"ngày {int(d)}/{int(mo)} không ghi năm và đã qua so với ngày thông báo {format_date_vi(reference)}; "
            "không rõ là năm nào"
        )
    return value, inferred


def _safe(fn: Callable[[re.Match[str], date | None], _Hit]) -> Builder:
    """Turn _Problem raised by a builder into an error hit."""

    def wrapped(m: re.Match[str], reference: date | None) -> _Hit:
        try:
            return fn(m, reference)
        except _Problem as exc:
            return _Hit(None, None, 0.0, str(exc))

    return wrapped


@_safe
def _build_fixed(m: re.Match[str], reference: date | None) -> _Hit:
    """'trước ngày 30/9/2022' → fixed date."""
    value, inferred = _date_from(m, "f", reference)
    return _Hit(FixedDateRule(date=value, year_from_reference=inferred), None, 0.8 if inferred else 0.95)


def _check_period_end(end: date, inferred: bool, reference: date | None, label: str) -> None:
    """Refuse a year-less period that already ended before the notice date."""
    if inferred and reference is not None and end < reference:
        raise _Problem(f"{label} không ghi năm và đã qua so với ngày thông báo {format_date_vi(reference)}")


@_safe
def _build_month(m: re.Match[str], reference: date | None) -> _Hit:
    """'trong tháng 10/2022' → within month."""
    month = int(m["m"])
    if not 1 <= month <= 12:
        raise _Problem(f"tháng {month} không tồn tại")
    year, inferred = _year(m["y"], reference)
    end = date(year + month // 12, month % 12 + 1, 1)
    _check_period_end(date.fromordinal(end.toordinal() - 1), inferred, reference, f"tháng {month}")
    return _Hit(WithinMonthRule(year=year, month=month, year_from_reference=inferred), None, 0.75 if inferred else 0.9)


@_safe
def _build_quarter(m: re.Match[str], reference: date | None) -> _Hit:
    """'trong quý IV/2022', 'quý 4 năm 2022' → within quarter."""
    raw = m["q"].lower()
    quarter = _ROMAN[raw] if raw in _ROMAN else int(raw)
    year, inferred = _year(m["y"], reference)
    end_month = 3 * quarter
    end = date(year + end_month // 12, end_month % 12 + 1, 1)
    _check_period_end(date.fromordinal(end.toordinal() - 1), inferred, reference, f"quý {quarter}")
    return _Hit(
        WithinQuarterRule(year=year, quarter=quarter, year_from_reference=inferred), None, 0.75 if inferred else 0.9
    )


@_safe
def _build_half(m: re.Match[str], reference: date | None) -> _Hit:
    """'6 tháng đầu năm 2023' / '6 tháng cuối năm' → within half-year."""
    half = 1 if m["which"].lower() == "đầu" else 2
    year, inferred = _year(m["y"], reference)
    end = date(year, 6, 30) if half == 1 else date(year, 12, 31)
    _check_period_end(end, inferred, reference, "6 tháng " + m["which"].lower() + " năm")
    return _Hit(WithinHalfYearRule(year=year, half=half, year_from_reference=inferred), None, 0.75 if inferred else 0.9)


@_safe
def _build_year(m: re.Match[str], reference: date | None) -> _Hit:
    """'trong năm 2023' → within year."""
    return _Hit(WithinYearRule(year=int(m["y"])), None, 0.85)


@_safe
def _build_meeting(m: re.Match[str], reference: date | None) -> _Hit:
    """'tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022' → meeting."""
    month = int(m["m"])
    if not 1 <= month <= 12:
        raise _Problem(f"tháng {month} không tồn tại")
    year, inferred = _year(m["y"], reference)
    body = m.groupdict().get("body")
    body = re.sub(r"^của\s+", "", body.strip(), flags=re.IGNORECASE) if body else None
    confidence = 0.85 if body else 0.7
    return _Hit(MeetingRule(body=body or None, year=year, month=month), None, confidence - (0.1 if inferred else 0.0))


def _days_builder(working: bool) -> Builder:
    """Build 'trong N ngày (làm việc) [kể từ …]'."""

    @_safe
    def build(m: re.Match[str], reference: date | None) -> _Hit:
        n = int(m["n"])
        if n < 1:
            raise _Problem("số ngày phải lớn hơn 0")
        since: date | None = None
        confidence = 0.9
        if m["sd"] or m["swd"]:
            since, inferred = _date_from(m, "s", reference, allow_past=True)
            confidence = 0.8 if inferred else 0.9
        elif m["since_recv"]:
            confidence = 0.75  # counted from the notice date; the receipt date is not known here
        cls = WorkingDaysRule if working else CalendarDaysRule
        return _Hit(cls(days=n, since=since), None, confidence)

    return build


@_safe
def _build_urgent(m: re.Match[str], reference: date | None) -> _Hit:
    """'khẩn trương' → urgent (policy default)."""
    return _Hit(UrgentRule(), None, 0.7)


@_safe
def _build_ongoing(m: re.Match[str], reference: date | None) -> _Hit:
    """'tiếp tục', 'thường xuyên' → standing task."""
    return _Hit(OngoingRule(), None, 0.8)


def _recurrence_builder(every: Every) -> Builder:
    """Build a recurrence of the given frequency."""

    @_safe
    def build(m: re.Match[str], reference: date | None) -> _Hit:
        return _Hit(None, Recurrence(every=every), 0.9)

    return build


@_safe
def _build_unspecified(m: re.Match[str], reference: date | None) -> _Hit:
    """'định kỳ … báo cáo' without a frequency: found, but cannot be turned into a schedule."""
    raise _Problem("«định kỳ» nhưng không nêu chu kỳ (hằng tháng, hằng quý, 6 tháng, hằng năm); cần xác định chu kỳ")


@_safe
def _build_meeting_unspecified(m: re.Match[str], reference: date | None) -> _Hit:
    """'trước kỳ họp HĐND tỉnh cuối năm': a meeting deadline whose month the text does not give."""
    raise _Problem("hạn là một kỳ họp nhưng văn bản không nêu tháng họp; cần nhập ngày họp hoặc tháng họp")


@_safe
def _build_weekly(m: re.Match[str], reference: date | None) -> _Hit:
    """'hằng tuần': found, but report schedules run by month, quarter, half-year or year only."""
    raise _Problem(
        "chu kỳ «hằng tuần» chưa được hỗ trợ (chỉ theo dõi báo cáo hằng tháng, hằng quý, 6 tháng, hằng năm); "
        "cần xác định chu kỳ theo dõi"
    )


def _pattern(name: str, body: str, cue: str | None, build: Builder) -> _Pattern:
    """Make a _Pattern."""
    strict, loose = _compile(body, cue)
    return _Pattern(name, strict, loose, build)


_PATTERNS: tuple[_Pattern, ...] = (
    _pattern("fixed_date", _date_re("f"), _FIXED_CUE, _build_fixed),
    _pattern("month", rf"tháng{_S}{_MONTH_YEAR}", _PERIOD_CUE, _build_month),
    _pattern("quarter", rf"qu[ýí]{_S}{_QUARTER_YEAR}", _PERIOD_CUE, _build_quarter),
    _pattern(
        "half_year",
        rf"{_SIX}{_S}(?P<which>đầu|cuối){_S}năm(?:{_S}(?P<y>\d{{4}})(?!\s*[-–]\s*\d))?",
        _PERIOD_CUE,
        _build_half,
    ),
    _pattern("year", r"năm\s+(?P<y>\d{4})(?!\s*[-–/]\s*\d)", _PERIOD_CUE, _build_year),
    _pattern(
        "meeting",
        rf"{_MEETING_HALL}{_S}{_BODY}{_S}(?:(?:phiên|kỳ\s+họp|cuộc\s+họp){_S}(?:họp{_S})?)?thường{_S}kỳ{_S}tháng{_S}{_MONTH_YEAR}",
        _MEETING_CUE,
        _build_meeting,
    ),
    _pattern(
        "meeting",
        rf"(?P<body>[^\n,.;:()]{{3,60}}?){_S}(?:tại|ở){_S}{_MEETING_HALL}(?:{_S}thường{_S}kỳ)?{_S}tháng{_S}{_MONTH_YEAR}",
        r"(?:trình|báo\s+cáo)\s+",
        _build_meeting,
    ),
    _pattern(
        "meeting",
        rf"{_MEETING_HALL}{_S}(?:thường{_S}kỳ{_S})?tháng{_S}{_MONTH_YEAR}(?:{_S}(?P<body>của{_S}[^\n,.;:()]{{1,60}}?)(?=\s*[\n,.;:()]|\s*$))?",
        _MEETING_CUE,
        _build_meeting,
    ),
    _pattern(
        "meeting_unspecified",
        rf"{_MEETING_HALL}(?![^\n.;]{{0,80}}?tháng{_S}\d)(?:{_S}[^\s,.;:()]+){{1,6}}",
        r"trước\s+",
        _build_meeting_unspecified,
    ),
    _pattern("working_days", rf"{_NUM}{_S}ngày{_S}làm{_S}việc{_SINCE}", _DAYS_CUE, _days_builder(True)),
    _pattern(
        "calendar_days",
        rf"{_NUM}{_S}ngày(?!\s+làm\s+việc)(?!\s+\d)(?!\s+(?:đầu|cuối|trong|tháng)){_SINCE}",
        _DAYS_CUE,
        _days_builder(False),
    ),
    _pattern("urgent", rf"khẩn{_S}trương", None, _build_urgent),
    _pattern("ongoing", rf"tiếp{_S}tục|thường{_S}xuyên", None, _build_ongoing),
    _pattern("recurrence", rf"{_FREQ_PREFIX}{_EACH}tháng", None, _recurrence_builder("month")),
    _pattern("recurrence", rf"{_FREQ_PREFIX}{_EACH}qu[ýí]", None, _recurrence_builder("quarter")),
    _pattern(
        "recurrence",
        rf"định{_S}kỳ{_S}(?:{_EACH})?{_SIX}(?:{_S}(?:một|1){_S}lần|\s*/\s*lần)?(?!\s+(?:đầu|cuối))"
        rf"|{_EACH}{_SIX}(?!\s+(?:đầu|cuối))|{_SIX}(?:{_S}(?:một|1){_S}lần|\s*/\s*lần)",
        None,
        _recurrence_builder("half_year"),
    ),
    _pattern("recurrence", rf"{_FREQ_PREFIX}{_EACH}năm", None, _recurrence_builder("year")),
    _pattern("recurrence_weekly", rf"{_FREQ_PREFIX}{_EACH}tuần", None, _build_weekly),
    _pattern(
        "recurrence_unspecified",
        rf"định{_S}kỳ(?!\s+(?:hằng|hàng|mỗi|6|06|sáu)\b)[^.;\n]{{0,80}}?báo{_S}cáo"
        rf"|báo{_S}cáo{_S}định{_S}kỳ(?!\s+(?:hằng|hàng|mỗi|6|06|sáu)\b)",
        None,
        _build_unspecified,
    ),
)


# --- scanning -----------------------------------------------------------------------------------


def _prepare(text: str) -> str:
    """Return NFC text with new-style tone placement (same length as NFC, so spans stay valid)."""
    nfc = unicodedata.normalize("NFC", text)
    norm = normalize_vietnamese(nfc)
    return norm if len(norm) == len(nfc) else nfc


@dataclass(frozen=True)
class _Span:
    """A chosen match."""

    start: int
    end: int
    hit: _Hit
    name: str


def _scan(norm: str, reference: date | None, loose: bool) -> list[_Span]:
    """Find every pattern hit, then keep the longest non-overlapping ones, leftmost first."""
    candidates: list[_Span] = []
    for pattern in _PATTERNS:
        regex = pattern.loose if loose else pattern.find
        for m in regex.finditer(norm):
            candidates.append(_Span(m.start(), m.end(), pattern.build(m, reference), pattern.name))
    candidates.sort(key=lambda s: (s.start, -(s.end - s.start)))
    chosen: list[_Span] = []
    for span in candidates:
        if chosen and span.start < chosen[-1].end:
            continue
        chosen.append(span)
    return chosen


def find_deadlines(text: str, *, reference: date | None = None) -> list[FoundDeadline]:
    """Find deadline and recurrence expressions in a directive's text (cited documents' dates are ignored).

    Spans index the NFC form of text (the same as text when it is already NFC). An expression that is
    recognised but cannot be resolved (no year and no reference, "định kỳ" without a frequency) is
    returned with parsed=None and error set, so the caller can ask a person.
    """
    norm = _prepare(text)
    out: list[FoundDeadline] = []
    for span in _scan(norm, reference, loose=False):
        phrase = norm[span.start : span.end]
        hit = span.hit
        parsed = None
        if hit.error is None:
            parsed = ParsedDeadline(phrase=phrase, rule=hit.rule, recurrence=hit.recurrence, confidence=hit.confidence)
        out.append(FoundDeadline(start=span.start, end=span.end, phrase=phrase, parsed=parsed, error=hit.error))
    return out


_QUALIFIERS = ("urgent", "ongoing")


def parse_deadline(phrase: str, *, reference: date | None = None) -> ParsedDeadline:
    """Parse one deadline phrase into a rule and/or recurrence; raise UnparseableDeadline when unsure."""
    norm = _prepare(phrase).strip()
    if not norm:
        raise UnparseableDeadline(phrase, "cụm từ trống")
    spans = _scan(norm, reference, loose=True)
    if not spans:
        raise UnparseableDeadline(phrase, "không nhận ra cách ghi thời hạn nào")
    leftover_parts = []
    cursor = 0
    for span in spans:
        leftover_parts.append(norm[cursor : span.start])
        cursor = span.end
    leftover_parts.append(norm[cursor:])
    unknown = [w for w in re.findall(r"\w+", " ".join(leftover_parts)) if w.casefold() not in _FILLER]
    if unknown:
        raise UnparseableDeadline(phrase, f"có phần không hiểu được: «{' '.join(unknown)}»")
    for span in spans:
        if span.hit.error:
            raise UnparseableDeadline(phrase, span.hit.error)
    rules = [s.hit.rule for s in spans if s.hit.rule is not None]
    recurrences = [s.hit.recurrence for s in spans if s.hit.recurrence is not None]
    if len(recurrences) > 1:
        raise UnparseableDeadline(phrase, "có nhiều chu kỳ báo cáo khác nhau")
    kept = spans
    if len(rules) > 1:
        # "khẩn trương … trước ngày X": the named deadline decides; the qualifier adds nothing.
        kept = [s for s in spans if s.hit.rule is None or s.hit.rule.kind not in _QUALIFIERS] or spans
        rules = [s.hit.rule for s in kept if s.hit.rule is not None]
    if len(rules) > 1:
        shown = ", ".join(norm[s.start : s.end] for s in kept if s.hit.rule is not None)
        raise UnparseableDeadline(phrase, f"có nhiều thời hạn khác nhau: {shown}")
    return ParsedDeadline(
        phrase=phrase,
        rule=rules[0] if rules else None,
        recurrence=recurrences[0] if recurrences else None,
        confidence=min(s.hit.confidence for s in kept),
    )
