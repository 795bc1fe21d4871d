"""Draft a notice file from the text of a Vietnamese conclusion notice (Thông báo kết luận / Kết luận).

Pure logic: text in, a reviewable draft out. Every value carries a confidence and the span it came
from. Spans index the NFC form of the input (line numbers are the same in any normal form).

The genre, in short: a header (issuer, number "Số 1061-TB/TU", "Bắc Giang, ngày … tháng … năm …"),
a title ("THÔNG BÁO / KẾT LUẬN CỦA …"), an intro ("… kết luận như sau:"), narrative sections
(assessment: "Thời gian qua …", "Tuy nhiên …") and directive sections (numbered "2.1.", "a)", "-",
"+", or unnumbered "Giao …", "Đề nghị …" clauses), a closing formula, then "Nơi nhận" and the
signature. Roles come from the sentence: "X chủ trì, phối hợp với Y" (X lead, Y support), "giao X"
(X lead), "X phối hợp" (X support), the subject of its own clause (lead); bodies that only receive
reports or advice ("báo cáo Thường trực Tỉnh ủy") are not assignees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from domain.deadline_phrases import find_deadlines
from domain.text import normalize_vietnamese

if TYPE_CHECKING:
    from config.agencies import AgencyDirectory

Role = Literal["lead", "support"]
MentionRole = Literal["lead", "support", "recipient", "other"]

REVIEW_THRESHOLD = 0.75


class NoticeParseError(ValueError):
    """Text that cannot be drafted as a notice; reason_vi says why in Vietnamese, line where known."""

    def __init__(self, source_name: str, reason_vi: str, line: int | None = None):
        self.source_name = source_name
        self.reason_vi = reason_vi
        self.line = line
        where = f"{source_name}:{line}" if line else source_name
        super().__init__(f"{where}: {reason_vi}")


# --- result models ------------------------------------------------------------------------------


class SourceSpan(BaseModel):
    """Where a value came from: character offsets in the NFC text and 1-based lines."""

    start: int
    end: int
    line_start: int
    line_end: int


class MetaValue(BaseModel):
    """One metadata value with its confidence, source and an optional note for the reviewer."""

    value: str | None = None
    raw: str | None = None
    confidence: float = 0.0
    span: SourceSpan | None = None
    note: str | None = None


class AgencyRefDraft(BaseModel):
    """An agency named in a directive, resolved against the directory (or flagged as unknown)."""

    surface: str = Field(description="The name as the text writes it.")
    code: str | None = Field(default=None, description="Agency or group code; None when unknown.")
    is_group: bool = False
    members: list[str] = Field(default_factory=list)
    known: bool = True
    role: MentionRole
    confidence: float
    span: SourceSpan
    reason: str = Field(description="Why this role, in Vietnamese.")
    inherited: bool = False
    suggestions: list[str] = Field(default_factory=list)

    @property
    def yaml_agency(self) -> str:
        """What the notice file should name: the code, the group phrase, or the unknown name."""
        if self.known and self.is_group:
            return self.surface
        return self.code if self.known and self.code else self.surface


class DirectiveDeadline(BaseModel):
    """The deadline and recurrence found in one directive."""

    phrase: str | None = None
    rule: dict | None = None
    recurrence: str | None = Field(default=None, description="month, quarter, half_year, year, or 'unspecified'.")
    recurrence_phrase: str | None = None
    priority: Literal["normal", "urgent"] = "normal"
    confidence: float = 0.0
    span: SourceSpan | None = None
    notes: list[str] = Field(default_factory=list)


class ParsedDirective(BaseModel):
    """One directive: number, exact text, position, agencies with roles, deadline; all with confidence."""

    number: str
    label: str | None = Field(
        default=None, description="The marker as written ('2.1.', 'a)', '-'); None if unnumbered."
    )
    synthetic_number: bool = False
    level: int = 1
    text: str
    span: SourceSpan
    confidence: float
    assignments: list[AgencyRefDraft] = Field(default_factory=list)
    mentions: list[AgencyRefDraft] = Field(default_factory=list, description="Named bodies that are not assignees.")
    deadline: DirectiveDeadline = Field(default_factory=DirectiveDeadline)
    review: list[str] = Field(default_factory=list, description="What a person must check, in Vietnamese.")


class NoticeDraftText(BaseModel):
    """The draft of a whole notice, read from text."""

    source_name: str
    number: MetaValue
    number_is_placeholder: bool
    date: MetaValue
    issuer: MetaValue
    title: MetaValue
    monitors: list[AgencyRefDraft] = Field(default_factory=list)
    monitors_note: str | None = None
    directives: list[ParsedDirective]
    warnings: list[str] = Field(default_factory=list)

    @property
    def issued_on(self) -> date | None:
        """The notice date as a date, if found."""
        return date.fromisoformat(self.date.value) if self.date.value else None


# --- text helpers -------------------------------------------------------------------------------


def _lower_same_length(text: str) -> str:
    """Lowercase char by char, keeping offsets (a char whose lowercase is longer stays as is)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _norm_low(text: str) -> str:
    """Return tone-normalised lowercase text with the same length as the NFC input."""
    norm = normalize_vietnamese(text)
    if len(norm) != len(text):
        norm = "".join(normalize_vietnamese(c) if len(normalize_vietnamese(c)) == 1 else c for c in text)
        if len(norm) != len(text):
            norm = text
    return _lower_same_length(norm)


def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a pattern written in Vietnamese against tone-normalised lowercase text."""
    return re.compile(normalize_vietnamese(unicodedata.normalize("NFC", pattern)), flags | re.UNICODE)


def _clean(text: str) -> str:
    """Collapse whitespace and drop Markdown emphasis marks."""
    text = re.sub(r"\*\*|__", "", text)
    return " ".join(text.split())


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?[aăâeêioôơuưy]{1,3}(?:ng|nh|ch|[cmnpt])?$"
)


def _is_syllable(word: str) -> bool:
    """True when word looks like one Vietnamese syllable (so it is not an acronym like OCOP)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if c not in _TONES)
    return bool(_SYLLABLE.match(unicodedata.normalize("NFC", bare)))


@dataclass
class _Doc:
    """The NFC text, its tone-normalised lowercase twin and line offsets."""

    text: str
    low: str
    line_starts: list[int]

    @classmethod
    def of(cls, text: str) -> _Doc:
        """Build from raw text (any normal form, any line ends)."""
        nfc = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).lstrip("\ufeff")
        starts = [0] + [m.end() for m in re.finditer("\n", nfc)]
        return cls(nfc, _norm_low(nfc), starts)

    @property
    def nlines(self) -> int:
        """Number of lines."""
        return len(self.line_starts)

    def line(self, i: int) -> str:
        """Line i (0-based) without its newline."""
        end = self.line_starts[i + 1] - 1 if i + 1 < self.nlines else len(self.text)
        return self.text[self.line_starts[i] : end]

    def line_end(self, i: int) -> int:
        """Offset just past line i's last character."""
        return self.line_starts[i + 1] - 1 if i + 1 < self.nlines else len(self.text)

    def line_of(self, offset: int) -> int:
        """0-based line of an offset."""
        lo, hi = 0, self.nlines - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def span(self, start: int, end: int) -> SourceSpan:
        """A SourceSpan with 1-based lines."""
        return SourceSpan(
            start=start, end=end, line_start=self.line_of(start) + 1, line_end=self.line_of(max(start, end - 1)) + 1
        )


# --- agency mentions ----------------------------------------------------------------------------

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
class _Mention:
    """A name found in the text: known (code) or agency-like but unknown."""

    start: int
    end: int
    surface: str
    code: str | None
    is_group: bool
    members: tuple[str, ...]
    canonical: str | None

    @property
    def key(self) -> str:
        """Identity for merging: the code, else the normalised surface."""
        return self.code or "?" + _norm_low(self.surface)


def _key_of(raw_low: str) -> str:
    """Token key: lowercase, tone-normalised, no spaces around '&'."""
    return re.sub(r"\s+", "", raw_low)


