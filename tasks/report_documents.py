"""The periodic report's files: XLSX (openpyxl), DOCX in Vietnamese administrative form (python-docx),
PNG charts (matplotlib, Agg), and the markdown and tables of the Prefect artifacts.

Writers only format figures computed by domain/report_model.py. Files are reproducible: the same
figures and the same run record give the same bytes (fixed document times, fixed zip timestamps),
so a report made again does not come out different.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from domain.labels import ROLE_VI, STATUS_VI
from domain.report_model import (
    CATEGORY_ORDER,
    OBLIGATION_STATES_VI,
    ON_TIME_RATE_METHOD_VI,
    Grid,
    GroupRow,
    ReportLine,
    ReportModel,
    percent_vi,
    signed,
)
from domain.report_periods import ReportPeriod, date_line_vi, period_label_vi
from domain.text import ascii_slug
from domain.timeliness import CATEGORY_VI, Category
from domain.workdays import VN_TZ, format_date_vi, local_date

GRID_HEADERS = ["Tổng số việc", *(CATEGORY_VI[c] for c in CATEGORY_ORDER), "Tỷ lệ hoàn thành đúng hạn"]
COLORS = {
    Category.on_time: "#2e7d32",
    Category.late: "#f9a825",
    Category.in_progress: "#1565c0",
    Category.overdue: "#c62828",
}
DOCX_FONT = "Times New Roman"
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and has every Vietnamese letter


@dataclass(frozen=True)
class NoticeInfo:
    """What the report says about a notice."""

    notice_id: int
    number: str
    placeholder: bool
    issued_on: date
    title: str
    issuer_code: str
    issuer_name: str
    monitors: tuple[str, ...]
    lead_monitor: str | None


@dataclass(frozen=True)
class IssuerHeading:
    """How the issuing body heads and signs its report."""

    parent: str
    name: str
    symbol: str
    signature: list[str]


@dataclass(frozen=True)
class ReportMeta:
    """Everything around the figures: scope, period, dates, issuer, title, recipients, limits."""

    scope_key: str
    slug: str
    period: ReportPeriod
    previous_label_vi: str
    send_on: date
    generated_at: datetime
    place: str
    issuer: IssuerHeading
    issuer_name: str
    title: str
    notices: list[NoticeInfo]
    recipients_vi: list[str]
    document_rows: int = 30
    chart_groups: int = 15

    @property
    def several(self) -> bool:
        """Whether the report covers more than one notice."""
        return len(self.notices) > 1

    @property
    def base_name(self) -> str:
        """File name stem: bao-cao-<scope>-<period>."""
        return f"bao-cao-{self.slug}-{ascii_slug(self.period.label)}"

    @property
    def heading(self) -> str:
        """The full title with the period: "Kết quả thực hiện … — quý IV/2022"."""
        return f"{self.title}, {self.period.label_vi}"


# --- shared wording ----------------------------------------------------------------------------------


def rate_cell(grid: Grid) -> float | None:
    """The on-time rate as a number for a spreadsheet cell (None when nothing is due yet)."""
    rate = grid.on_time_rate
    return float(rate) if rate is not None else None


def grid_values(grid: Grid) -> list[Any]:
    """Total, the four categories, the rate (as text)."""
    return [grid.total, *(grid.count(c) for c in CATEGORY_ORDER), percent_vi(grid.on_time_rate)]


def due_text(line: ReportLine) -> str:
    """The deadline as a cell: the date, or the periodic report's period and due date for ongoing work."""
    t = line.timeliness
    if line.directive.ongoing:
        if t.due is None:
            return "Thường xuyên"
        return f"Báo cáo {period_label_vi(t.period)}: {format_date_vi(t.due)}" if t.period else format_date_vi(t.due)
    if line.current_due is None:
        return "—"
    text = format_date_vi(line.current_due)
    if line.original_due is not None and line.current_due != line.original_due:
        text += f" (gia hạn từ {format_date_vi(line.original_due)})"
    return text


def update_text(line: ReportLine) -> str:
    """The latest update as a cell: "16/09/2022: Đang thực hiện 40%"."""
    u = line.last_update
    if u is None:
        return "Chưa có báo cáo"
    text = f"{format_date_vi(local_date(u.at))}: {STATUS_VI.get(u.status, u.status)}"
    return f"{text} {u.percent}%" if u.percent is not None and u.status != "done" else text


def days_overdue(line: ReportLine) -> int | None:
    """Working days overdue (or late); None when on schedule."""
    return line.timeliness.days_overdue if line.category in (Category.overdue, Category.late) else None


def item_label(line: ReportLine, several: bool) -> str:
    """ "2.3" or "1061-TB/TU · 2.3"."""
    return f"{line.directive.notice_number} · {line.directive.number}" if several else line.directive.number


def group_title(meta: ReportMeta) -> str:
    """Heading word of the first grid: by directive."""
    return "Mục" if not meta.several else "Thông báo, mục"


# --- Prefect tables and markdown ---------------------------------------------------------------------


def directive_table_rows(meta: ReportMeta, model: ReportModel) -> list[dict[str, Any]]:
    """The grid per directive (and the total), for a table artifact."""
    rows = [_grid_row(group_title(meta), r.label, r.grid) for r in model.by_directive]
    return rows + [_grid_row(group_title(meta), "Cộng", model.total)]


def _grid_row(first: str, label: str, grid: Grid) -> dict[str, Any]:
    """One grid row as a dict with Vietnamese keys."""
    return dict(zip([first, *GRID_HEADERS], [label, *grid_values(grid)], strict=True))


