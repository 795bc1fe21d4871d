"""The periodic report's workbook (XLSX): Tổng hợp, Chi tiết, Quá hạn, Gia hạn, Cập nhật mới, print-ready.

Written with XlsxWriter in constant_memory mode: each row goes to disk as it is written and every
cell format is created once per workbook, so 100,000 assignments (1.6 million cells) take a few
seconds and little memory (openpyxl, even write-only, spent about 25 µs per styled cell).

Formula injection: every text is written with write_string (never write(), never a formula), and
one starting with a character a spreadsheet reads as a formula (=, +, -, @, tab, CR: see
domain.safe_text.spreadsheet_text) also gets Excel's quotePrefix, so editing the cell cannot turn
it into one. The visible value is unchanged. Dates are real Excel dates (DD/MM/YYYY).
XlsxWriter stamps every zip entry 1980-01-01 and we set the document time: equal figures give equal bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from domain.labels import ROLE_VI, STATUS_VI
from domain.report_model import (
    CATEGORY_ORDER,
    OBLIGATION_STATES_VI,
    ON_TIME_RATE_METHOD_VI,
    Grid,
    ReportModel,
    update_rows,
)
from domain.report_periods import date_line_vi, period_label_vi
from domain.safe_text import spreadsheet_text
from domain.timeliness import CATEGORY_VI
from domain.workdays import local_date
from tasks.reporting.common import (
    DOCUMENT_FONT,
    GRID_HEADERS,
    ReportMeta,
    atomic,
    days_overdue,
    due_text,
    extension_values,
    group_title,
    rate_cell,
    update_text,
    update_values,
)

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
class _Look:
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


class _Formats:
    """The workbook's cell formats, each created once (XlsxWriter keeps them until the file is closed)."""

    def __init__(self, book: Workbook):
        self.book = book
        self.made: dict[_Look, Format] = {}

    def get(self, look: _Look) -> Format:
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


class _Sheet:
    """A worksheet written row by row, with the report's page setup."""

    def __init__(self, book: Workbook, formats: _Formats, title: str, widths: Sequence[float]):
        self.ws: _StreamedSheet = book.add_worksheet(title, worksheet_class=_StreamedSheet)
        self.columns = [xl_col_to_name(column) for column in range(len(widths))]
        self.xf: dict[tuple[bool, str | None, bool, bool], int] = {}
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

    def put(self, column: int, value: Any, look: _Look) -> None:
        """Write one cell of the current row: text as text, numbers as numbers, dates as dates."""
        row, ws = self.row, self.ws
        if value is None or value == "":
            ws.write_blank(row, column, None, self.formats.get(look))
        elif isinstance(value, str):
            if spreadsheet_text(value) is value:
                ws.write_string(row, column, value, self.formats.get(look))
            else:  # would read as a formula: keep it text, also when the cell is edited
                ws.write_string(row, column, value, self.formats.get(_with(look, quote=True)))
        elif isinstance(value, bool):
            ws.write_string(row, column, "Có" if value else "Không", self.formats.get(look))
        elif isinstance(value, date | datetime):
            ws.write_datetime(
                row, column, value, self.formats.get(_with(look, num_format=look.num_format or DATE_FORMAT))
            )
        else:
            ws.write_number(row, column, value, self.formats.get(look))

    def title(self, text: str, *, size: float = 13, bold: bool = True, italic: bool = False) -> None:
        """A line centred across the sheet's columns (centre-across-selection: no merged cells)."""
        look = _Look(bold=bold, italic=italic, size=size, align="centerContinuous", wrap=False)
        self.put(0, text, look)
        for column in range(1, self.width):
            self.put(column, None, look)
        self.row += 1

    def text(self, text: str, *, bold: bool = False, italic: bool = False) -> None:
        """A line of text in the first column."""
        self.put(0, text, _Look(bold=bold, italic=italic, wrap=False))
        self.row += 1

    def header(self, labels: Sequence[str]) -> int:
        """A bordered, shaded header row; returns its 1-based row number."""
        look = _Look(bold=True, align="center", border=True, fill="D9E2F3")
        for column, label in enumerate(labels):
            self.put(column, label, look)
        self.row += 1
        return self.row

    def data(self, values: Sequence[Any], *, bold: bool = False, formats: dict[int, str] | None = None) -> None:
        """A bordered data row: numbers and dates right, text left; text stays text (formula-looking text quoted)."""
        row = self.row + 1
        cells = []
        for column, value in enumerate(values):
            ref = f"{self.columns[column]}{row}"
            number_format = formats.get(column) if formats else None
            if value is None or value == "":
                cells.append(f'<c r="{ref}" s="{self._xf(bold, number_format, False, False)}"/>')
            elif isinstance(value, str):
                quoted = spreadsheet_text(value) is not value  # would read as a formula: quotePrefix keeps it text
                xf = self._xf(bold, number_format, False, quoted)
                cells.append(f'<c r="{ref}" s="{xf}" t="inlineStr">{_inline_text(value)}</c>')
            elif isinstance(value, bool):
                xf = self._xf(bold, number_format, False, False)
                cells.append(f'<c r="{ref}" s="{xf}" t="inlineStr"><is><t>{"Có" if value else "Không"}</t></is></c>')
            elif isinstance(value, date):  # a real Excel date (datetime is a date too: its day is shown)
                day = value.date() if isinstance(value, datetime) else value
                xf = self._xf(bold, number_format or DATE_FORMAT, True, False)
                cells.append(f'<c r="{ref}" s="{xf}"><v>{(day - _EXCEL_EPOCH).days}</v></c>')
            else:
                cells.append(f'<c r="{ref}" s="{self._xf(bold, number_format, True, False)}"><v>{value:.16G}</v></c>')
        self.ws.write_row_xml(self.row, len(values) - 1, "".join(cells))
        self.row += 1

    def _xf(self, bold: bool, number_format: str | None, right: bool, quote: bool) -> int:
        """The style index of a data cell (made once per combination)."""
        key = (bold, number_format, right, quote)
        found = self.xf.get(key)
        if found is None:
            look = _Look(
                bold=bold, border=True, num_format=number_format, align="right" if right else "left", quote=quote
            )
            found = self.xf[key] = self.formats.get(look)._get_xf_index()
        return found

    def blank(self) -> None:
        """An empty row."""
        self.row += 1