# Heads of agency-like names not in the directory; the tuple is the lowercase token sequence and
# whether the name may stand alone ("Công an tỉnh", "Tỉnh ủy") or needs a proper-name tail.
_UNKNOWN_HEADS: list[tuple[tuple[str, ...], bool]] = [
    (("ban", "cán", "sự", "đảng"), False),
    (("ban", "quản", "lý"), False),
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
_SUB_BODY_PREFIXES = [
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
]
_UNIT_WORDS = {"tỉnh", "huyện", "xã", "quận", "phường", "thị", "trấn", "thành", "phố", "nhân", "dân", "tp"}


class _AgencyMatcher:
    """Finds directory names (longest match, Unicode- and tone-insensitive) and unknown agency-like names."""

    def __init__(self, directory: AgencyDirectory):
        self.directory = directory
        self.index: dict[tuple[str, ...], _Entry] = {}
        for agency in directory.agencies:
            names = [agency.name, *([agency.short_name] if agency.short_name else []), *agency.aliases]
            if re.fullmatch(r"[A-ZĐ]{3,}", agency.code):
                names.append(agency.code)
            for name in names:
                self._add(name, agency.code, False, (agency.code,))
        for group in directory.groups:
            for name in [group.name, *group.aliases]:
                self._add(name, group.code, True, tuple(group.members))
        self.max_len = max((len(k) for k in self.index), default=1)

    def _add(self, name: str, code: str, is_group: bool, members: tuple[str, ...]) -> None:
        """Index one name under its token keys (first name wins, as in the directory)."""
        nfc = unicodedata.normalize("NFC", name)
        toks = [m.group(0) for m in _TOKEN.finditer(nfc)]
        if not toks:
            return
        keys = tuple(_key_of(_norm_low(t)) for t in toks)
        head = keys[0]
        case_sensitive = head not in _INSTITUTION_HEADS
        self.index.setdefault(keys, _Entry(code, is_group, members, nfc, tuple(toks), case_sensitive))

    def tokens(self, doc: _Doc, start: int, end: int) -> list[_Tok]:
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
        for want, tok in zip(entry.raw_tokens, toks):
            if len(want) > 1 and want.isupper():
                if not tok.raw.isupper():
                    return False
            elif want[:1].isupper() != tok.raw[:1].isupper():
                return False
        return True

    def find(self, doc: _Doc, start: int, end: int) -> list[_Mention]:
        """Every known and unknown agency name in doc[start:end], left to right, not overlapping."""
        toks = self.tokens(doc, start, end)
        soft = [True] + [bool(_SOFT_GAP.match(doc.text[toks[i - 1].end : toks[i].start])) for i in range(1, len(toks))]
        out: list[_Mention] = []
        covered = [False] * len(toks)
        i = 0
        while i < len(toks):
            hit = None
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                if not all(soft[i + k] for k in range(1, n)):
                    continue
                entry = self.index.get(tuple(t.key for t in toks[i : i + n]))
                if entry and self._case_ok(entry, toks[i : i + n]):
                    hit = (n, entry)
                    break
            if hit:
                n, entry = hit
                s, e = toks[i].start, toks[i + n - 1].end
                out.append(_Mention(s, e, doc.text[s:e], entry.code, entry.is_group, entry.members, entry.alias))
                for k in range(i, i + n):
                    covered[k] = True
                i += n
            else:
                i += 1
        out = self._absorb_sub_bodies(doc, toks, soft, covered, out)
        i = 0
        while i < len(toks):
            if covered[i]:
                i += 1
                continue
            j = self._unknown_end(toks, soft, covered, i)
            if j is None:
                i += 1
                continue
            s, e = toks[i].start, toks[j - 1].end
            out.append(_Mention(s, e, doc.text[s:e], None, False, (), None))
            i = j
        out.sort(key=lambda m: m.start)
        return out

    @staticmethod
    def _absorb_sub_bodies(
        doc: _Doc, toks: list[_Tok], soft: list[bool], covered: list[bool], found: list[_Mention]
    ) -> list[_Mention]:
        """'Đảng đoàn Hội Nông dân tỉnh', 'Văn phòng UBND tỉnh': a sub-body is another body, unknown unless listed."""
        starts = {t.start: k for k, t in enumerate(toks)}
        out = []
        for m in found:
            k = starts.get(m.start)
            replaced = False
            if m.code is not None and k is not None:
                for prefix in _SUB_BODY_PREFIXES:
                    n = len(prefix)
                    j = k - n
                    if j < 0 or tuple(t.key for t in toks[j:k]) != prefix or not toks[j].raw[:1].isupper():
                        continue
                    if any(covered[x] for x in range(j, k)) or not all(soft[x] for x in range(j + 1, k + 1)):
                        continue
                    s = toks[j].start
                    end_tok = next((x for x in range(k, len(toks)) if toks[x].end == m.end), k)
                    # "Phòng Nông nghiệp và Phát triển nông thôn huyện": keep the level word.
                    while (
                        end_tok + 1 < len(toks)
                        and soft[end_tok + 1]
                        and toks[end_tok + 1].key in ("huyện", "tỉnh", "thành", "phố", "thị", "xã")
                    ):
                        end_tok += 1
                        covered[end_tok] = True
                    e = toks[end_tok].end
                    out.append(_Mention(s, e, doc.text[s:e], None, False, (), None))
                    for x in range(j, k):
                        covered[x] = True
                    replaced = True
                    break
            if not replaced:
                out.append(m)
        return out

    @staticmethod
    def _unknown_end(toks: list[_Tok], soft: list[bool], covered: list[bool], i: int) -> int | None:
        """End index of an agency-like name starting at token i, or None."""
        if not toks[i].raw[:1].isupper():
            return None
        for head, alone in _UNKNOWN_HEADS:
            n = len(head)
            if i + n > len(toks) or tuple(t.key for t in toks[i : i + n]) != head:
                continue
            if any(covered[k] or not soft[k] for k in range(i + 1, i + n)):
                continue
            j = i + n
            prev = "head"
            tail = 0
            while j < len(toks) and soft[j] and not covered[j]:
                raw, key = toks[j].raw, toks[j].key
                if raw[:1].isupper():
                    prev = "abbr" if len(raw) > 1 and raw.isupper() else "cap"
                elif key in _UNIT_WORDS:
                    prev = "unit"
                elif key in ("và", "&") and j + 1 < len(toks) and toks[j + 1].raw[:1].isupper() and soft[j + 1]:
                    prev = "and"
                elif prev == "cap" and raw.islower():
                    prev = "low"
                else:
                    break
                tail += 1
                j += 1
            while j > i + n and toks[j - 1].key in ("và", "&"):
                j -= 1
                tail -= 1
            if tail == 0 and not alone:
                return None
            return j
        return None


# --- roles ----------------------------------------------------------------------------------------

_PERSON_TITLES = _rx(
    r"(?:(?:các\s+)?(?:đồng\s+chí|đ/c)\s+)?(?:(?:phó\s+)?(?:chủ\s+tịch|giám\s+đốc|bí\s+thư|trưởng\s+ban|chánh\s+văn\s+phòng"
    r"|thủ\s+trưởng|người\s+đứng\s+đầu|tập\s+thể\s+lãnh\s+đạo|thường\s+trực|ủy\s+viên)"
    r"(?:\s+(?:các|và|,))*\s*)+$"
)
_PARTNER = _rx(r"phối\s+hợp(?:\s+(?:chặt\s+chẽ|tốt|thường\s+xuyên|đồng\s+bộ|hiệu\s+quả|cùng))*\s*(?:với|cùng)\s*$")
_RECIPIENT = _rx(
    r"(?:(?:báo\s+cáo|trình|gửi|tham\s+mưu|đề\s+xuất|kiến\s+nghị|xin\s+ý\s+kiến|xin\s+chủ\s+trương|phản\s+ánh)"
    r"(?:[\s,]+(?!phối|chủ\s+trì|giao)[^\s;:()]+){0,8}?\s+(?:với|cho|lên|về|tới|đến)"
    r"|(?:báo\s+cáo|trình|gửi\s+về|gửi|tham\s+mưu|đề\s+xuất|kiến\s+nghị|xin\s+ý\s+kiến|xin\s+chủ\s+trương\s+của|thông\s+qua))\s*$"
)
_DIRECTED = _rx(
    r"(?<!được\s)(?:giao(?:\s+nhiệm\s+vụ)?(?:\s+cho)?|đề\s+nghị|yêu\s+cầu|phân\s+công(?:\s+cho)?|ủy\s+quyền(?:\s+cho)?"
    r"|(?P<chain>lãnh\s+đạo|chỉ\s+đạo|lãnh\s+đạo\s*,\s*chỉ\s+đạo))\s*$"
)
_POSSESSIVE = _rx(r"(?:của|theo|thuộc|tại|trên|giữa|với|qua|từ|ở)\s*$")
_SUBJECT_PREFIX = _rx(
    r"^(?:(?:đồng\s+thời|trong\s+đó|trước\s+mắt|riêng|ngoài\s+ra|bên\s+cạnh\s+đó|theo\s+đó|trên\s+cơ\s+sở\s+đó|sau\s+đó"
    r"|cụ\s+thể|cùng\s+với\s+đó|mặt\s+khác|về\s+phía|đối\s+với|tiếp\s+theo|về)\s*[,:]?\s*"
    r"|(?:trong|từ|đến|năm|quý|tháng|để|nhằm|căn\s+cứ|trên\s+cơ\s+sở|theo|sau\s+khi|trước|đối\s+với|về)\b[^,;:]{0,90},\s*)*$"
)
_ADVERBS = _rx(
    r"^(?:[\s,]+|\(|\)|tiếp\s+tục|tăng\s+cường|chủ\s+động|tích\s+cực|khẩn\s+trương|thường\s+xuyên|kịp\s+thời|sớm|cần|phải"
    r"|có\s+trách\s+nhiệm|chịu\s+trách\s+nhiệm|căn\s+cứ\s+chức\s+năng,?\s+nhiệm\s+vụ(?:\s+được\s+giao)?"
    r"|theo\s+chức\s+năng,?\s+nhiệm\s+vụ(?:\s+được\s+giao)?|là\s+cơ\s+quan|làm|nghiêm\s+túc|quyết\s+liệt|tập\s+trung\s+(?=chỉ\s+đạo|phối))"
)
_CHAIR = _rx(r"^(?:chủ\s+trì|thường\s+trực|đầu\s+mối)")
_COOP = _rx(r"^(?:phối\s+hợp|tham\s+gia\s+phối\s+hợp)")
_DIRECTOR_VERB = _rx(r"^(?:lãnh\s+đạo\s*,\s*chỉ\s+đạo|lãnh\s+đạo|chỉ\s+đạo)(?:\s+(?:các|cho))?\s*$")
_ASSIGNER_VERB = _rx(r"^(?:giao|yêu\s+cầu|đề\s+nghị|phân\s+công)(?:\s+(?:các|cho))?\s*$")
_SPEAKER_VERB = _rx(r"^(?:yêu\s+cầu|đề\s+nghị|giao(?!\s+thông)|kết\s+luận|nhấn\s+mạnh|lưu\s+ý|thống\s+nhất|đồng\s+ý)\b")
_PAST = _rx(r"^(?:đã|đang|được|vừa|cơ\s+bản|bước\s+đầu|luôn|có\s+nhiều|đạt|báo\s+cáo\s+(?:tại|về|kết\s+quả\s+tại))\b")
_CONTINUES_ROLE = _rx(r"^[\s,]*\(?\s*(?:chủ\s+trì|phối\s+hợp)\s*\)?\s*[,;]?\s*(?:và\s+)?$")
_LIST_GAP = _rx(r"^(?:[\s,]|và|cùng|hoặc)*$")
_ASSIGN_START = _rx(r"^(?:giao(?:\s+cho)?|đề\s+nghị|yêu\s+cầu|phân\s+công|ủy\s+quyền)\b")


@dataclass
class _Group:
    """Consecutive names joined by commas or 'và' that share one role."""

    members: list[_Mention]
    category: str = "other"  # subject, directed, chain, partner, recipient, other
    reason: str = ""
    quoted: bool = False

    @property
    def start(self) -> int:
        return self.members[0].start

    @property
    def end(self) -> int:
        return self.members[-1].end


@dataclass
class _Assign:
    """A role decided for one name, with its evidence."""

    mention: _Mention
    role: MentionRole
    confidence: float
    reason: str
    inherited: bool = False


def _quoted_ranges(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Ranges inside “…” or "…" quotes (titles of cited documents and schemes)."""
    out = []
    for m in re.finditer(r"“[^”]{0,400}”|\"[^\"\n]{0,400}\"", text[start:end]):
        out.append((start + m.start(), start + m.end()))
    return out


def _sentences(doc: _Doc, start: int, end: int, mentions: list[_Mention]) -> list[tuple[int, int]]:
    """Sentence ranges of doc[start:end]: ends at . ! ? … before a capital, never inside a name."""
    inside = [(m.start, m.end) for m in mentions]
    cuts = [start]
    for m in re.finditer(r"[.!?…]+[\"”’)*]*\s+(?=[\"“(*]*[A-ZĐÀ-ỸÂĂÊÔƠƯ0-9])", doc.text[start:end]):
        pos = start + m.start()
        if any(s <= pos < e for s, e in inside):
            continue
        cuts.append(start + m.end())
    for m in re.finditer(r"\n\s*(?=(?:[-–+•]|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s)", doc.text[start:end]):
        cuts.append(start + m.end())
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in zip(cuts, cuts[1:] + [end]) if doc.text[a:b].strip()]


def _clause_start(doc: _Doc, sent_start: int, pos: int, mentions: list[_Mention]) -> int:
    """Start of the clause (after the last ';' or ':' outside names) that holds pos."""
    seg = doc.text[sent_start:pos]
    for i in range(len(seg) - 1, -1, -1):
        if seg[i] in ";:":
            at = sent_start + i
            if not any(m.start <= at < m.end for m in mentions):
                return at + 1
    return sent_start


def _strip_left(left: str) -> str:
    """Drop list markers, Markdown, quotes and person titles around the left context."""
    t = re.sub(r"[*_“”\"]+", " ", left)
    t = re.sub(r"^\s*(?:[-–+•]|\d+(?:\.\d+)*[.)]|[a-zđ]\))\s+", "", t)
    t = " ".join(t.split())
    return _PERSON_TITLES.sub("", t).strip()


def _categorise(left: str) -> tuple[str, str]:
    """Category of a name from the words before it in its clause, with a Vietnamese reason."""
    t = _strip_left(left)
    if _PARTNER.search(t):
        return "partner", "«phối hợp với»"
    if _RECIPIENT.search(t):
        return "recipient", "nhận báo cáo/tham mưu, không phải cơ quan thực hiện"
    m = _DIRECTED.search(t)
    if m:
        verb = " ".join(m.group(0).split())
        return ("chain" if m.group("chain") else "directed"), f"được «{verb}»"
    if not t or _SUBJECT_PREFIX.match(t):
        return "subject", "chủ ngữ của câu"
    if _POSSESSIVE.search(t):
        return "other", "được nhắc đến (của/theo/tại …), không được giao việc"
    return "other", "là đối tượng của việc làm, không được giao việc"


def _main_verb(rest: str) -> str:
    """The predicate after a name with adverbs ('tiếp tục', 'tăng cường', '(…)') stripped."""
    t = rest
    while True:
        m = _ADVERBS.match(t)
        if not m or m.end() == 0:
            return t.strip()
        t = t[m.end() :]


class _Roles:
    """Decides the role of every name in a directive's text."""

    def __init__(self, doc: _Doc, start: int, end: int, mentions: list[_Mention]):
        self.doc = doc
        self.start = start
        self.end = end
        self.mentions = mentions
        self.quoted = _quoted_ranges(doc.text, start, end)

    def groups(self, s: int, e: int) -> list[_Group]:
        """Names of one sentence grouped into lists."""
        ms = [m for m in self.mentions if s <= m.start < e]
        groups: list[_Group] = []
        for m in ms:
            if (
                groups
                and _LIST_GAP.match(self.doc.low[groups[-1].end : m.start])
                and not self._boundary(groups[-1].end, m.start)
            ):
                groups[-1].members.append(m)
            else:
                groups.append(_Group([m]))
        for g in groups:
            g.quoted = any(a <= g.start and g.end <= b for a, b in self.quoted)
        return groups

    def _boundary(self, a: int, b: int) -> bool:
        """True when a line break with a list marker separates a and b."""
        return bool(re.search(r"\n\s*(?:[-–+•]|\d+[.)]|[a-zđ]\))\s", self.doc.text[a:b]))

    def sentence(
        self, s: int, e: int
    ) -> tuple[list[_Assign], list[tuple[_Group, str]], list[tuple[_Group, _Group | None]]]:
        """Roles in one sentence: assignments, doers (group, kind) and partner links (partner, owner)."""
        groups = self.groups(s, e)
        low = self.doc.low
        for gi, g in enumerate(groups):
            if g.quoted:
                g.category, g.reason = "other", "nằm trong tên văn bản/đề án được trích dẫn"
                continue
            cstart = _clause_start(self.doc, s, g.start, self.mentions)
            anchor = max(cstart, groups[gi - 1].end if gi else s)
            left = low[anchor : g.start]
            if (
                gi
                and anchor == groups[gi - 1].end
                and _CONTINUES_ROLE.match(left)
                and groups[gi - 1].category in ("subject", "directed", "chain")
            ):
                g.category, g.reason = groups[gi - 1].category, groups[gi - 1].reason
                continue
            g.category, g.reason = _categorise(left)
        out: list[_Assign] = []
        doers: list[tuple[_Group, str]] = []
        links: list[tuple[_Group, _Group | None]] = []
        doer_idx = [i for i, g in enumerate(groups) if g.category in ("subject", "directed", "chain")]
        owner: _Group | None = None
        for gi, g in enumerate(groups):
            if g.category in ("subject", "directed", "chain"):
                nxt = next((groups[j] for j in doer_idx if j > gi), None)
                rest_end = nxt.start if nxt else e
                rest = low[g.end : rest_end]
                kind, role, conf, why = self._doer_kind(g, rest, nxt, groups, gi)
                for m in g.members:
                    out.append(_Assign(m, role, conf, why))
                if role in ("lead", "support"):
                    doers.append((g, kind))
                    owner = g
                elif kind == "assigner":
                    owner = None
            elif g.category == "partner":
                links.append((g, owner))
            else:
                role = "recipient" if g.category == "recipient" else "other"
                for m in g.members:
                    out.append(_Assign(m, role, 0.8, g.reason))
        return out, doers, links

    def _doer_kind(
        self, g: _Group, rest: str, nxt: _Group | None, groups: list[_Group], gi: int
    ) -> tuple[str, MentionRole, float, str]:
        """Role of a subject or directed group from its predicate."""
        verb = _main_verb(rest)
        base = g.reason
        if g.category == "subject" and _SPEAKER_VERB.match(verb):
            return "assigner", "other", 0.8, "cơ quan kết luận/giao việc, không phải cơ quan thực hiện"
        if _CHAIR.match(verb):
            return "chair", "lead", 0.95, f"{base}, «chủ trì»"
        if _COOP.match(verb):
            return "coop", "support", 0.85, f"{base}, «phối hợp»"
        directs_next = nxt is not None and nxt.category in ("directed", "chain") and nxt.start == g.end + len(rest)
        if directs_next and _DIRECTOR_VERB.match(" ".join(verb.split())):
            if g.category == "chain":
                return "intermediary", "other", 0.7, "trung gian trong chuỗi «lãnh đạo … chỉ đạo …»"
            return "director", "lead", 0.85, f"{base}, «lãnh đạo/chỉ đạo» cơ quan khác thực hiện"
        if directs_next and _ASSIGNER_VERB.match(" ".join(verb.split())):
            if g.category == "subject":
                return "assigner", "other", 0.8, "cơ quan giao việc, không phải cơ quan thực hiện"
            return "director", "lead", 0.8, f"{base}, giao lại cho cơ quan khác"
        if g.category == "subject" and _PAST.match(verb):
            return "narrative", "other", 0.7, "câu đánh giá (đã/đang …), không phải giao việc"
        return "plain", "lead", 0.85 if g.category != "subject" else 0.8, f"{base}, tự thực hiện việc của mình"

    def resolve(self, sentences: list[tuple[int, int]]) -> tuple[list[_Assign], bool]:
        """Roles across the directive, partners resolved; returns (assignments, has_explicit_lead)."""
        all_out: list[_Assign] = []
        doers: list[tuple[_Group, str]] = []
        links: list[tuple[_Group, _Group | None]] = []
        for s, e in sentences:
            out, d, lk = self.sentence(s, e)
            all_out += out
            doers += d
            links += lk
        kind_of = {id(g): k for g, k in doers}
        explicit_leads = {m.key for g, k in doers if k in ("chair", "plain", "director") for m in g.members}
        partner_keys = {id(p): {m.key for m in p.members} for p, _ in links}
        by_mention = {id(a.mention): a for a in all_out}
        for p, owner in links:
            okind = kind_of.get(id(owner)) if owner else None
            if okind == "chair":
                role, conf, why = "support", 0.9, "«phối hợp với» cơ quan chủ trì"
            elif okind == "coop":
                role, conf, why = "lead", 0.75, "cơ quan được phối hợp (cơ quan khác «phối hợp với» cơ quan này)"
            elif okind in ("plain", "director"):
                if partner_keys[id(p)] & explicit_leads:
                    role, conf, why = "lead", 0.8, "cơ quan được phối hợp, cũng tự thực hiện việc khác trong mục"
                    for m in owner.members:  # type: ignore[union-attr]
                        a = by_mention.get(id(m))
                        if a and a.role == "lead" and m.key not in partner_keys[id(p)]:
                            a.role, a.confidence, a.reason = (
                                "support",
                                0.7,
                                a.reason + "; «phối hợp với» cơ quan chủ trì việc này",
                            )
                else:
                    role, conf, why = "support", 0.75, "«phối hợp với» cơ quan thực hiện"
            else:
                role, conf, why = "partner?", 0.6, "«phối hợp với» (không rõ cơ quan chủ trì)"
            for m in p.members:
                all_out.append(_Assign(m, role, conf, why))  # type: ignore[arg-type]
        return all_out, bool(explicit_leads)


def _merge(assigns: list[_Assign], inherited_leads: bool) -> tuple[list[_Assign], list[_Assign]]:
    """One role per name: lead beats support; returns (assignees, other mentions)."""
    for a in assigns:
        if a.role == "partner?":
            has_lead = inherited_leads or any(b.role == "lead" for b in assigns)
            a.role = "support" if has_lead else "lead"  # type: ignore[assignment]
    rank = {"lead": 3, "support": 2, "recipient": 1, "other": 0}
    best: dict[str, _Assign] = {}
    order: list[str] = []
    for a in assigns:
        key = a.mention.key
        if key not in best:
            best[key] = a
            order.append(key)
            continue
        cur = best[key]
        if (rank[a.role], a.confidence) > (rank[cur.role], cur.confidence):
            best[key] = a
    chosen = [best[k] for k in order]
    chosen.sort(key=lambda a: a.mention.start)
    return [a for a in chosen if a.role in ("lead", "support")], [
        a for a in chosen if a.role not in ("lead", "support")
    ]


# --- structure ------------------------------------------------------------------------------------

_MARKER = re.compile(
    r"^(?P<pre>[ \t]*(?:#{1,6}[ \t]+)?(?:>[ \t]*)?(?:\*\*|__)?[ \t]*)"
    r"(?P<m>(?P<roman>[IVX]{1,5})[.\-/][ \t]+"
    r"|(?P<multi>\d{1,2}(?:\.\d{1,2}){1,3})\.?(?:\*\*|__)?(?:[ \t]+|(?=[^\d\s.,/]))"
    r"|(?P<arabic>\d{1,2})[.)](?:\*\*|__)?(?:[ \t]+|(?=[^\d\s.,/]))"
    r"|\((?P<paren>\d{1,2})\)[ \t]*"
    r"|(?P<alpha>[a-zđ])[).](?:\*\*|__)?[ \t]+"
    r"|(?P<dash>[-–—])[ \t]*(?=\S)(?![-–—])"
    r"|(?P<plus>\+)[ \t]*(?=\S)"
    r"|(?P<bullet>[•·▪●]|\*(?!\*))[ \t]+)"
    r"(?P<post>(?:\*\*|__)?[ \t]*)"
)
_SEPARATOR = re.compile(r"^\s*(?:[-_*=~.]\s*){3,}$")


@dataclass
class _Node:
    """A numbered item or an unnumbered paragraph of the body."""

    kind: str  # "item" or "para"
    mtype: str | None
    label: str | None
    marker: str | None
    content_start: int
    end: int
    first_line: int
    line_offset: int = 0
    children: list[_Node] = field(default_factory=list)
    parent: _Node | None = None

    def own_end(self) -> int:
        """End of the node's own text (before its first child)."""
        return self.children[0].line_offset if self.children else self.end

    def full_end(self) -> int:
        """End of the node with all its descendants."""
        return self.children[-1].full_end() if self.children else self.end


def _marker_of(line: str) -> tuple[str, str, str, int] | None:
    """(type, label, marker text, content offset) of a list-marker line, or None."""
    m = _MARKER.match(line)
    if not m:
        return None
    rest = line[m.end() :]
    if not rest.strip() or _SEPARATOR.match(line):
        return None
    for kind in ("roman", "multi", "arabic", "paren", "alpha"):
        if m.group(kind):
            label = m.group(kind)
            mtype = f"multi{label.count('.')}" if kind == "multi" else kind
            if kind == "alpha" and not re.match(r"\s*[A-ZĐÀ-ỸÂĂÊÔƠƯ\"“(]", rest):
                return None  # "a. b." inside prose; real items start with a capital
            return mtype, label, m.group("m").strip(), m.end()
    for kind in ("dash", "plus", "bullet"):
        if m.group(kind):
            return kind, "", m.group("m").strip(), m.end()
    return None


_BODY_END = _rx(
    r"^[\s*_#>]*(?:nơi\s+nhận|t/m|t/l|k/t|tm\.|tl\.|kt\.|q\.\s*chánh|chánh\s+văn\s+phòng\s*$|bí\s+thư\s*$|chủ\s+tịch\s*$|nguồn\s*:|\(?nguồn\s*:)"
)
_CLOSING = _rx(
    r"^\s*(?:trên\s+đây\s+là|(?:văn\s+phòng|vp)[^.;]{0,80}\bthông\s+báo\s+(?:để|đến)|[^.;]{0,120}\bthông\s+báo\s+để\s+(?:các|cơ\s+quan|đơn\s+vị)[^.;]{0,120}(?:biết|thực\s+hiện))"
)
_NARRATIVE_HEAD = _rx(
    r"^(?:về\s+)?(?:đánh\s+giá|kết\s+quả|tình\s+hình|thời\s+gian\s+qua|trong\s+thời\s+gian\s+qua|những\s+năm\s+qua|nhìn\s+chung"
    r"|qua\s+(?:\d+\s+)?(?:năm|tháng)|qua\s+(?:kiểm\s+tra|báo\s+cáo|nghe)|năm\s+\d{4}\s*,|(?:6|sáu|9|chín|\d+)\s+tháng\s+đầu\s+năm"
    r"|thống\s+nhất|nhất\s+trí|đồng\s+ý|ghi\s+nhận|biểu\s+dương|cơ\s+bản|những\s+kết\s+quả|ưu\s+điểm|tồn\s+tại|hạn\s+chế"
    r"|tuy\s+nhiên|bên\s+cạnh|từ\s+khi|sau\s+(?:\d+|một|hai|ba)\s+năm|thực\s+hiện\s+(?:nghị\s+quyết|kết\s+luận|chỉ\s+thị|kế\s+hoạch)[^,]{0,80},\s*(?:thời\s+gian\s+qua|đến\s+nay))"
)
_DIRECTIVE_HEAD = _rx(
    r"nhiệm\s+vụ|giải\s+pháp|thời\s+gian\s+tới|yêu\s+cầu|đề\s+nghị|\bgiao\b|chỉ\s+đạo|tổ\s+chức\s+thực\s+hiện|phân\s+công"
    r"|cần\s+tập\s+trung|cần\s+thực\s+hiện|trọng\s+tâm\s+sau|\bsau\s*:\s*$|kiến\s+nghị|phương\s+hướng"
)
_IMPERATIVE_START = _rx(
    r"^(?:tiếp\s+tục|tập\s+trung|khẩn\s+trương|rà\s+soát|xây\s+dựng|chỉ\s+đạo|tăng\s+cường|đẩy\s+mạnh|nâng\s+cao|quan\s+tâm"
    r"|hoàn\s+thành|thực\s+hiện|tổ\s+chức|phối\s+hợp|chủ\s+động|kịp\s+thời|bố\s+trí|hướng\s+dẫn|theo\s+dõi|kiểm\s+tra"
    r"|nghiên\s+cứu|đề\s+xuất|tham\s+mưu|triển\s+khai|bổ\s+sung|sớm|thường\s+xuyên|củng\s+cố|phát\s+huy|chú\s+trọng|ưu\s+tiên"
    r"|đảm\s+bảo|bảo\s+đảm|huy\s+động|đôn\s+đốc|lựa\s+chọn|hỗ\s+trợ|cần|phải|quán\s+triệt|làm\s+tốt|rà\s+soát|lãnh\s+đạo)\b"
)
_MONITOR = _rx(
    r"theo\s+dõi\s*,?\s*(?:đôn\s+đốc|kiểm\s+tra)[^.;]{0,60}(?:thông\s+báo|kết\s+luận)(?:\s+kết\s+luận)?(?:\s+này)?|đôn\s+đốc[^.;]{0,40}thực\s+hiện\s+(?:thông\s+báo|kết\s+luận)(?:\s+kết\s+luận)?\s+này"
)
_MONITOR_LOOSE = _rx(r"theo\s+dõi\s*,\s*đôn\s+đốc|đôn\s+đốc\s*,\s*theo\s+dõi")
_INTRO_END = _rx(r"(?:như\s+sau|kết\s+luận|ý\s+kiến(?:\s+chỉ\s+đạo)?)\s*:\s*(?:\*\*|__)?\s*$")
_INTRO_START = _rx(
    r"^\s*(?:\*\*|__)?\s*(?:(?:sáng|chiều|tối)\s+)?(?:ngày\s+\d|vừa\s+qua|căn\s+cứ|thực\s+hiện\s+chương\s+trình|tại\s+hội\s+nghị|trong\s+các\s+ngày|từ\s+ngày|sau\s+khi\s+nghe)"
)


def _starts_upper(s: str) -> bool:
    """True when the first letter-or-digit of s is upper case or a digit."""
    for c in s:
        if c.isalnum():
            return c.isupper() or c.isdigit()
        if c in '“"(':
            continue
    return False


def _ends_sentence(s: str) -> bool:
    """True when s ends a sentence or a heading ('.', ':', ';', '!', '?', closing quote)."""
    s = re.sub(r"[*_\s]+$", "", s)
    return bool(s) and s[-1] in '.:;!?…”")'


class _Structure:
    """Builds the tree of numbered items and paragraphs of the body."""

    def __init__(self, doc: _Doc, first: int, last: int):
        self.doc = doc
        self.first = first
        self.last = last  # exclusive line index

    def build(self) -> list[_Node]:
        """Top-level nodes of lines [first, last)."""
        doc = self.doc
        roots: list[_Node] = []
        stack: list[_Node] = []
        markers = [(_marker_of(doc.line(i)) if i < self.last else None) for i in range(self.first, self.last)]
        marker_after = [False] * (self.last - self.first + 1)
        for k in range(self.last - self.first - 1, -1, -1):
            marker_after[k] = marker_after[k + 1] or markers[k] is not None
        current: _Node | None = None
        prev_text = ""
        blank_before = False
        for k, i in enumerate(range(self.first, self.last)):
            line = doc.line(i)
            if not line.strip() or _SEPARATOR.match(line):
                blank_before = True
                continue
            start, end = doc.line_starts[i], doc.line_end(i)
            mk = markers[k]
            if mk:
                mtype, label, marker, off = mk
                node = _Node("item", mtype, label, marker, start + off, end, i, start)
                self._place(node, stack, roots)
                current = node
            else:
                new_para = _starts_upper(line) and (blank_before or _ends_sentence(prev_text) or current is None)
                if (current is not None and not new_para) or (
                    current is not None
                    and current.kind == "item"
                    and not self._breaks_out(line, current, marker_after[k + 1])
                ):
                    current.end = end
                else:
                    node = _Node("para", None, None, None, start + len(line) - len(line.lstrip()), end, i, start)
                    parent = next(
                        (n for n in reversed(stack) if n.kind == "item" and _ends_sentence_colon(doc, n)), None
                    )
                    if parent is None:
                        stack.clear()
                        roots.append(node)
                    else:
                        while stack and stack[-1] is not parent:
                            stack.pop()
                        node.parent = parent
                        parent.children.append(node)
                    stack.append(node)
                    current = node
            prev_text = line
            blank_before = False
        return roots

    def _breaks_out(self, line: str, current: _Node, markers_follow: bool) -> bool:
        """Whether a new unnumbered paragraph after an item starts a node of its own."""
        low = _norm_low(unicodedata.normalize("NFC", line.strip().lstrip("*_ ")))
        if _ends_sentence_colon(self.doc, current):
            return True  # "2. Nhiệm vụ thời gian tới:" then unnumbered paragraphs
        cue = bool(_ASSIGN_START.match(low))
        if current.mtype in ("dash", "plus", "bullet"):
            return cue
        return cue and not markers_follow

    @staticmethod
    def _place(node: _Node, stack: list[_Node], roots: list[_Node]) -> None:
        """Put a numbered node under the right parent by marker type (same type = sibling)."""
        same = next(
            (j for j in range(len(stack) - 1, -1, -1) if stack[j].kind == "item" and stack[j].mtype == node.mtype), None
        )
        if same is not None:
            del stack[same:]
        elif node.mtype and node.mtype.startswith("multi"):
            depth = int(node.mtype[5:])
            # "2.1" sits under "2." / "1.2.1" under "1.2": pop deeper arabic levels.
            while (
                stack and stack[-1].mtype and stack[-1].mtype.startswith("multi") and int(stack[-1].mtype[5:]) >= depth
            ):
                stack.pop()
        elif node.mtype == "arabic":
            while stack and stack[-1].mtype and stack[-1].mtype.startswith("multi"):
                stack.pop()
        while (
            stack
            and stack[-1].kind == "para"
            and stack[-1].parent is None
            and node.mtype in ("roman", "arabic", "multi1")
        ):
            stack.pop()
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)


def _ends_sentence_colon(doc: _Doc, node: _Node) -> bool:
    """True when the node's own text ends with ':' (a heading that introduces items)."""
    s = re.sub(r"[*_\s]+$", "", doc.text[node.content_start : node.own_end()])
    return s.endswith(":")


# --- header ---------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?:^|[\s\t|*])S[ốỐ]\s*:?\s*(?P<n>\d{1,5}\s*[-/]\s*[A-ZĐ]{1,6}(?:\s*[-/.]\s*[A-ZĐ0-9]{1,12}){0,3})"
)
_CITED_NUMBER = re.compile(r"\d{1,5}\s*[-/]\s*[A-ZĐ]{1,6}(?:[-/.][A-ZĐ0-9]{1,12}){0,3}")
_DATE_WORDS = re.compile(r"ngày\s+(?P<d>\d{1,2})\s+tháng\s+(?P<m>\d{1,2})\s+năm\s+(?P<y>\d{4})", re.I)
_DATE_NUM = re.compile(r"ngày\s+(?P<d>\d{1,2})\s*[/.\-]\s*(?P<m>\d{1,2})\s*[/.\-]\s*(?P<y>\d{4})", re.I)
_TITLE_MARK = _rx(r"^\s*(?:\*\*|__|#+\s*)?\s*(?:thông\s+báo|kết\s+luận)\b")
_BODY_CUE = _rx(
    r"^\s*(?:\*\*|__)?\s*(?:(?:sáng|chiều|tối)\s+)?(?:ngày\s+\d|vừa\s+qua|căn\s+cứ|(?:thực\s+hiện|tại)\s.{150,}|trong\s+(?:các\s+)?ngày|từ\s+ngày|sau\s+khi|tham\s+dự|cùng\s+dự|ban\s+thường\s+vụ[^,]{0,40}đã|thường\s+trực[^,]{0,40}đã)"
)


