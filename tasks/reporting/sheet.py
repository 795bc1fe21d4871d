"""The report workbook's sheets: XlsxWriter in constant_memory mode, each row written once, every cell
format made once per workbook, data rows rendered as one string of cell XML with shared strings.

Text stays text: every text is written as a text cell (write_string or a shared string, never a
formula), and one starting with a character a spreadsheet reads as a formula (=, +, -, @, tab, CR:
see domain.safe_text.spreadsheet_text) also gets Excel's quotePrefix, so editing the cell cannot
turn it into one. Dates are real Excel dates (DD/MM/YYYY).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from domain.safe_text import spreadsheet_text
from tasks.reporting.common import DOCUMENT_FONT

PERCENT = "0.0%"
DATE_FORMAT = "DD/MM/YYYY"
HEADER_ROW = 5  # 1-based: three title lines and a blank line come first
NOTHING = "—"
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    # Text stays text: XlsxWriter's generic write() would turn "=…" into a formula and "123" into a number.
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


@dataclass(frozen=True, slots=True)
class Look:
    """One combination of cell styles."""

    bold: bool = False
    italic: bool = False
    size: float = 11
    align: str = "left"
    wrap: bool = True
    border: bool = False
    fill: str | None = None
    num_format: str | None = None
    quote: bool = False


class Formats:
    """The workbook's cell formats, each created once (XlsxWriter keeps them until the file is closed)."""

    def __init__(self, book: Workbook):
        self.book = book
        self.made: dict[Look, Format] = {}
        self.texts = _Texts(book)

    def get(self, look: Look) -> Format:
        """The format of one combination of styles."""
        found = self.made.get(look)
        if found is None:
            props: dict[str, Any] = {
                "font_name": DOCUMENT_FONT,
                "font_size": look.size,
                "bold": look.bold,
                "italic": look.italic,
                "valign": "top" if look.wrap else "vcenter",
                "text_wrap": look.wrap,
            }
            props["align"] = "center_across" if look.align == "centerContinuous" else look.align
            if look.border:
                props |= {"border": 1, "border_color": "#808080"}
            if look.fill:
                props |= {"pattern": 1, "bg_color": f"#{look.fill}"}
            if look.num_format:
                props["num_format"] = look.num_format
            if look.quote:
                props["quote_prefix"] = True
            found = self.made[look] = self.book.add_format(props)
        return found


_EXCEL_EPOCH = date(1899, 12, 30)  # serial 0 in the 1900 date system (Excel's 1900 leap-year bug included)
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_MAX_TEXT = 32767 // 2  # a string this short cannot pass Excel's limit of 32,767 UTF-16 units