def agency_table_rows(model: ReportModel) -> list[dict[str, Any]]:
    """Agencies in rank order, with their grid, score and working days overdue."""
    return [
        {
            "Hạng": r.rank,
            "Cơ quan": r.agency_name,
            "Điểm": _score(r.score),
            "Chủ trì": r.lead,
            "Phối hợp": r.support,
            **dict(zip(GRID_HEADERS, grid_values(r.grid), strict=True)),
            "Tổng số ngày làm việc quá hạn": r.days_overdue,
        }
        for r in model.ranking
    ]


def overdue_table_rows(model: ReportModel, limit: int) -> list[dict[str, Any]]:
    """The overdue items, most overdue first."""
    several = len(model.by_notice) > 1
    return [
        {
            "Mục": item_label(x, several),
            "Cơ quan": x.agency_name,
            "Vai trò": ROLE_VI[x.role],
            "Hạn": due_text(x),
            "Số ngày làm việc quá hạn": x.timeliness.days_overdue,
            "Cập nhật gần nhất": update_text(x),
        }
        for x in model.overdue[:limit]
    ]


def _score(score: Any) -> str:
    """A score with one decimal, Vietnamese style: 83,3."""
    return f"{float(score):.1f}".replace(".", ",").removesuffix(",0")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A markdown table."""
    clean = [[str(v).replace("|", "/").replace("\n", " ") if v is not None else "" for v in row] for row in rows]
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(r) + " |" for r in clean),
    ]


def _more(total: int, shown: int) -> list[str]:
    """A note when a list was cut."""
    return ["", f"*… và {total - shown} mục khác (xem đầy đủ trong tệp Excel).*"] if total > shown else []


def report_markdown(meta: ReportMeta, model: ReportModel) -> str:
    """The report as markdown, for the Prefect artifact (lists cut to document_rows)."""
    limit, several, total = meta.document_rows, meta.several, model.total
    out = [
        f"# Báo cáo {meta.heading[0].lower() + meta.heading[1:]}",
        "",
        f"{meta.issuer_name} · {date_line_vi(meta.place, meta.send_on)} · số liệu {meta.period.window_vi()} "
        "(Nghị định 09/2019/NĐ-CP).",
        "",
        "## I. Kết quả chung",
        "",
        f"Tổng số **{total.total}** việc: hoàn thành đúng hạn **{total.on_time}**, hoàn thành quá hạn **{total.late}**, "
        f"đang thực hiện trong hạn **{total.in_progress}**, quá hạn **{total.overdue}**. "
        f"Tỷ lệ hoàn thành đúng hạn: **{percent_vi(total.on_time_rate)}** ({total.on_time}/{total.due}).",
        "",
        f"*{ON_TIME_RATE_METHOD_VI}*",
        "",
    ]
    rows = [[r.label, *grid_values(r.grid)] for r in model.by_directive[:limit]] + [["**Cộng**", *grid_values(total)]]
    out += _md_table([group_title(meta), *GRID_HEADERS], rows) + _more(
        len(model.by_directive), min(limit, len(model.by_directive))
    )
    out += ["", "## II. So với kỳ trước", ""] + _change_lines(meta, model)
    out += ["", "## III. Việc quá hạn", ""]
    if model.overdue:
        out += _md_table(
            ["Mục", "Cơ quan", "Vai trò", "Hạn", "Số ngày làm việc quá hạn"],
            [
                [item_label(x, several), x.agency_name, ROLE_VI[x.role], due_text(x), x.timeliness.days_overdue]
                for x in model.overdue[:limit]
            ],
        )
        out += _more(len(model.overdue), limit)
    else:
        out.append("Không có việc quá hạn.")
    out += ["", "## IV. Gia hạn trong kỳ", ""]
    if model.extensions:
        out += _md_table(
            ["Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt"],
            [_extension_cells(x, e, several) for x, e in model.extensions[:limit]],
        )
        out += _more(len(model.extensions), limit)
    else:
        out.append("Không có việc được gia hạn trong kỳ.")
    out += ["", f"Tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}."]
    out += ["", "## V. Nhiệm vụ thường xuyên — báo cáo định kỳ", ""]
    if model.obligations:
        out += _md_table(
            ["Mục", *OBLIGATION_STATES_VI.values()], [[r.label, *r.counts.values()] for r in model.obligations[:limit]]
        )
    else:
        out.append("Không có nhiệm vụ thường xuyên.")
    out += ["", "## VI. Cập nhật mới nhất trong kỳ", ""]
    if model.updates:
        out += _md_table(
            ["Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"],
            [_update_cells(x, u, several) for x, u in model.updates[:limit]],
        )
        out += _more(len(model.updates), limit)
    else:
        out.append("Không có báo cáo tiến độ mới trong kỳ.")
    out += ["", "## VII. Xếp hạng cơ quan", "", f"*Phương pháp: {model.ranking_method_vi}*", ""]
    out += _md_table(
        ["Hạng", "Cơ quan", "Điểm", "Số việc", "Quá hạn", "Số ngày làm việc quá hạn"],
        [
            [r.rank, r.agency_name, _score(r.score), r.grid.total, r.grid.overdue, r.days_overdue]
            for r in model.ranking[:limit]
        ],
    )
    out += _more(len(model.ranking), limit)
    out += ["", "## VIII. Xu hướng các kỳ", ""]
    out += _md_table(["Kỳ", *GRID_HEADERS], [[p.label_vi, *grid_values(p.grid)] for p in model.trend])
    return "\n".join(out) + "\n"


def _change_lines(meta: ReportMeta, model: ReportModel) -> list[str]:
    """The change since the previous period, as sentences."""
    change = model.change
    if change is None or not change.previous.total:
        return [f"Kỳ {meta.previous_label_vi} chưa có việc để so sánh."]
    deltas = "; ".join(
        f"{CATEGORY_VI[c].lower()} {change.previous.count(c)} → {change.current.count(c)} ({signed(change.delta(c))})"
        for c in CATEGORY_ORDER
    )
    lines = [
        f"So với kỳ {change.previous_label_vi}: {deltas}. Tỷ lệ hoàn thành đúng hạn: kỳ trước "
        f"{_rate_words(change.previous)}, kỳ này {_rate_words(change.current)}."
    ]
    several = meta.several
    if change.newly_overdue:
        names = ", ".join(
            f"{x.agency_name} (mục {item_label(x, several)})" for x in change.newly_overdue[: meta.document_rows]
        )
        lines += ["", f"Việc mới quá hạn trong kỳ ({len(change.newly_overdue)}): {names}."]
    if change.resolved:
        names = ", ".join(
            f"{x.agency_name} (mục {item_label(x, several)})" for x in change.resolved[: meta.document_rows]
        )
        lines += ["", f"Việc hết quá hạn trong kỳ ({len(change.resolved)}): {names}."]
    return lines


def _rate_words(grid: Grid) -> str:
    """The on-time rate inside a sentence: "40%", or that nothing was due yet."""
    return percent_vi(grid.on_time_rate) if grid.on_time_rate is not None else "chưa có việc đến hạn"


def _extension_cells(line: ReportLine, entry: Any, several: bool) -> list[Any]:
    """Directive, agency, previous and new due dates, reason, approver of one extension."""
    index = line.extensions.index(entry)
    before = line.extensions[index - 1].due if index else line.original_due
    return [
        item_label(line, several),
        line.agency_name,
        format_date_vi(before) if before else "—",
        format_date_vi(entry.due) if entry.due else "—",
        entry.reason or "—",
        entry.approved_by or "—",
    ]


def _update_cells(line: ReportLine, update: Any, several: bool) -> list[Any]:
    """Date, directive, agency, status, document number and note of one progress report."""
    status = STATUS_VI.get(update.status, update.status)
    if update.percent is not None and update.status != "done":
        status += f" {update.percent}%"
    return [
        format_date_vi(local_date(update.at)),
        item_label(line, several),
        line.agency_name,
        status,
        update.document_number or "—",
        update.note or "—",
    ]


# --- reproducible files ------------------------------------------------------------------------------


def _fixed_zip_time(when: datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry timestamp (local time, seconds even) from the report's generation time."""
    local = when.astimezone(VN_TZ)
    return (max(1980, local.year), local.month, local.day, local.hour, local.minute, local.second // 2 * 2)


def normalise_zip(path: Path, when: datetime) -> None:
    """Rewrite a zip container (XLSX, DOCX) with fixed entry times, so equal content gives equal bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info)) for info in source.infolist()]
    stamp = _fixed_zip_time(when)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    os.replace(tmp, path)


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write a file through a temporary sibling and move it into place (no half-written reports)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --- XLSX --------------------------------------------------------------------------------------------


class _Sheet:
    """A write-only worksheet with the report's cell styles (streams rows: 100,000 of them fit in little memory)."""

    def __init__(self, wb: Any, title: str, widths: Sequence[float]):
        from openpyxl.worksheet.properties import PageSetupProperties

        self.ws = wb.create_sheet(title)
        self.styles: dict[tuple[Any, ...], Any] = {}
        self.width = len(widths)
        self.row = 0
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[_column(index)].width = width
        ws = self.ws
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        ws.oddFooter.center.text = "Trang &P/&N"
        ws.oddFooter.right.text = "&A"

    def _cell(
        self,
        value: Any,
        *,
        bold: bool = False,
        italic: bool = False,
        size: float = 11,
        align: str = "left",
        wrap: bool = True,
        border: bool = False,
        fill: str | None = None,
        fmt: str | None = None,
    ) -> Any:
        """One styled cell; each combination of styles is built once and its style ids copied (100,000 rows stay fast)."""
        from openpyxl.cell import WriteOnlyCell

        key = (bold, italic, size, align, wrap, border, fill, fmt)
        template = self.styles.get(key)
        if template is None:
            template = self.styles[key] = self._styled(*key)
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = copy(template)
        return cell

    def _styled(
        self,
        bold: bool,
        italic: bool,
        size: float,
        align: str,
        wrap: bool,
        border: bool,
        fill: str | None,
        fmt: str | None,
    ) -> Any:
        """Register one combination of styles with the workbook; return its style ids."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        cell = WriteOnlyCell(self.ws)
        cell.font = Font(name=DOCX_FONT, size=size, bold=bold, italic=italic)
        cell.alignment = Alignment(horizontal=align, vertical="center" if not wrap else "top", wrap_text=wrap)
        if border:
            thin = Side(style="thin", color="808080")
            cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        if fill:
            cell.fill = PatternFill("solid", fgColor=fill)
        if fmt:
            cell.number_format = fmt
        return cell._style

    def title(self, text: str, *, size: float = 13, bold: bool = True, italic: bool = False) -> None:
        """A line centred across the sheet's columns (centre-across-selection: no merged cells)."""
        cells = [self._cell(text, bold=bold, italic=italic, size=size, align="centerContinuous", wrap=False)]
        cells += [self._cell(None, align="centerContinuous", wrap=False) for _ in range(self.width - 1)]
        self.append(cells)

    def text(self, text: str, *, bold: bool = False, italic: bool = False) -> None:
        """A line of text in the first column."""
        self.append([self._cell(text, bold=bold, italic=italic, wrap=False)])

    def header(self, labels: Sequence[str]) -> int:
        """A bordered, shaded header row; returns its row number."""
        self.append([self._cell(label, bold=True, align="center", border=True, fill="D9E2F3") for label in labels])
        return self.row

    def data(self, values: Sequence[Any], *, bold: bool = False, formats: dict[int, str] | None = None) -> None:
        """A bordered data row: numbers right, text left, dates as DD/MM/YYYY."""
        cells = []
        for index, value in enumerate(values):
            fmt = (formats or {}).get(index)
            if isinstance(value, date) and fmt is None:
                fmt = "DD/MM/YYYY"
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(
                self._cell(
                    value,
                    bold=bold,
                    border=True,
                    fmt=fmt,
                    align="right" if numeric or isinstance(value, date) else "left",
                )
            )
        self.append(cells)

    def blank(self) -> None:
        """An empty row."""
        self.append([])

    def append(self, cells: Sequence[Any]) -> None:
        """Write a row."""
        self.ws.append(list(cells))
        self.row += 1


def _column(index: int) -> str:
    """Column letter of a 1-based index."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def _grid_cells(label: Any, grid: Grid, prefix: Sequence[Any] = ()) -> list[Any]:
    """A grid row for the spreadsheet: numbers as numbers, the rate as a fraction formatted as a percentage."""
    return [*prefix, label, grid.total, *(grid.count(c) for c in CATEGORY_ORDER), rate_cell(grid)]


PERCENT = "0.0%"


def write_xlsx(meta: ReportMeta, model: ReportModel, path: Path) -> Path:
    """Write the workbook: Tổng hợp, Chi tiết, Quá hạn, Gia hạn, Cập nhật mới; print-ready (A4 landscape, titles repeated)."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    def write(target: Path) -> None:
        wb = Workbook(write_only=True)
        created = meta.generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        wb.properties.creator = meta.issuer_name
        wb.properties.title = f"Báo cáo {meta.heading}"
        wb.properties.created = wb.properties.modified = created
        _summary_sheet(wb, meta, model)
        _detail_sheet(wb, meta, model)
        _overdue_sheet(wb, meta, model)
        _extension_sheet(wb, meta, model)
        _updates_sheet(wb, meta, model)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(wb, archive).save()  # not Workbook.save(): it stamps the current time as "modified"
        normalise_zip(target, meta.generated_at)

    return _atomic(path, write)


HEADER_ROW = 5  # three title lines and a blank line come first


def _heading(sheet: _Sheet, meta: ReportMeta, what: str) -> None:
    """The three title lines every sheet starts with (then a blank line: tables start at HEADER_ROW)."""
    sheet.title(f"BÁO CÁO {meta.title.upper()}", size=13)
    sheet.title(f"{what} — {meta.period.label_vi}; số liệu {meta.period.window_vi()}", size=11, bold=False, italic=True)
    sheet.title(f"{meta.issuer_name} · {date_line_vi(meta.place, meta.send_on)}", size=10, bold=False, italic=True)
    sheet.blank()


def _summary_sheet(wb: Any, meta: ReportMeta, model: ReportModel) -> None:
    """Tổng hợp: grids by directive (and notice), by agency, ranking, change, trend, ongoing obligations."""
    sheet = _Sheet(wb, "Tổng hợp", [7, 46, 12, 14, 14, 14, 12, 15, 14, 14])
    sheet.ws.print_title_rows = "1:3"
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
    start("XẾP HẠNG CƠ QUAN")
    sheet.header(
        ["Hạng", "Cơ quan", "Điểm", "Chủ trì", "Phối hợp", "Quá hạn", "Ngày làm việc quá hạn", "Hoàn thành đúng hạn"]
    )
    for r in model.ranking:
        sheet.data(
            [
                r.rank,
                r.agency_name,
                round(float(r.score), 1),
                r.lead,
                r.support,
                r.grid.overdue,
                r.days_overdue,
                r.grid.on_time,
            ],
            formats={2: "0.0"},
        )
    sheet.text(f"Phương pháp: {model.ranking_method_vi}", italic=True)
    sheet.blank()
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
    for i, r in enumerate(model.obligations, start=1):
        sheet.data([i, r.label, *r.counts.values()])
    if not model.obligations:
        sheet.text("Không có nhiệm vụ thường xuyên.", italic=True)


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


def _detail_sheet(wb: Any, meta: ReportMeta, model: ReportModel) -> None:
    """Chi tiết: one row per assignment, as it stood at the cut-off."""
    sheet = _Sheet(wb, "Chi tiết", [6, 16, 7, 40, 24, 9, 14, 9, 11, 11, 9, 26, 11, 30, 24, 16])
    sheet.ws.freeze_panes = f"A{HEADER_ROW + 1}"  # a streamed sheet writes its view before the first row
    _heading(sheet, meta, "Chi tiết từng việc")
    row = sheet.header(DETAIL_HEADERS)
    assert row == HEADER_ROW
    sheet.ws.print_title_rows = f"{row}:{row}"
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
    sheet.ws.auto_filter.ref = f"A{row}:{_column(len(DETAIL_HEADERS))}{row + len(model.lines)}"


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


def _overdue_sheet(wb: Any, meta: ReportMeta, model: ReportModel) -> None:
    """Quá hạn: the overdue items at the cut-off, most overdue first."""
    sheet = _Sheet(wb, "Quá hạn", [6, 18, 8, 30, 10, 30, 13, 28, 18])
    sheet.ws.freeze_panes = f"A{HEADER_ROW + 1}"
    _heading(sheet, meta, "Việc quá hạn")
    row = sheet.header(OVERDUE_HEADERS)
    sheet.ws.print_title_rows = f"{row}:{row}"
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


def _extension_sheet(wb: Any, meta: ReportMeta, model: ReportModel) -> None:
    """Gia hạn: the extensions approved in the period."""
    sheet = _Sheet(wb, "Gia hạn", [6, 12, 30, 12, 12, 40, 24, 12])
    _heading(sheet, meta, "Gia hạn trong kỳ")
    row = sheet.header(["STT", "Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt", "Ngày duyệt"])
    sheet.ws.print_title_rows = f"{row}:{row}"
    for i, (x, e) in enumerate(model.extensions, start=1):
        sheet.data([i, *_extension_cells(x, e, meta.several), local_date(e.at)])
    sheet.text(f"Tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}.", italic=True)


def _updates_sheet(wb: Any, meta: ReportMeta, model: ReportModel) -> None:
    """Cập nhật mới: each assignment's latest progress report in the period, newest first."""
    sheet = _Sheet(wb, "Cập nhật mới", [6, 12, 12, 30, 18, 18, 50])
    _heading(sheet, meta, "Báo cáo tiến độ mới nhất trong kỳ")
    row = sheet.header(["STT", "Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"])
    sheet.ws.print_title_rows = f"{row}:{row}"
    for i, (x, u) in enumerate(model.updates, start=1):
        sheet.data([i, *_update_cells(x, u, meta.several)])


def _roman(n: int) -> str:
    """Roman numerals for section numbers."""
    values = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, letters in values:
        while n >= value:
            out, n = out + letters, n - value
    return out


# --- charts ------------------------------------------------------------------------------------------


def _stacked_bars(groups: Sequence[GroupRow], title: str, path: Path) -> Path:
    """A horizontal stacked bar per group, in the four categories' colours."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def write(target: Path) -> None:
        with rc_context({"font.family": CHART_FONT}):
            height = max(3.0, 0.42 * len(groups) + 1.8)
            fig = Figure(figsize=(10, height), dpi=120)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            labels = [g.label for g in groups][::-1]
            left = [0] * len(groups)
            for c in CATEGORY_ORDER:
                values = [g.grid.count(c) for g in groups][::-1]
                ax.barh(labels, values, left=left, color=COLORS[c], label=CATEGORY_VI[c])
                left = [a + b for a, b in zip(left, values, strict=True)]
            ax.set_xlabel("Số việc")
            ax.set_title(title, fontsize=11)
            ax.legend(
                loc="upper center",
                bbox_to_anchor=(0.5, -0.12 if len(groups) > 3 else -0.25),
                ncol=4,
                fontsize=9,
                frameon=False,
            )
            ax.xaxis.get_major_locator().set_params(integer=True)
            fig.tight_layout()
            fig.savefig(target, format="png", metadata={"Software": None})

    return _atomic(path, write)


def _trend_chart(meta: ReportMeta, model: ReportModel, path: Path) -> Path:
    """Stacked columns per period, with the on-time rate as a line."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def write(target: Path) -> None:
        with rc_context({"font.family": CHART_FONT}):
            fig = Figure(figsize=(9, 4.8), dpi=120)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            labels = [p.label_vi for p in model.trend]
            bottom = [0] * len(labels)
            for c in CATEGORY_ORDER:
                values = [p.grid.count(c) for p in model.trend]
                ax.bar(labels, values, bottom=bottom, color=COLORS[c], label=CATEGORY_VI[c], width=0.55)
                bottom = [a + b for a, b in zip(bottom, values, strict=True)]
            ax.set_ylabel("Số việc")
            ax.yaxis.get_major_locator().set_params(integer=True)
            rates = [p.grid.on_time_rate for p in model.trend]
            twin = ax.twinx()
            twin.plot(
                [lbl for lbl, r in zip(labels, rates, strict=True) if r is not None],
                [float(r) * 100 for r in rates if r is not None],
                color="black",
                marker="o",
                label="Tỷ lệ hoàn thành đúng hạn (%)",
            )
            twin.set_ylim(0, 105)
            twin.set_ylabel("Tỷ lệ hoàn thành đúng hạn (%)")
            ax.set_title(f"Xu hướng qua các kỳ — đến {meta.period.label_vi}", fontsize=11)
            handles = ax.get_legend_handles_labels()
            extra = twin.get_legend_handles_labels()
            ax.legend(
                handles[0] + extra[0],
                handles[1] + extra[1],
                loc="upper center",
                bbox_to_anchor=(0.5, -0.1),
                ncol=3,
                fontsize=8,
                frameon=False,
            )
            fig.tight_layout()
            fig.savefig(target, format="png", metadata={"Software": None})

    return _atomic(path, write)


def write_charts(meta: ReportMeta, model: ReportModel, out_dir: Path) -> list[Path]:
    """The three charts: by directive (by notice when several), by agency, trend over periods."""
    stamp = f"{meta.period.label_vi} (số liệu đến {format_date_vi(meta.period.cutoff)})"
    limit = meta.chart_groups
    if meta.several:
        groups, what, name = _largest(model.by_notice, limit), "thông báo", "theo-thong-bao"
    else:
        groups, what, name = model.by_directive[:limit], "mục", "theo-muc"
    extra = (
        f", {limit} nhóm nhiều việc nhất"
        if len(model.by_notice if meta.several else model.by_directive) > limit
        else ""
    )
    paths = [
        _stacked_bars(
            groups, f"Tình trạng thực hiện theo {what} — {stamp}{extra}", out_dir / f"{meta.base_name}-{name}.png"
        ),
        _stacked_bars(
            _largest(model.by_agency, limit),
            f"Tình trạng thực hiện theo cơ quan — {stamp}"
            + (f", {limit} cơ quan nhiều việc nhất" if len(model.by_agency) > limit else ""),
            out_dir / f"{meta.base_name}-theo-co-quan.png",
        ),
        _trend_chart(meta, model, out_dir / f"{meta.base_name}-xu-huong.png"),
    ]
    return paths


def _largest(rows: Sequence[GroupRow], limit: int) -> list[GroupRow]:
    """The limit groups with the most assignments, in their original order."""
    keep = {id(r) for r in sorted(rows, key=lambda r: -r.grid.total)[:limit]}
    return [r for r in rows if id(r) in keep]


# --- DOCX --------------------------------------------------------------------------------------------


def _docx_base(doc: Any) -> None:
    """A4, margins of a Party document, Times New Roman 14."""
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = DOCX_FONT
    normal.font.size = Pt(14)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), DOCX_FONT)
    normal.paragraph_format.space_after = Pt(6)


