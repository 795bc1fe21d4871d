"""Text from outside made safe for where it goes: NFC for lookups, markdown/HTML, spreadsheet cells, one-line fields."""

from __future__ import annotations

import html
import re
import unicodedata

# A cell starting with one of these is a formula (or becomes one) in Excel and LibreOffice (OWASP CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters that change the meaning of markdown; escaped with a backslash.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def nfc(text: str) -> str:
    """Return text in Unicode NFC, the one form dondoc stores and compares."""
    return unicodedata.normalize("NFC", text)


def has_line_break(text: str) -> bool:
    """Whether text holds a line break of any kind (refused in one-line fields)."""
    return bool(_LINE_BREAKS.search(text))


def one_line(text: str) -> str:
    """Fold every line break into a space, for cells and one-line labels."""
    return _LINE_BREAKS.sub(" ", text)


def spreadsheet_text(value: str) -> str:
    """Neutralise a text that a spreadsheet would read as a formula by prefixing a quote."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def markdown_text(value: str) -> str:
    """Escape outside text for one markdown line: HTML escaped, markdown specials escaped, line breaks folded."""
    # HTML first, without numeric entities (their "#" would then be escaped and break them).
    escaped = html.escape(one_line(value), quote=False).replace('"', "&quot;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