def _inline_text(text: str) -> str:
    """An inline string cell body, escaped the way XlsxWriter escapes it (controls as _xHHHH_, &, <, >)."""
    if len(text) > _MAX_TEXT and _utf16_len(text) > 32767:
        text = _utf16_truncate(text, 32767)
    if not _XML_SPECIAL.search(text):
        return f"<is><t>{text}</t></is>"
    text = XMLwriter._escape_control_characters(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f"<is><t{space}>{text}</t></is>"


class _Texts:
    """The cell body of each distinct text, made once per workbook: an index into the shared strings.

    A report repeats the same texts tens of thousands of times (agency names, statuses, excerpts): each is
    stored once in sharedStrings.xml and a cell only refers to it, so the sheets are smaller and quicker to
    write and compress. XlsxWriter writes a shared string that looks like "<r>…</r>" as raw rich-text XML:
    such a text is kept inline instead, escaped, so no outside text can change the file's markup.
    """

    def __init__(self, book: Workbook):
        self.table = book.str_table
        self.bodies: dict[str, tuple[bool, str]] = {}

    def body(self, text: str) -> tuple[bool, str]:
        """Whether the text needs quotePrefix (it would read as a formula), and the cell's type and value markup."""
        found = self.bodies.get(text)
        if found is None:
            quoted = spreadsheet_text(text) is not text
            if text.startswith("<r>") and text.endswith("</r>"):
                found = (quoted, f't="inlineStr">{_inline_text(text)}')
            else:
                shown = _utf16_truncate(text, 32767) if len(text) > _MAX_TEXT and _utf16_len(text) > 32767 else text
                index = self.table._get_shared_string_index(shown)
                self.table.count -= 1  # counted below, once per cell
                found = (quoted, f't="s"><v>{index}</v>')
            self.bodies[text] = found
        self.table.count += 1
        return found


class _StreamedSheet(Worksheet):  # type: ignore[misc]  # XlsxWriter's Worksheet is untyped for mypy here
    """A constant-memory worksheet that also takes whole rows of ready-made cell XML.

    XlsxWriter spends about 5 µs per cell in its generic write path (argument checks, a cell tuple,
    attribute escaping); the report's data rows (1.6 million cells at 100,000 assignments) are rendered
    here in one string per row with the same markup, and everything else goes through XlsxWriter.
    """

    previous_row: int  # set by Worksheet: the row the generic path is still collecting

    def write_row_xml(self, row: int, last_column: int, cells: str) -> None:
        """Write row (0-based) whose cells, up to last_column, are the given <c> elements."""
        if row > self.previous_row:
            self._write_single_row(row)  # flush a row written through the generic API
        self._check_dimensions(row, 0)
        self._check_dimensions(row, last_column)
        self.fh.write(f'<row r="{row + 1}">{cells}</row>')
        self.previous_row = row


class Sheet:
    """A worksheet written row by row, with the report's page setup."""

    def __init__(self, book: Workbook, formats: Formats, title: str, widths: Sequence[float]):
        self.ws: _StreamedSheet = book.add_worksheet(title, worksheet_class=_StreamedSheet)
        self.columns = [xl_col_to_name(column) for column in range(len(widths))]
        self.xf: dict[tuple[bool, str | None, bool, bool], int] = {}
        self.styles: dict[tuple[bool, str | None], tuple[int, int, int, int]] = {}
        self.formats = formats
        self.width = len(widths)
        self.row = 0  # rows written so far (the next row's 0-based index)
        for index, width in enumerate(widths):
            self.ws.set_column(index, index, width)
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many tall as needed
        ws.center_horizontally()
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer("&CTrang &P/&N&R&A")

    def put(self, column: int, value: Any, look: Look) -> None:
        """Write one cell of the current row: text as text, numbers as numbers, dates as dates."""
        row, ws = self.row, self.ws
        if value is None or value == "":
            ws.write_blank(row, column, None, self.formats.get(look))
        elif isinstance(value, str):
            if spreadsheet_text(value) is value:
                ws.write_string(row, column, value, self.formats.get(look))
            else:  # would read as a formula: keep it text, also when the cell is edited
                ws.write_string(row, column, value, self.formats.get(with_look(look, quote=True)))
        elif isinstance(value, bool):
            ws.write_string(row, column, "Có" if value else "Không", self.formats.get(look))
        elif isinstance(value, date | datetime):
            ws.write_datetime(
                row, column, value, self.formats.get(with_look(look, num_format=look.num_format or DATE_FORMAT))
            )
        else:
            ws.write_number(row, column, value, self.formats.get(look))

    def title(self, text: str, *, size: float = 13, bold: bool = True, italic: bool = False) -> None:
        """A line centred across the sheet's columns (centre-across-selection: no merged cells)."""
        look = Look(bold=bold, italic=italic, size=size, align="centerContinuous", wrap=False)
        self.put(0, text, look)
        for column in range(1, self.width):
            self.put(column, None, look)
        self.row += 1

    def text(self, text: str, *, bold: bool = False, italic: bool = False) -> None:
        """A line of text in the first column."""
        self.put(0, text, Look(bold=bold, italic=italic, wrap=False))
        self.row += 1

    def header(self, labels: Sequence[str]) -> int:
        """A bordered, shaded header row; returns its 1-based row number."""
        look = Look(bold=True, align="center", border=True, fill="D9E2F3")
        for column, label in enumerate(labels):
            self.put(column, label, look)
        self.row += 1
        return self.row

    def data(self, values: Sequence[Any], *, bold: bool = False, formats: dict[int, str] | None = None) -> None:
        """A bordered data row: numbers and dates right, text left; text stays text (formula-looking text quoted)."""
        row = str(self.row + 1)
        cells = []
        text_body = self.formats.texts.body
        plain = self._styles(bold, None)
        for column, value in enumerate(values):
            ref = self.columns[column] + row
            text, quoted_text, number, day_xf = (
                self._styles(bold, formats[column]) if formats and column in formats else plain
            )
            if value is None or value == "":
                cells.append(f'<c r="{ref}" s="{text}"/>')
            elif isinstance(value, str):
                quoted, body = text_body(value)  # quoted: would read as a formula, quotePrefix keeps it text
                cells.append(f'<c r="{ref}" s="{quoted_text if quoted else text}" {body}</c>')
            elif isinstance(value, bool):
                _, body = text_body("Có" if value else "Không")
                cells.append(f'<c r="{ref}" s="{text}" {body}</c>')
            elif isinstance(value, date):  # a real Excel date (datetime is a date too: its day is shown)
                day = value.date() if isinstance(value, datetime) else value
                cells.append(f'<c r="{ref}" s="{day_xf}"><v>{(day - _EXCEL_EPOCH).days}</v></c>')
            else:
                cells.append(f'<c r="{ref}" s="{number}"><v>{value:.16G}</v></c>')
        self.ws.write_row_xml(self.row, len(values) - 1, "".join(cells))
        self.row += 1

    def _styles(self, bold: bool, number_format: str | None) -> tuple[int, int, int, int]:
        """The style indexes of a data cell as text, quoted text, number and date (made once per combination)."""
        key = (bold, number_format)
        found = self.styles.get(key)
        if found is None:
            found = self.styles[key] = (
                self._xf(bold, number_format, False, False),
                self._xf(bold, number_format, False, True),
                self._xf(bold, number_format, True, False),
                self._xf(bold, number_format or DATE_FORMAT, True, False),
            )
        return found

    def _xf(self, bold: bool, number_format: str | None, right: bool, quote: bool) -> int:
        """The style index of a data cell (made once per combination)."""
        key = (bold, number_format, right, quote)
        found = self.xf.get(key)
        if found is None:
            look = Look(
                bold=bold, border=True, num_format=number_format, align="right" if right else "left", quote=quote
            )
            found = self.xf[key] = self.formats.get(look)._get_xf_index()
        return found

    def blank(self) -> None:
        """An empty row."""
        self.row += 1


def with_look(look: Look, **changes: Any) -> Look:
    """A look with some styles changed (the unchanged look when nothing changes)."""
    if all(getattr(look, k) == v for k, v in changes.items()):
        return look
    return replace(look, **changes)