def _mkdate(d: str, m: str, y: str) -> date | None:
    """A date or None when it does not exist."""
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


@dataclass
class _Header:
    """What the header and title give, and where the body starts."""

    number: MetaValue
    date: MetaValue
    title: MetaValue
    issuer: MetaValue
    body_first: int
    has_marker: bool


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


def _recase(line: str, matcher: _AgencyMatcher, province: str) -> str:
    """Turn an ALL-CAPS title line into sentence case, restoring agency names and acronyms."""
    letters = [c for c in line if c.isalpha()]
    if not letters or any(c.islower() for c in letters):
        return line
    words = re.split(r"(\W+)", line)
    out = []
    for w in words:
        if w and w[0].isalpha() and (not _is_syllable(w) or re.fullmatch(r"[IVXLC]+", w)):
            out.append(w)  # acronym (OCOP, HTX) or Roman numeral
        else:
            out.append(_lower_same_length(w))
    text = "".join(out)
    doc = _Doc.of(text)
    pieces, last = [], 0
    for m in matcher.find(doc, 0, len(text)):
        if m.canonical and len(m.canonical) == m.end - m.start:
            pieces += [text[last : m.start], m.canonical]
            last = m.end
    pieces.append(text[last:])
    text = "".join(pieces)
    for word in _TITLE_WORDS:
        text = re.sub(r"(?<!\w)" + re.escape(_lower_same_length(word)) + r"(?!\w)", word, text)
    return re.sub(re.escape(_lower_same_length(province)), province, text)