def _para(
    container: Any,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
    align: str = "justify",
    indent: bool = False,
    space_after: float | None = None,
) -> Any:
    """A paragraph with one run."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    paragraph = container.add_paragraph()
    paragraph.alignment = {
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
    }[align]
    if indent:
        paragraph.paragraph_format.first_line_indent = Cm(1.27)
    if space_after is not None:
        paragraph.paragraph_format.space_after = Pt(space_after)
    if text:
        run = paragraph.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
    return paragraph


def _table(
    doc: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths_cm: Sequence[float],
    *,
    bold_last: bool = False,
    size: float = 11,
) -> Any:
    """A bordered table with a repeated, bold header row (cells written through the XML once: fast enough for long lists)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = "Table Grid"
    header_props = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    for r_index, values in enumerate([list(headers), *[list(r) for r in rows]]):
        cells = table.rows[r_index].cells
        for c_index, value in enumerate(values):
            cell = cells[c_index]
            cell.width = Cm(widths_cm[c_index])
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if r_index == 0 or numeric else WD_ALIGN_PARAGRAPH.LEFT
            run = paragraph.add_run("" if value is None else str(value))
            run.font.size = Pt(size)
            run.bold = r_index == 0 or (bold_last and r_index == len(rows))
    _para(doc, space_after=2)
    return table