def _with(look: _Look, **changes: Any) -> _Look:
    """A look with some styles changed (the unchanged look when nothing changes)."""
    if all(getattr(look, k) == v for k, v in changes.items()):
        return look
    return replace(look, **changes)


def _grid_cells(label: Any, grid: Grid, prefix: Sequence[Any] = ()) -> list[Any]:
    """A grid row for the spreadsheet: numbers as numbers, the rate as a fraction formatted as a percentage."""
    return [*prefix, label, grid.total, *(grid.count(c) for c in CATEGORY_ORDER), rate_cell(grid)]


def _or_nothing(values: list[Any]) -> list[Any]:
    """Empty text cells of a listed row shown as "—"."""
    return [NOTHING if v is None or v == "" else v for v in values]


def write_xlsx(meta: ReportMeta, model: ReportModel, path: Path) -> Path:
    """Write the workbook: Tổng hợp, Chi tiết, Quá hạn, Gia hạn, Cập nhật mới; print-ready (A4 landscape, titles repeated)."""

    def write(target: Path) -> None:
        book = Workbook(str(target), {**WORKBOOK_OPTIONS, "tmpdir": str(target.parent)})
        created = meta.generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        book.set_properties({"title": f"Báo cáo {meta.heading}", "author": meta.issuer_name, "created": created})
        formats = _Formats(book)
        _summary_sheet(book, formats, meta, model)
        _detail_sheet(book, formats, meta, model)
        _overdue_sheet(book, formats, meta, model)
        _extension_sheet(book, formats, meta, model)
        _updates_sheet(book, formats, meta, model)
        book.close()

    return atomic(path, write)


def _heading(sheet: _Sheet, meta: ReportMeta, what: str) -> None:
    """The three title lines every sheet starts with (then a blank line: tables start at HEADER_ROW)."""
    sheet.title(f"BÁO CÁO {meta.title.upper()}", size=13)
    sheet.title(f"{what} — {meta.period.label_vi}; số liệu {meta.period.window_vi()}", size=11, bold=False, italic=True)
    sheet.title(f"{meta.issuer_name} · {date_line_vi(meta.place, meta.send_on)}", size=10, bold=False, italic=True)
    sheet.blank()