def _parse_header(doc: _Doc, matcher: _AgencyMatcher, source_name: str) -> _Header:
    """Find the title block, number, date and issuer; raise NoticeParseError if no notice marker."""
    limit = min(doc.nlines, 60)
    title_line = None
    for i in range(limit):
        raw = doc.line(i)
        clean = _clean(re.sub(r"^\s*(?:#{1,6}|>)\s*", "", raw))
        if not clean:
            continue
        low = _norm_low(clean)
        if _TITLE_MARK.match(low) and (
            clean.upper() == clean
            or low.startswith(("thông báo kết luận", "kết luận của", "thông báo ý kiến", "thông báo số"))
        ):
            title_line = i
            break
    has_marker = title_line is not None
    if title_line is None:
        if not re.search(
            _rx(r"kết\s+luận|thông\s+báo").pattern, doc.low[: doc.line_starts[limit - 1] + 2000 if limit else 0]
        ):
            raise NoticeParseError(
                source_name,
                "không phải Thông báo kết luận: không thấy tiêu đề «THÔNG BÁO»/«KẾT LUẬN» ở phần đầu văn bản",
            )
    # Title block: the marker line (minus a bare "THÔNG BÁO") and the short lines after it.
    title_lines: list[int] = []
    body_first = 0
    if title_line is not None:
        i = title_line
        clean = _clean(doc.line(i))
        bare = bool(re.fullmatch(_rx(r"thông\s+báo").pattern, _norm_low(clean).strip(" .:*#")))
        if not bare:
            title_lines.append(i)
        i += 1
        while bare and i < doc.nlines and not _clean(doc.line(i)):
            i += 1
        if not title_lines and i < doc.nlines:
            title_lines.append(i)
            i += 1
        while i < doc.nlines and len(title_lines) < 8:
            clean = _clean(doc.line(i))
            if (
                not clean
                or _SEPARATOR.match(doc.line(i))
                or len(clean) > 240
                or _BODY_CUE.match(_norm_low(clean))
                or _marker_of(doc.line(i))
            ):
                break
            if _ends_sentence(_clean(doc.line(title_lines[-1]))) and _clean(doc.line(title_lines[-1])).endswith(
                (".", ":")
            ):
                break
            title_lines.append(i)
            i += 1
        body_first = i
    zone_end = title_lines[0] if title_lines else title_line if title_line is not None else 12
    header_zone = range(0, min(zone_end + 1, doc.nlines))

    # Number: "Số 1061-TB/TU" in the header zone, never a number cited in the body.
    number = MetaValue(confidence=0.0)
    for i in header_zone:
        m = _NUMBER.search(_clean(doc.line(i)).replace("**", ""))
        if m:
            raw_line = doc.line(i)
            n = re.sub(r"\s+", "", m.group("n"))
            pos = raw_line.find(m.group("n").split()[0][:3])
            s = doc.line_starts[i] + max(pos, 0)
            number = MetaValue(
                value=n, raw=m.group(0).strip(), confidence=0.95, span=doc.span(s, s + len(m.group("n")))
            )
            break
    title_text = " ".join(_clean(re.sub(r"^\s*(?:#{1,6}|>)\s*", "", doc.line(i))) for i in title_lines)
    if number.value is None and title_lines:
        m = re.match(
            r"(?i)\s*(?:thông báo(?: kết luận)?|kết luận)\s+số\s*:?\s*(" + _CITED_NUMBER.pattern + ")", title_text
        )
        if m:
            s = doc.line_starts[title_lines[0]]
            number = MetaValue(
                value=re.sub(r"\s+", "", m.group(1)),
                raw=m.group(0),
                confidence=0.85,
                span=doc.span(s, doc.line_end(title_lines[0])),
            )

    # Date: "Bắc Giang, ngày 23 tháng 5 năm 2022" in the header, else the title, else the intro's meeting date.
    found_date = MetaValue(confidence=0.0)
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
                if not own_number_line and re.search(r"số\s*\S*\s*$", before, re.I):
                    continue  # the date of a cited document ("Nghị quyết số … ngày …")
                d = _mkdate(m["d"], m["m"], m["y"])
                if d:
                    s = bs + m.start()
                    found_date = MetaValue(
                        value=d.isoformat(),
                        raw=" ".join(m.group(0).split()),
                        confidence=conf,
                        span=doc.span(s, s + len(m.group(0))),
                    )
                    break
            if found_date.value:
                break
        if found_date.value:
            break
    if found_date.value is None:
        for i in range(body_first, min(doc.nlines, body_first + 12)):
            line = doc.line(i)
            if not line.strip():
                continue
            m = re.match(
                r"\W*(?:(?:Sáng|Chiều|Tối|sáng|chiều|tối)\s+)?(?:[Nn]gày)\s+(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})",
                line,
            )
            m2 = re.match(
                r"\W*(?:(?:Sáng|Chiều|Tối|sáng|chiều|tối)\s+)?[Nn]gày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})",
                line,
            )
            mm = m or m2
            if mm:
                d = _mkdate(mm.group(1), mm.group(2), mm.group(3))
                if d:
                    s = doc.line_starts[i] + mm.start(1)
                    found_date = MetaValue(
                        value=d.isoformat(),
                        raw=mm.group(0).strip(),
                        confidence=0.6,
                        span=doc.span(s, doc.line_starts[i] + mm.end()),
                        note="văn bản không ghi ngày ban hành ở phần đầu; đây là ngày họp/làm việc nêu ở đoạn mở đầu",
                    )
            break

    # Title.
    title = MetaValue(confidence=0.0)
    if title_lines:
        province = matcher.directory.province
        pieces = [
            _recase(_clean(re.sub(r"^\s*(?:#{1,6}|>)\s*", "", doc.line(i))), matcher, province) for i in title_lines
        ]
        text = " ".join(p for p in pieces if p).strip()
        text = re.sub(r"^(?:thông báo\s+)(?=kết luận)", "", text, flags=re.I)
        text = text[:1].upper() + text[1:]
        s, e = doc.line_starts[title_lines[0]], doc.line_end(title_lines[-1])
        title = MetaValue(value=text, raw=title_text, confidence=0.85 if has_marker else 0.5, span=doc.span(s, e))

    # Issuer: "KẾT LUẬN CỦA <X>" in the title, else "<X> kết luận như sau" in the intro, else the header's first lines.
    issuer = MetaValue(confidence=0.0)
    if title_lines:
        s, e = doc.line_starts[title_lines[0]], doc.line_end(title_lines[-1])
        m = re.search(_rx(r"kết\s+luận\s+(?:của\s+)?").pattern, doc.low[s:e])
        if m:
            found = [x for x in matcher.find(doc, s + m.end(), e) if x.start - (s + m.end()) < 60]
            if found:
                x = found[0]
                issuer = _issuer_value(x, doc, 0.9, "trong tiêu đề «Kết luận của …»")
    if issuer.value is None:
        for i in range(body_first, min(doc.nlines, body_first + 30)):
            mm = re.search(
                _rx(r"\bkết\s+luận\s*(?:như\s+sau|:)").pattern, doc.low[doc.line_starts[i] : doc.line_end(i)]
            )
            if mm:
                s = doc.line_starts[i]
                before = [x for x in matcher.find(doc, s, s + mm.start()) if x.code and not x.is_group]
                if before and s + mm.start() - before[-1].end < 6:
                    issuer = _issuer_value(before[-1], doc, 0.8, "ở đoạn mở đầu «… kết luận như sau»")
                break
    if issuer.value is None:
        top = title_lines[0] if title_lines else min(8, doc.nlines)
        for i in range(0, top):
            s, e = doc.line_starts[i], doc.line_end(i)
            found = [x for x in matcher.find(doc, s, e) if x.code and not x.is_group]
            if found:
                issuer = _issuer_value(found[0], doc, 0.6, "ở dòng tên cơ quan ban hành (đầu văn bản)")
                break
    return _Header(number, found_date, title, issuer, body_first, has_marker)