def _grid_table_rows(rows: Sequence[GroupRow], total: Grid | None) -> list[list[Any]]:
    """Rows of a grid table, with the total row when given."""
    out: list[list[Any]] = [[i, r.label, *grid_values(r.grid)] for i, r in enumerate(rows, start=1)]
    if total is not None:
        out.append(["", "Cộng", *grid_values(total)])
    return out


GRID_WIDTHS = (1.0, 4.2, 1.6, 2.0, 2.0, 2.0, 1.6, 2.0)


def write_docx(meta: ReportMeta, model: ReportModel, charts: Sequence[Path], path: Path) -> Path:
    """Write the report in Vietnamese administrative form (Party document layout)."""
    from docx import Document
    from docx.shared import Cm

    limit, several, total = meta.document_rows, meta.several, model.total

    def write(target: Path) -> None:
        doc = Document()
        _docx_base(doc)
        _docx_header(doc, meta)
        _para(doc, "BÁO CÁO", bold=True, size=16, align="center", space_after=0)
        _para(doc, meta.heading, bold=True, align="center", space_after=0)
        _para(doc, "-----", align="center")
        _para(doc, _intro(meta), indent=True)
        _para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True)
        _para(doc, "1. Tổng hợp chung", bold=True, indent=True)
        _para(
            doc,
            (
                f"Tổng số {total.total} việc (mỗi việc là một nội dung giao cho một cơ quan chủ trì hoặc phối hợp), trong đó: "
                f"hoàn thành đúng hạn {total.on_time} việc; hoàn thành quá hạn {total.late} việc; đang thực hiện trong hạn "
                f"{total.in_progress} việc; quá hạn {total.overdue} việc. Tỷ lệ hoàn thành đúng hạn đạt {percent_vi(total.on_time_rate)} "
                f"({total.on_time}/{total.due} việc đã đến hạn)."
            ),
            indent=True,
        )
        _para(doc, ON_TIME_RATE_METHOD_VI, italic=True, indent=True, size=12)
        if several:
            _para(doc, "Bảng 1a. Tổng hợp theo thông báo", italic=True, align="center", size=12, space_after=2)
            rows = _grid_table_rows(model.by_notice[:limit], total)
            _table(doc, ["STT", "Thông báo", *GRID_HEADERS], rows, GRID_WIDTHS, bold_last=True)
            if len(model.by_notice) > limit:
                _para(
                    doc,
                    f"(Bảng chỉ nêu {limit}/{len(model.by_notice)} thông báo; số liệu đầy đủ trong tệp Excel kèm theo.)",
                    italic=True,
                    size=12,
                )
        _para(doc, "Bảng 1. Tổng hợp theo mục", italic=True, align="center", size=12, space_after=2)
        shown = model.by_directive[:limit]
        _table(
            doc, ["STT", group_title(meta), *GRID_HEADERS], _grid_table_rows(shown, total), GRID_WIDTHS, bold_last=True
        )
        if len(model.by_directive) > limit:
            _para(
                doc,
                f"(Bảng chỉ nêu {limit}/{len(model.by_directive)} mục; dòng Cộng tính tất cả; số liệu đầy đủ trong tệp Excel kèm theo.)",
                italic=True,
                size=12,
            )
        if charts:
            doc.add_picture(str(charts[0]), width=Cm(16))
        _para(doc, "2. So với kỳ trước", bold=True, indent=True)
        for line in _change_lines(meta, model):
            if line:
                _para(doc, line, indent=True)
        if len(charts) > 2:
            doc.add_picture(str(charts[2]), width=Cm(15))
        _para(doc, "3. Theo cơ quan", bold=True, indent=True)
        _para(doc, "Bảng 2. Tổng hợp theo cơ quan", italic=True, align="center", size=12, space_after=2)
        _table(doc, ["STT", "Cơ quan", *GRID_HEADERS], _grid_table_rows(model.by_agency, None), GRID_WIDTHS)
        if len(charts) > 1:
            doc.add_picture(str(charts[1]), width=Cm(16))
        _para(doc, "II. VIỆC QUÁ HẠN", bold=True)
        if model.overdue:
            _para(
                doc,
                f"Tính đến hết ngày {format_date_vi(meta.period.cutoff)} có {len(model.overdue)} việc quá hạn "
                "(số ngày quá hạn tính theo ngày làm việc):",
                indent=True,
            )
            _para(doc, "Bảng 3. Việc quá hạn", italic=True, align="center", size=12, space_after=2)
            rows = [
                [i, item_label(x, several), x.agency_name, ROLE_VI[x.role], due_text(x), x.timeliness.days_overdue]
                for i, x in enumerate(model.overdue[:limit], start=1)
            ]
            _table(
                doc,
                ["STT", "Mục", "Cơ quan", "Vai trò", "Hạn", "Số ngày làm việc quá hạn"],
                rows,
                (1.0, 1.6, 4.4, 1.8, 4.0, 2.4),
            )
            if len(model.overdue) > limit:
                _para(
                    doc,
                    f"(Bảng chỉ nêu {limit}/{len(model.overdue)} việc quá hạn nhiều ngày nhất; danh sách đầy đủ trong tệp Excel, trang «Quá hạn».)",
                    italic=True,
                    size=12,
                )
        else:
            _para(doc, "Không có việc quá hạn.", indent=True)
        if model.late:
            names = "; ".join(
                f"{x.agency_name} (mục {item_label(x, several)}, {x.timeliness.days_overdue} ngày làm việc)"
                for x in model.late[:limit]
            )
            _para(doc, f"Việc hoàn thành quá hạn ({len(model.late)}): {names}.", indent=True)
        _para(doc, "III. GIA HẠN", bold=True)
        if model.extensions:
            _para(
                doc,
                f"Trong kỳ có {len(model.extensions)} lượt gia hạn được phê duyệt (tổng số đến ngày chốt số liệu: {model.extensions_total}):",
                indent=True,
            )
            rows = [[i, *_extension_cells(x, e, several)] for i, (x, e) in enumerate(model.extensions[:limit], start=1)]
            _table(
                doc,
                ["STT", "Mục", "Cơ quan", "Hạn cũ", "Hạn mới", "Lý do", "Người duyệt"],
                rows,
                (1.0, 1.4, 3.2, 2.2, 2.2, 3.4, 2.6),
            )
        else:
            _para(
                doc,
                f"Trong kỳ không có việc được gia hạn (tổng số lượt gia hạn đến ngày chốt số liệu: {model.extensions_total}).",
                indent=True,
            )
        _para(doc, "IV. NHIỆM VỤ THƯỜNG XUYÊN — THỰC HIỆN CHẾ ĐỘ BÁO CÁO ĐỊNH KỲ", bold=True)
        if model.obligations:
            _para(
                doc,
                "Các nhiệm vụ thường xuyên không có một thời hạn hoàn thành; việc thực hiện được đánh giá theo kỳ báo cáo "
                "định kỳ gần nhất đã đến hạn của từng cơ quan:",
                indent=True,
            )
            rows = [[i, r.label, *r.counts.values()] for i, r in enumerate(model.obligations[:limit], start=1)]
            _table(doc, ["STT", "Mục", *OBLIGATION_STATES_VI.values()], rows, (1.0, 3.0, 3.0, 3.0, 3.0, 3.0))
        else:
            _para(doc, "Không có nhiệm vụ thường xuyên.", indent=True)
        _para(doc, "V. CẬP NHẬT MỚI NHẤT TRONG KỲ", bold=True)
        if model.updates:
            rows = [[i, *_update_cells(x, u, several)] for i, (x, u) in enumerate(model.updates[:limit], start=1)]
            _table(
                doc,
                ["STT", "Ngày", "Mục", "Cơ quan", "Trạng thái", "Số văn bản", "Nội dung"],
                rows,
                (1.0, 2.2, 1.4, 3.0, 2.4, 2.4, 4.0),
                size=10,
            )
        else:
            _para(doc, "Trong kỳ không có báo cáo tiến độ mới.", indent=True)
        _para(doc, "VI. XẾP HẠNG CƠ QUAN", bold=True)
        _para(doc, f"Phương pháp: {model.ranking_method_vi}", italic=True, indent=True, size=12)
        rows = [
            [r.rank, r.agency_name, _score(r.score), r.grid.total, r.grid.overdue, r.days_overdue]
            for r in model.ranking[:limit]
        ]
        _table(
            doc,
            ["Hạng", "Cơ quan", "Điểm", "Số việc", "Quá hạn", "Số ngày làm việc quá hạn"],
            rows,
            (1.4, 6.0, 1.8, 1.8, 1.8, 2.6),
        )
        _para(doc, "VII. ĐỀ XUẤT", bold=True)
        for text in _proposals(meta, model):
            _para(doc, text, indent=True)
        _para(
            doc,
            f"Trên đây là báo cáo {meta.heading[0].lower() + meta.heading[1:]} của {meta.issuer_name}.",
            indent=True,
        )
        _docx_footer(doc, meta)
        props = doc.core_properties
        props.title = f"Báo cáo {meta.heading}"
        props.author = props.last_modified_by = meta.issuer_name
        props.created = props.modified = meta.generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        props.revision = 1
        doc.save(str(target))
        normalise_zip(target, meta.generated_at)

    return _atomic(path, write)


