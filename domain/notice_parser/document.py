"""The notice text as the parser walks it: NFC text, a tone-normalised lowercase twin of the same length, lines."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from domain.notice_parser.models import SourceSpan
from domain.text import normalize_vietnamese


def lower_same_length(text: str) -> str:
    """Lowercase char by char, keeping offsets (a char whose lowercase is longer stays as is)."""
    if "Σ" not in text:  # str.lower() maps a word-final Σ to ς; char by char it is σ
        low = text.lower()
        if len(low) == len(text):  # no char lowered to two: the same as char by char, in one C call
            return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


_WORD = re.compile(r"\w+", re.UNICODE)  # the words domain.text.normalize_vietnamese places tones in


@lru_cache(maxsize=1 << 16)
def _tone_word(word: str) -> str:
    """One word with its tone in the canonical place (a notice repeats the same few thousand words)."""
    return normalize_vietnamese(word)


def _normalize(text: str) -> str:
    """normalize_vietnamese(text), word by word through a cache: the same result, several times faster."""
    return _WORD.sub(lambda m: _tone_word(m.group(0)), unicodedata.normalize("NFC", text))


def norm_low(text: str) -> str:
    """Return tone-normalised lowercase text with the same length as the NFC input."""
    norm = _normalize(text)
    if len(norm) != len(text):
        norm = "".join(normalize_vietnamese(c) if len(normalize_vietnamese(c)) == 1 else c for c in text)
        if len(norm) != len(text):
            norm = text
    return lower_same_length(norm)


def vi_pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a pattern written in Vietnamese against tone-normalised lowercase text."""
    return re.compile(normalize_vietnamese(unicodedata.normalize("NFC", pattern)), flags | re.UNICODE)


def clean(text: str) -> str:
    """Collapse whitespace and drop Markdown emphasis marks."""
    text = re.sub(r"\*\*|__", "", text)
    return " ".join(text.split())


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?[aăâeêioôơuưy]{1,3}(?:ng|nh|ch|[cmnpt])?$"
)


def is_syllable(word: str) -> bool:
    """True when word looks like one Vietnamese syllable (so it is not an acronym like OCOP)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if c not in _TONES)
    return bool(_SYLLABLE.match(unicodedata.normalize("NFC", bare)))


def starts_upper(s: str) -> bool:
    """True when the first letter-or-digit of s is upper case or a digit."""
    for c in s:
        if c.isalnum():
            return c.isupper() or c.isdigit()
    return False


def ends_sentence(s: str) -> bool:
    """True when s ends a sentence or a heading ('.', ':', ';', '!', '?', closing quote)."""
    s = re.sub(r"[*_\s]+$", "", s)
    return bool(s) and s[-1] in '.:;!?…”")'


@dataclass
class Doc:
    """The NFC text, its tone-normalised lowercase twin and line offsets."""

    text: str
    low: str
    line_starts: list[int]

    @classmethod
    def of(cls, text: str) -> Doc:
        """Build from raw text (any normal form, any line ends)."""
        nfc = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).lstrip("\ufeff")
        starts = [0] + [m.end() for m in re.finditer("\n", nfc)]
        return cls(nfc, norm_low(nfc), starts)

    @property
    def nlines(self) -> int:
        """Number of lines."""
        return len(self.line_starts)

    def line(self, i: int) -> str:
        """Line i (0-based) without its newline."""
        return self.text[self.line_starts[i] : self.line_end(i)]

    def line_end(self, i: int) -> int:
        """Offset just past line i's last character."""
        return self.line_starts[i + 1] - 1 if i + 1 < self.nlines else len(self.text)

    def line_of(self, offset: int) -> int:
        """0-based line of an offset (offsets before the text fall on line 0)."""
        return max(bisect.bisect_right(self.line_starts, offset) - 1, 0)

    def span(self, start: int, end: int) -> SourceSpan:
        """A SourceSpan with 1-based lines."""
        return SourceSpan(
            start=start, end=end, line_start=self.line_of(start) + 1, line_end=self.line_of(max(start, end - 1)) + 1
        )