def _issuer_value(m: _Mention, doc: _Doc, conf: float, where: str) -> MetaValue:
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


# --- deadlines ------------------------------------------------------------------------------------

_SPECIFIC = (
    "fixed_date",
    "working_days",
    "calendar_days",
    "within_month",
    "within_quarter",
    "within_half_year",
    "within_year",
    "meeting",
)


def _deadline(doc: _Doc, start: int, end: int, reference: date | None) -> DirectiveDeadline:
    """The directive's deadline, recurrence and priority from the phrase parser."""
    found = find_deadlines(doc.text[start:end], reference=reference)
    specific = [f for f in found if f.parsed and f.parsed.rule and f.parsed.rule.kind in _SPECIFIC]
    urgent = [f for f in found if f.parsed and f.parsed.rule and f.parsed.rule.kind == "urgent"]
    ongoing = [f for f in found if f.parsed and f.parsed.rule and f.parsed.rule.kind == "ongoing"]
    recurring = [f for f in found if f.parsed and f.parsed.recurrence]
    unspecified = [f for f in found if f.parsed is None and re.search(_rx(r"định\s+kỳ").pattern, _norm_low(f.phrase))]
    errors = [f for f in found if f.parsed is None and f not in unspecified]
    out = DirectiveDeadline()
    notes: list[str] = []
    chosen = None
    if specific:
        chosen = specific[0]
        distinct = {repr(f.parsed.rule) for f in specific}  # type: ignore[union-attr]
        conf = chosen.parsed.confidence  # type: ignore[union-attr]
        if len(distinct) > 1:
            others = "; ".join(f"«{f.phrase}»" for f in specific[1:])
            notes.append(f"mục có nhiều thời hạn, đã lấy «{chosen.phrase}»; còn: {others}")
            conf = min(conf, 0.6)
        out.rule = chosen.parsed.rule.model_dump(mode="json")  # type: ignore[union-attr]
        out.confidence = conf
    elif urgent:
        chosen = urgent[0]
        out.rule = chosen.parsed.rule.model_dump(mode="json")  # type: ignore[union-attr]
        out.confidence = chosen.parsed.confidence  # type: ignore[union-attr]
        notes.append("«khẩn trương» không nêu ngày: hạn tính theo số ngày làm việc mặc định trong cấu hình")
    elif ongoing or recurring or unspecified:
        chosen = (ongoing or recurring or unspecified)[0]
        out.rule = {"kind": "ongoing"}
        out.confidence = chosen.parsed.confidence if chosen.parsed else 0.6
    if chosen is not None:
        out.phrase = chosen.phrase
        out.span = doc.span(start + chosen.start, start + chosen.end)
    if urgent:
        out.priority = "urgent"
    if recurring:
        out.recurrence = recurring[0].parsed.recurrence.every  # type: ignore[union-attr]
        out.recurrence_phrase = recurring[0].phrase
    elif unspecified:
        out.recurrence = "unspecified"
        out.recurrence_phrase = unspecified[0].phrase
        notes.append(
            f"«{unspecified[0].phrase}»: có báo cáo định kỳ nhưng văn bản không nêu chu kỳ (tháng/quý/6 tháng/năm)"
        )
        out.confidence = min(out.confidence or 0.5, 0.5)
    for f in errors:
        notes.append(f"«{f.phrase}»: {f.error}")
        out.confidence = min(out.confidence or 0.4, 0.4)
    if out.rule is None and not errors:
        notes.append("văn bản không nêu thời hạn cho mục này")
    out.notes = notes
    return out