def _intro(meta: ReportMeta) -> str:
    """The opening paragraph: which notice, which period, which data window."""
    window = f"số liệu {meta.period.window_vi()}, theo Nghị định 09/2019/NĐ-CP"
    if meta.several:
        numbers = ", ".join(n.number for n in meta.notices[:10]) + (" …" if len(meta.notices) > 10 else "")
        return (
            f"Thực hiện nhiệm vụ theo dõi, đôn đốc việc thực hiện {len(meta.notices)} thông báo kết luận ({numbers}), "
            f"{meta.issuer_name} báo cáo kết quả thực hiện {meta.period.label_vi} ({window}) như sau:"
        )
    n = meta.notices[0]
    number = f"{n.number} (số tạm)" if n.placeholder else n.number
    title = " ".join(n.title.split())
    return (
        f"Thực hiện Thông báo kết luận số {number} ngày {format_date_vi(n.issued_on)} của {n.issuer_name} ({title}), "
        f"{meta.issuer_name} báo cáo kết quả thực hiện {meta.period.label_vi} ({window}) như sau:"
    )


def _proposals(meta: ReportMeta, model: ReportModel) -> list[str]:
    """Proposals that follow from the figures."""
    out = []
    if model.overdue:
        agencies = sorted({x.agency_name for x in model.overdue})
        shown = ", ".join(agencies[: meta.document_rows]) + (" …" if len(agencies) > meta.document_rows else "")
        out.append(
            f"Đề nghị các cơ quan có việc quá hạn ({shown}) khẩn trương hoàn thành, báo cáo kết quả; trường hợp "
            "cần thêm thời gian thì đề nghị gia hạn, nêu rõ lý do."
        )
    missing = sum(r.counts.get("missing", 0) for r in model.obligations)
    if missing:
        out.append(f"Đề nghị các cơ quan chưa báo cáo định kỳ ({missing} lượt) gửi báo cáo theo quy định.")
    out.append(
        "Đề nghị các cơ quan tiếp tục cập nhật tiến độ, kèm số văn bản báo cáo, để việc tổng hợp được kịp thời, chính xác."
    )
    return out