def _summary_sheet(book: Workbook, formats: _Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Tổng hợp: grids by directive (and notice), by agency, ranking, change, trend, ongoing obligations."""
    sheet = _Sheet(book, formats, "Tổng hợp", [7, 46, 12, 14, 14, 14, 12, 15, 14, 14])
    sheet.ws.repeat_rows(0, 2)
    _heading(sheet, meta, "Tổng hợp")
    percent = {7: PERCENT}
    section = 0

    def start(title: str) -> None:
        nonlocal section
        section += 1
        sheet.text(f"{_roman(section)}. {title}", bold=True)

    if meta.several:
        start("TỔNG HỢP THEO THÔNG BÁO")
        sheet.header(["STT", "Thông báo", *GRID_HEADERS])
        for i, r in enumerate(model.by_notice, start=1):
            sheet.data(_grid_cells(r.label, r.grid, [i]), formats=percent)
        sheet.data(_grid_cells("Cộng", model.total, [""]), bold=True, formats=percent)
        sheet.blank()
    start("TỔNG HỢP THEO MỤC")
    sheet.header(["STT", group_title(meta), *GRID_HEADERS])
    for i, r in enumerate(model.by_directive, start=1):
        sheet.data(_grid_cells(r.label, r.grid, [i]), formats=percent)
    sheet.data(_grid_cells("Cộng", model.total, [""]), bold=True, formats=percent)
    sheet.text(ON_TIME_RATE_METHOD_VI, italic=True)
    sheet.blank()
    start("TỔNG HỢP THEO CƠ QUAN")
    sheet.header(["STT", "Cơ quan", *GRID_HEADERS])
    for i, r in enumerate(model.by_agency, start=1):
        sheet.data(_grid_cells(r.label, r.grid, [i]), formats=percent)
    sheet.blank()
    if model.ranking_method_vi:  # empty when the ranking is switched off in config/reporting.yaml
        _ranking_section(sheet, model, start)
    start("SO VỚI KỲ TRƯỚC")
    change = model.change
    sheet.header(
        ["", "Nhóm", f"Kỳ trước ({meta.previous_label_vi})", f"Kỳ này ({meta.period.label_vi})", "Tăng (+), giảm (−)"]
    )
    if change is not None:
        for c in CATEGORY_ORDER:
            sheet.data(["", CATEGORY_VI[c], change.previous.count(c), change.current.count(c), change.delta(c)])
        sheet.data(
            [
                "",
                "Tổng số việc",
                change.previous.total,
                change.current.total,
                change.current.total - change.previous.total,
            ],
            bold=True,
        )
        sheet.data(
            ["", "Tỷ lệ hoàn thành đúng hạn", rate_cell(change.previous), rate_cell(change.current), None],
            formats={2: PERCENT, 3: PERCENT},
        )
    sheet.blank()
    start("XU HƯỚNG CÁC KỲ")
    sheet.header(["STT", "Kỳ báo cáo", *GRID_HEADERS])
    for i, p in enumerate(model.trend, start=1):
        sheet.data(_grid_cells(p.label_vi, p.grid, [i]), formats=percent)
    sheet.blank()
    start("NHIỆM VỤ THƯỜNG XUYÊN — THỰC HIỆN CHẾ ĐỘ BÁO CÁO ĐỊNH KỲ")
    sheet.header(["STT", "Mục", *OBLIGATION_STATES_VI.values()])
    for i, ongoing in enumerate(model.obligations, start=1):
        sheet.data([i, ongoing.label, *ongoing.counts.values()])
    if not model.obligations:
        sheet.text("Không có nhiệm vụ thường xuyên.", italic=True)


def _ranking_section(sheet: _Sheet, model: ReportModel, start: Callable[[str], None]) -> None:
    """Xếp hạng cơ quan: dense ranks, the method stated below the table."""
    start("XẾP HẠNG CƠ QUAN")
    sheet.header(
        ["Hạng", "Cơ quan", "Điểm", "Chủ trì", "Phối hợp", "Quá hạn", "Ngày làm việc quá hạn", "Hoàn thành đúng hạn"]
    )
    for ranked in model.ranking:
        sheet.data(
            [
                ranked.rank,
                ranked.agency_name,
                round(float(ranked.score), 1),
                ranked.lead,
                ranked.support,
                ranked.grid.overdue,
                ranked.days_overdue,
                ranked.grid.on_time,
            ],
            formats={2: "0.0"},
        )
    sheet.text(f"Phương pháp: {model.ranking_method_vi}", italic=True)
    sheet.blank()


DETAIL_HEADERS = [
    "STT",
    "Thông báo",
    "Mục",
    "Nội dung (trích)",
    "Cơ quan",
    "Vai trò",
    "Trạng thái",
    "Tiến độ (%)",
    "Hạn ban đầu",
    "Hạn hiện tại",
    "Số lần gia hạn",
    "Tình trạng",
    "Số ngày làm việc quá hạn",
    "Báo cáo định kỳ",
    "Cập nhật gần nhất",
    "Số văn bản",
]


def _detail_sheet(book: Workbook, formats: _Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Chi tiết: one row per assignment, as it stood at the cut-off."""
    sheet = _Sheet(book, formats, "Chi tiết", [6, 16, 7, 40, 24, 9, 14, 9, 11, 11, 9, 26, 11, 30, 24, 16])
    sheet.ws.freeze_panes(HEADER_ROW, 0)
    _heading(sheet, meta, "Chi tiết từng việc")
    row = sheet.header(DETAIL_HEADERS)
    assert row == HEADER_ROW
    sheet.ws.repeat_rows(row - 1)
    for i, x in enumerate(model.lines, start=1):
        last = x.last_progress or x.last_update
        sheet.data(
            [
                i,
                x.directive.notice_number,
                x.directive.number,
                x.directive.excerpt,
                x.agency_name,
                ROLE_VI[x.role],
                STATUS_VI.get(x.status, x.status),
                x.percent,
                x.original_due,
                x.current_due,
                len(x.extensions) or None,
                x.timeliness.label_vi,
                days_overdue(x),
                x.obligation.label_vi + f" (kỳ {period_label_vi(x.obligation.period)})" if x.obligation else None,
                update_text(x),
                last.document_number if last else None,
            ]
        )
    sheet.ws.autofilter(row - 1, 0, row - 1 + len(model.lines), len(DETAIL_HEADERS) - 1)


OVERDUE_HEADERS = [
    "STT",
    "Thông báo",
    "Mục",
    "Cơ quan",
    "Vai trò",
    "Hạn",
    "Số ngày làm việc quá hạn",
    "Cập nhật gần nhất",
    "Số văn bản",
]


def _overdue_sheet(book: Workbook, formats: _Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Quá hạn: the overdue items at the cut-off, most overdue first."""
    sheet = _Sheet(book, formats, "Quá hạn", [6, 18, 8, 30, 10, 30, 13, 28, 18])
    sheet.ws.freeze_panes(HEADER_ROW, 0)
    _heading(sheet, meta, "Việc quá hạn")
    row = sheet.header(OVERDUE_HEADERS)
    sheet.ws.repeat_rows(row - 1)
    for i, x in enumerate(model.overdue, start=1):
        last = x.last_progress or x.last_update
        sheet.data(
            [
                i,
                x.directive.notice_number,
                x.directive.number,
                x.agency_name,
                ROLE_VI[x.role],
                due_text(x),
                x.timeliness.days_overdue,
                update_text(x),
                last.document_number if last else None,
            ]
        )
    if not model.overdue:
        sheet.text("Không có việc quá hạn.", italic=True)


def _extension_sheet(book: Workbook, formats: _Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Gia hạn: the extensions approved in the period."""
    sheet = _Sheet(book, formats, "Gia hạn", [6, 12, 30, 12, 12, 40, 24, 12])
    _heading(sheet, meta, "Gia hạn trong kỳ")
    row = sheet.header(["STT", "Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt", "Ngày duyệt"])
    sheet.ws.repeat_rows(row - 1)
    for i, (x, e) in enumerate(model.extensions, start=1):
        sheet.data([i, *_or_nothing(extension_values(x, e, meta.several)), local_date(e.at)])
    sheet.text(f"Tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}.", italic=True)


def _updates_sheet(book: Workbook, formats: _Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Cập nhật mới: each assignment's latest progress report in the period, newest first."""
    sheet = _Sheet(book, formats, "Cập nhật mới", [6, 12, 12, 30, 18, 18, 50])
    _heading(sheet, meta, "Báo cáo tiến độ mới nhất trong kỳ")
    row = sheet.header(["STT", "Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"])
    sheet.ws.repeat_rows(row - 1)
    for i, update_row in enumerate(update_rows(model.updates), start=1):
        sheet.data([i, *_or_nothing(update_values(update_row, meta.several))])


def _roman(n: int) -> str:
    """Roman numerals for section numbers."""
    values = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, letters in values:
        while n >= value:
            out, n = out + letters, n - value
    return out