# --- assembling directives ------------------------------------------------------------------------


@dataclass
class _Unit:
    """A directive before numbering: its text range and where it sits."""

    start: int
    end: int
    number: str
    label: str | None
    level: int
    synthetic: bool
    confidence: float
    inherited: list[_Assign] = field(default_factory=list)
    in_section: bool = True


class _Builder:
    """Walks the body tree and emits directive units."""

    def __init__(self, doc: _Doc, matcher: _AgencyMatcher, reference: date | None):
        self.doc = doc
        self.matcher = matcher
        self.reference = reference
        self.units: list[_Unit] = []

    def mentions(self, start: int, end: int) -> list[_Mention]:
        """Names in doc[start:end]."""
        return self.matcher.find(self.doc, start, end)

    def roles(self, start: int, end: int) -> tuple[list[_Assign], bool]:
        """Roles of every name in doc[start:end]."""
        ms = self.mentions(start, end)
        r = _Roles(self.doc, start, end, ms)
        return r.resolve(_sentences(self.doc, start, end, ms))

    def own_leads(self, start: int, end: int) -> list[_Assign]:
        """Assignees of a heading's own text (to hand down to its items)."""
        assigns, _ = self.roles(start, end)
        keep, _ = _merge(assigns, False)
        return keep

    # Narrative or directive?
    def is_narrative(self, node: _Node) -> bool | None:
        """True/False for a section's kind from its heading; None when the heading does not say."""
        head = _clean(self.doc.text[node.content_start : node.own_end()])
        first = re.split(r"(?<=[.:;])\s", head, maxsplit=1)[0]
        low = _norm_low(first)
        low_all = _norm_low(head)
        assign_cue = bool(re.search(_rx(r"(?:^|[.;:]\s*|,\s*)(?:giao|đề\s+nghị|yêu\s+cầu)\s+[^\s]").pattern, low_all))
        if _NARRATIVE_HEAD.match(low) and not assign_cue:
            return True
        if _DIRECTIVE_HEAD.search(low) or assign_cue:
            return False
        return None

    def leaf_is_directive(self, start: int, end: int) -> bool:
        """A leaf with no section context: a directive if it assigns, orders or sets a deadline."""
        low = _norm_low(_clean(self.doc.text[start:end]))
        if _NARRATIVE_HEAD.match(low) and not re.search(
            _rx(r"(?:^|[.;:]\s*)(?:giao|đề\s+nghị|yêu\s+cầu)\s").pattern, low
        ):
            return False
        assigns, has_lead = self.roles(start, end)
        if has_lead or any(a.role in ("lead", "support", "partner?") for a in assigns):
            return True
        if _ASSIGN_START.match(low) or _IMPERATIVE_START.match(low):
            return True
        return any(
            f.parsed and f.parsed.rule and f.parsed.rule.kind in _SPECIFIC
            for f in find_deadlines(self.doc.text[start:end], reference=self.reference)
        )

    def walk(self, nodes: list[_Node], prefix: str, level: int, inherited: list[_Assign], section: bool | None) -> None:
        """Emit units for nodes under one parent."""
        ordinal = 0
        for node in nodes:
            if node.kind == "para":
                self.clause_units(node, prefix, level, inherited, section)
                continue
            ordinal += 1
            number = self.number_of(node, prefix, ordinal)
            kind = self.is_narrative(node)
            if kind is True and section is not True:
                continue
            if kind is True and section is True and level > 1:
                kind = None  # an item inside a directive section that merely starts like an assessment
            if kind is True:
                continue
            start, own_end, full_end = node.content_start, node.own_end(), node.full_end()
            if not node.children:
                is_dir = section if section is not None else (kind is False or self.leaf_is_directive(start, full_end))
                if kind is False or is_dir:
                    conf = 0.9 if (section or kind is False) else (0.85 if self.any_names(start, full_end) else 0.7)
                    self.units.append(
                        _Unit(start, full_end, number, node.marker, level, False, conf, inherited, section is not False)
                    )
                continue
            head_leads = self.own_leads(start, own_end)
            head_has_lead = any(a.role == "lead" for a in head_leads)
            child_section = True if (kind is False or section is True) else None
            head_text = _clean(self.doc.text[start:own_end])
            if head_has_lead and not head_text.endswith(":"):
                self.units.append(_Unit(start, own_end, number, node.marker, level, False, 0.8, inherited, True))
            hand_down = head_leads if head_has_lead else inherited
            self.walk(node.children, number, level + 1, hand_down, child_section)

    def any_names(self, start: int, end: int) -> bool:
        """True when doc[start:end] names an agency that does something (lead, support or partner)."""
        assigns, has_lead = self.roles(start, end)
        return has_lead or any(a.role in ("lead", "support", "partner?") for a in assigns)

    def number_of(self, node: _Node, prefix: str, ordinal: int) -> str:
        """The directive number: '2.1' as written, 'a' under '3' → '3.a', dashes → '3.a.1'."""
        if node.mtype and node.mtype.startswith("multi"):
            label = node.label or ""
            if (
                prefix
                and not label.startswith(prefix.split(".")[-1] + ".")
                and not re.match(r"^[IVX]+$", prefix.split(".")[-1])
            ):
                return f"{prefix}.{label}"
            roman = prefix.split(".")[0] if prefix and re.match(r"^[IVX]+$", prefix.split(".")[0]) else ""
            return f"{roman}.{label}" if roman else label
        if node.mtype in ("dash", "plus", "bullet"):
            label = str(ordinal)
        else:
            label = node.label or str(ordinal)
        return f"{prefix}.{label}" if prefix else label

    def clause_units(
        self, node: _Node, prefix: str, level: int, inherited: list[_Assign], section: bool | None
    ) -> None:
        """Unnumbered paragraph: one directive per assignment clause ('Giao …', 'Đề nghị …', 'X chủ trì …')."""
        start, end = node.content_start, node.full_end()
        text_low = _norm_low(_clean(self.doc.text[start:end]))
        ms = self.mentions(start, end)
        sents = _sentences(self.doc, start, end, ms)
        narrative_para = bool(_NARRATIVE_HEAD.match(text_low)) or bool(_INTRO_START.match(text_low))
        runs: list[list[int]] = []
        for si, (s, e) in enumerate(sents):
            if self.sentence_starts_directive(s, e, ms):
                runs.append([s, e])
            elif runs and runs[-1][1] == s:
                runs[-1][1] = e
            elif section is True and not narrative_para and not runs:
                runs.append([s, e])
            elif (
                not runs
                and _IMPERATIVE_START.match(_norm_low(_clean(self.doc.text[s:e])))
                and self.units
                and not narrative_para
                and self.units[-1].end <= s
                and self._adjacent(self.units[-1].end, s)
            ):
                self.units[-1].end = e  # an elliptical continuation of the previous directive
        if not node.children and _clean(self.doc.text[start:end]).endswith(":"):
            return  # "… thực hiện tốt các nhiệm vụ sau:" introduces what follows; it is not a task itself
        if node.children:
            # "Giao Sở X thực hiện:" + items: the items are the directives, the paragraph hands down its agencies.
            head_leads = self.own_leads(start, node.own_end())
            own_runs = [r for r in runs if r[0] < node.own_end()]
            number = self.synthetic_number(prefix)
            if own_runs and not _clean(self.doc.text[start : node.own_end()]).endswith(":"):
                self.units.append(
                    _Unit(
                        own_runs[0][0], node.own_end(), number, None, level, True, 0.7, inherited, section is not False
                    )
                )
            self.walk(node.children, number, level + 1, head_leads or inherited, True)
            return
        for s, e in runs:
            number = self.synthetic_number(prefix)
            self.units.append(
                _Unit(s, e, number, None, level, True, 0.75 if section else 0.7, inherited, section is not False)
            )

    def _adjacent(self, a: int, b: int) -> bool:
        """True when only whitespace separates a and b."""
        return not self.doc.text[a:b].strip()

    def synthetic_number(self, prefix: str) -> str:
        """A number for an unnumbered directive: next after the siblings already emitted."""
        used = {u.number for u in self.units}
        k = 1
        while True:
            candidate = f"{prefix}.{k}" if prefix else str(k)
            if candidate not in used:
                return candidate
            k += 1

    def sentence_starts_directive(self, s: int, e: int, ms: list[_Mention]) -> bool:
        """True when a sentence opens an assignment: 'Giao …', 'Đề nghị …', or an agency doing its own task."""
        low = _norm_low(_clean(self.doc.text[s:e]))
        stripped = re.sub(_SUBJECT_PREFIX.pattern.rstrip("$"), "", low, count=1)
        if _ASSIGN_START.match(stripped) or _ASSIGN_START.match(low):
            return True
        roles = _Roles(self.doc, s, e, ms)
        out, doers, links = roles.sentence(s, e)
        if not doers:
            return False
        first = min(doers, key=lambda d: d[0].start)
        if first[0].category != "subject":
            return first[1] in ("chair", "plain", "director")
        return first[1] in ("chair", "plain", "director") or (first[1] == "coop" and bool(links))