def _borderless(table: Any) -> None:
    """Remove every border of a layout table."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    props.append(borders)


def _cell_line(
    cell: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float = 13,
    first: bool = False,
    align: str = "center",
) -> None:
    """One centred line in a layout cell."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if align == "center" else WD_ALIGN_PARAGRAPH.LEFT
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.size = Pt(size)


def _docx_header(doc: Any, meta: ReportMeta) -> None:
    """Issuing body and number on the left; the Party's name, place and date on the right."""
    from docx.shared import Cm

    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7.0), Cm(9.5)
    _cell_line(left, meta.issuer.parent.upper(), first=True, size=14)
    _cell_line(left, meta.issuer.name.upper(), bold=True, size=14)
    _cell_line(left, "*", size=14)
    _cell_line(left, f"Số       -BC/{meta.issuer.symbol}", size=14)
    _cell_line(right, "ĐẢNG CỘNG SẢN VIỆT NAM", bold=True, underline=True, first=True, size=15)
    _cell_line(right, "", size=8)
    _cell_line(right, date_line_vi(meta.place, meta.send_on), italic=True, size=14)
    _para(doc, space_after=6)


def _docx_footer(doc: Any, meta: ReportMeta) -> None:
    """ "Nơi nhận" on the left; the signature block on the right."""
    from docx.shared import Cm

    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(8.0), Cm(8.5)
    _cell_line(left, "Nơi nhận:", underline=True, first=True, size=14, align="left")
    items = [*meta.recipients_vi, "Lưu Văn phòng"]
    for index, name in enumerate(items):
        _cell_line(left, f"- {name}{'.' if index == len(items) - 1 else ','}", size=12, align="left")
    for index, line in enumerate(meta.issuer.signature):
        _cell_line(right, line, bold=True, first=index == 0, size=14)
    for _ in range(4):
        _cell_line(right, "", size=14)


# --- all files ---------------------------------------------------------------------------------------


def write_all(meta: ReportMeta, model: ReportModel, out_dir: Path) -> list[Path]:
    """Write the charts, the workbook and the document; return their paths (document first)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = write_charts(meta, model, out_dir)
    xlsx = write_xlsx(meta, model, out_dir / f"{meta.base_name}.xlsx")
    docx = write_docx(meta, model, charts, out_dir / f"{meta.base_name}.docx")
    return [docx, xlsx, *charts]
