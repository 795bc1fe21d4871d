"""The periodic report's workbook (XLSX): Tổng hợp, Chi tiết, Quá hạn, Gia hạn, Cập nhật mới, print-ready.

Written row by row through tasks/reporting/sheet.py (XlsxWriter in constant_memory mode, formats made
once, each distinct text stored once as a shared string), so 100,000 assignments (1.6 million cells)
take a few seconds and little memory. Text from outside stays text, never a formula (see sheet.py).
XlsxWriter stamps every zip entry 1980-01-01 and we set the document time: equal figures give equal bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook

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
from domain.timeliness import CATEGORY_VI
from domain.workdays import local_date
from tasks.reporting.common import (
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
from tasks.reporting.sheet import HEADER_ROW, NOTHING, PERCENT, WORKBOOK_OPTIONS, Formats, Sheet


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
        formats = Formats(book)
        _summary_sheet(book, formats, meta, model)
        _detail_sheet(book, formats, meta, model)
        _overdue_sheet(book, formats, meta, model)
        _extension_sheet(book, formats, meta, model)
        _updates_sheet(book, formats, meta, model)
        book.close()

    return atomic(path, write)


def _heading(sheet: Sheet, meta: ReportMeta, what: str) -> None:
    """The three title lines every sheet starts with (then a blank line: tables start at HEADER_ROW)."""
    sheet.title(f"BÁO CÁO {meta.title.upper()}", size=13)
    sheet.title(f"{what} — {meta.period.label_vi}; số liệu {meta.period.window_vi()}", size=11, bold=False, italic=True)
    sheet.title(f"{meta.issuer_name} · {date_line_vi(meta.place, meta.send_on)}", size=10, bold=False, italic=True)
    sheet.blank()


def _summary_sheet(book: Workbook, formats: Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Tổng hợp: grids by directive (and notice), by agency, ranking, change, trend, ongoing obligations."""
    sheet = Sheet(book, formats, "Tổng hợp", [7, 46, 12, 14, 14, 14, 12, 15, 14, 14])
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


def _ranking_section(sheet: Sheet, model: ReportModel, start: Callable[[str], None]) -> None:
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


def _detail_sheet(book: Workbook, formats: Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Chi tiết: one row per assignment, as it stood at the cut-off."""
    sheet = Sheet(book, formats, "Chi tiết", [6, 16, 7, 40, 24, 9, 14, 9, 11, 11, 9, 26, 11, 30, 24, 16])
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


def _overdue_sheet(book: Workbook, formats: Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Quá hạn: the overdue items at the cut-off, most overdue first."""
    sheet = Sheet(book, formats, "Quá hạn", [6, 18, 8, 30, 10, 30, 13, 28, 18])
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


def _extension_sheet(book: Workbook, formats: Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Gia hạn: the extensions approved in the period."""
    sheet = Sheet(book, formats, "Gia hạn", [6, 12, 30, 12, 12, 40, 24, 12])
    _heading(sheet, meta, "Gia hạn trong kỳ")
    row = sheet.header(["STT", "Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt", "Ngày duyệt"])
    sheet.ws.repeat_rows(row - 1)
    for i, (x, e) in enumerate(model.extensions, start=1):
        sheet.data([i, *_or_nothing(extension_values(x, e, meta.several)), local_date(e.at)])
    sheet.text(f"Tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}.", italic=True)


def _updates_sheet(book: Workbook, formats: Formats, meta: ReportMeta, model: ReportModel) -> None:
    """Cập nhật mới: each assignment's latest progress report in the period, newest first."""
    sheet = Sheet(book, formats, "Cập nhật mới", [6, 12, 12, 30, 18, 18, 50])
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