def _body_range(doc: _Doc, first: int) -> tuple[int, int, list[str]]:
    """Lines [start, end) of the body: after the intro, before the closing formula, 'Nơi nhận' or signature."""
    warnings: list[str] = []
    end = doc.nlines
    for i in range(first, doc.nlines):
        line = _clean(doc.line(i))
        if not line:
            continue
        low = _norm_low(line)
        if _BODY_END.match(low) or _CLOSING.match(low):
            end = i
            break
    start = first
    # The intro ("Ngày …, … kết luận như sau:") is not a directive.
    for i in range(first, min(end, first + 40)):
        line = _clean(doc.line(i))
        if not line:
            continue
        if _marker_of(doc.line(i)):
            break
        if _INTRO_END.search(_norm_low(line)) and not _ASSIGN_START.match(_norm_low(line)):
            start = i + 1
            break
    if start == first:
        # No "như sau:": skip an opening paragraph that reports the meeting.
        for i in range(first, end):
            line = _clean(doc.line(i))
            if not line:
                continue
            if _INTRO_START.match(_norm_low(line)) and not _marker_of(doc.line(i)):
                j = i
                while (
                    j + 1 < end
                    and _clean(doc.line(j + 1))
                    and not _marker_of(doc.line(j + 1))
                    and not (_ends_sentence(doc.line(j)) and _starts_upper(doc.line(j + 1)))
                ):
                    j += 1
                start = j + 1
            break
    return start, end, warnings


def _suggest(directory: AgencyDirectory, surface: str) -> list[str]:
    """Directory names close to an unknown one and of the same kind (same first word: Sở, Văn phòng …)."""
    head = _norm_low(surface).split()[:1]
    return [label for label in directory.closest(surface, limit=5) if _norm_low(label).split()[:1] == head][:3]


def _to_ref(doc: _Doc, a: _Assign, directory: AgencyDirectory) -> AgencyRefDraft:
    """Turn a decided role into the result model."""
    m = a.mention
    known = m.code is not None
    conf = a.confidence if known else min(a.confidence, 0.5)
    suggestions = [] if known else _suggest(directory, m.surface)
    surface = " ".join(m.surface.split())
    return AgencyRefDraft(
        surface=surface,
        code=m.code,
        is_group=m.is_group,
        members=list(m.members),
        known=known,
        role=a.role,
        confidence=round(conf, 2),
        span=doc.span(m.start, m.end),
        reason=a.reason,
        inherited=a.inherited,
        suggestions=suggestions,
    )


def parse_notice_text(text: str, directory: AgencyDirectory, *, source_name: str) -> NoticeDraftText:
    """Read a conclusion notice's text and draft its metadata, directives, agencies and deadlines."""
    if not text or not text.strip():
        raise NoticeParseError(source_name, "văn bản trống, không có nội dung")
    doc = _Doc.of(text)
    matcher = _AgencyMatcher(directory)
    header = _parse_header(doc, matcher, source_name)
    reference = date.fromisoformat(header.date.value) if header.date.value else None
    start, end, warnings = _body_range(doc, header.body_first)
    roots = _Structure(doc, start, end).build()
    builder = _Builder(doc, matcher, reference)
    builder.walk(roots, "", 1, [], None)
    if not builder.units:
        marker_hint = "" if header.has_marker else "; cũng không thấy tiêu đề «THÔNG BÁO»/«KẾT LUẬN»"
        raise NoticeParseError(
            source_name,
            "không tìm thấy mục công việc nào (không có mục đánh số trong phần nhiệm vụ, không có câu «Giao …», «Đề nghị …», "
            f"«Yêu cầu …» hay «… chủ trì …»){marker_hint}: văn bản có lẽ không phải Thông báo kết luận",
        )
    directives = [_directive(doc, u, builder, directory, reference) for u in builder.units]
    _dedupe_numbers(directives)

    number = header.number
    placeholder = number.value is None
    if placeholder:
        stamp = reference.strftime("%Y%m%d") if reference else "CHUA-RO-NGAY"
        suffix = _placeholder_suffix(header.issuer.value, directory)
        cited = sorted(
            {
                m.group(0)
                for m in re.finditer(r"(?:Thông báo(?: kết luận)?|Kết luận)\s+số\s+(\d{1,5}-[A-ZĐ]+/[A-ZĐ]+)", doc.text)
            }
        )
        note = "văn bản không ghi số của chính thông báo này; số dưới đây là số TẠM, thay bằng số trên bản ký"
        if cited:
            note += f" (số nêu trong văn bản — {', '.join(cited)} — là của văn bản khác được trích dẫn)"
        number = MetaValue(value=f"TẠM-{stamp}/{suffix}", confidence=0.0, note=note)
    monitors, monitors_note = _monitors(doc, directives, header)
    if header.issuer.value is None:
        warnings.append("chưa xác định được cơ quan ban hành")
    if header.date.value is None:
        warnings.append("không tìm thấy ngày của thông báo")
    return NoticeDraftText(
        source_name=source_name,
        number=number,
        number_is_placeholder=placeholder,
        date=header.date,
        issuer=header.issuer,
        title=header.title,
        monitors=monitors,
        monitors_note=monitors_note,
        directives=directives,
        warnings=warnings,
    )


def _placeholder_suffix(issuer: str | None, directory: AgencyDirectory) -> str:
    """'TB-TU' for party bodies, 'TB-UBND' for People's Committees, else 'TB'."""
    agency = directory.by_code.get(issuer or "")
    if agency is None:
        return "TB"
    if agency.kind.startswith("party") or agency.kind == "district_party_committee":
        return "TB-TU" if agency.kind != "district_party_committee" else "TB-HU"
    if "government" in agency.kind:
        return "TB-UBND"
    return "TB"


def _directive(
    doc: _Doc, u: _Unit, builder: _Builder, directory: AgencyDirectory, reference: date | None
) -> ParsedDirective:
    """Build one ParsedDirective from a unit: text, roles (inheriting when it names no lead), deadline."""
    text = _clean(doc.text[u.start : u.end])
    assigns, _ = builder.roles(u.start, u.end)
    inherited_leads = any(a.role == "lead" for a in u.inherited)
    # "Sở X: + Phối hợp với Sở Y …": the handed-down agency cooperates; the partner leads.
    elliptic_coop = bool(u.inherited) and bool(_COOP.match(_main_verb(_norm_low(text))))
    keep, others = _merge(assigns, inherited_leads and not elliptic_coop)
    review: list[str] = []
    if u.inherited and (elliptic_coop or not any(a.role == "lead" for a in keep)):
        own = {a.mention.key for a in keep}
        for a in u.inherited:
            if a.mention.key not in own:
                role = "support" if elliptic_coop else a.role
                why = "nêu ở đoạn dẫn của mục cha" + (", «phối hợp với» cơ quan khác" if elliptic_coop else "")
                keep.append(_Assign(a.mention, role, round(a.confidence * 0.8, 2), why, inherited=True))
        keep.sort(key=lambda a: (a.inherited, a.mention.start))
    refs = [_to_ref(doc, a, directory) for a in keep]
    mentions = [_to_ref(doc, a, directory) for a in others]
    if not refs:
        review.append("văn bản không nêu cơ quan thực hiện mục này; cần phân công (ít nhất một cơ quan chủ trì)")
    elif not any(r.role == "lead" for r in refs):
        review.append("chưa có cơ quan chủ trì (role: lead) cho mục này")
    for r in refs:
        if not r.known:
            hint = f"; gần giống: {', '.join(r.suggestions)}" if r.suggestions else ""
            review.append(
                f"cơ quan «{r.surface}» không có trong danh mục — thêm vào config/agencies.yaml hoặc sửa tên{hint}"
            )
    deadline = _deadline(doc, u.start, u.end, reference)
    conf = u.confidence
    if not refs:
        conf = min(conf, 0.6)
    if u.synthetic:
        review.append("văn bản không đánh số mục này; số mục do máy đặt")
    return ParsedDirective(
        number=u.number,
        label=u.label,
        synthetic_number=u.synthetic,
        level=u.level,
        text=text,
        span=doc.span(u.start, u.end),
        confidence=round(conf, 2),
        assignments=refs,
        mentions=mentions,
        deadline=deadline,
        review=review,
    )


def _dedupe_numbers(directives: list[ParsedDirective]) -> None:
    """Make directive numbers unique ('3' twice → '3', '3(2)')."""
    seen: dict[str, int] = {}
    for d in directives:
        if d.number in seen:
            seen[d.number] += 1
            d.number = f"{d.number}({seen[d.number]})"
            d.review.append("số mục bị trùng với mục khác; đã thêm hậu tố")
        else:
            seen[d.number] = 1


def _monitors(doc: _Doc, directives: list[ParsedDirective], header: _Header) -> tuple[list[AgencyRefDraft], str | None]:
    """The bodies that follow up the notice ('theo dõi, đôn đốc việc thực hiện Thông báo này')."""
    for rx in (_MONITOR, _MONITOR_LOOSE):
        for d in directives:
            if rx.search(_norm_low(d.text)) and d.assignments:
                return [r.model_copy() for r in d.assignments], f"theo mục {d.number} («theo dõi, đôn đốc …»)"
    issuer = header.issuer
    if issuer.value and issuer.span:
        ref = AgencyRefDraft(
            surface=issuer.raw or issuer.value,
            code=issuer.value,
            role="lead",
            confidence=0.4,
            span=issuer.span,
            reason="tạm lấy cơ quan ban hành",
            inherited=True,
        )
        return [
            ref
        ], "văn bản không giao cơ quan theo dõi, đôn đốc; tạm để cơ quan ban hành — chọn lại cơ quan theo dõi"
    return [], "văn bản không giao cơ quan theo dõi, đôn đốc; cần chọn cơ quan theo dõi"


__all__ = [
    "AgencyRefDraft",
    "DirectiveDeadline",
    "MetaValue",
    "NoticeDraftText",
    "NoticeParseError",
    "ParsedDirective",
    "SourceSpan",
    "parse_notice_text",
]
