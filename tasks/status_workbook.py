"""The XLSX progress-report template: exported per notice, filled in by hand, imported all or nothing.

The same format is read from agencies' watched folders (tasks/polling.py). Every error names the
sheet, the row and the column; a file with any error imports nothing. A file is checked for a zip
bomb (domain.archive_guard) before openpyxl opens it. The «Ngày báo cáo» an agency types is the
report's declared date: kept, but timeliness counts from when dondoc received the file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlmodel import Session, col, select

from domain.archive_guard import UnsafeArchiveError, check_archive
from domain.labels import ROLE_VI, STATUS_VI
from domain.safe_text import nfc, spreadsheet_text
from domain.text import match_key
from domain.workdays import VN_TZ, format_date_vi
from models import Agency, Assignment, Directive, Notice
from models.types import utcnow
from tasks.status_events import RecordedUpdate
from tasks.status_recording import (
    DOCUMENT_NUMBER_MAX,
    EVIDENCE_URL_MAX,
    NOTE_MAX,
    STATUS_LABELS,
    StatusChangeRefused,
    parse_status,
    record_status_update,
)

SHEET = "Báo cáo tiến độ"
HELP_SHEET = "Hướng dẫn"
HEADER_SCAN_ROWS = 10
MAX_ROWS = 5000

# Column headers, in order. The first seven are filled in by dondoc; the last six by the agency.
ID = "Mã việc"
STATUS = "Trạng thái báo cáo"
PERCENT = "Tỷ lệ hoàn thành (%)"
DOC = "Số văn bản"
NOTE = "Nội dung báo cáo"
EVIDENCE = "Liên kết minh chứng"
DAY = "Ngày báo cáo"
INFO_COLUMNS = [ID, "Mục", "Cơ quan", "Vai trò", "Nội dung nhiệm vụ", "Hạn", "Trạng thái hiện tại"]
FILL_COLUMNS = [STATUS, PERCENT, DOC, NOTE, EVIDENCE, DAY]
WIDTHS = {
    ID: 9,
    "Mục": 6,
    "Cơ quan": 24,
    "Vai trò": 10,
    "Nội dung nhiệm vụ": 50,
    "Hạn": 12,
    "Trạng thái hiện tại": 16,
    STATUS: 18,
    PERCENT: 12,
    DOC: 16,
    NOTE: 50,
    EVIDENCE: 30,
    DAY: 14,
}
STATUS_CHOICES = STATUS_LABELS  # the drop-down list


@dataclass(frozen=True)
class RowError:
    """One problem in the file, located."""

    sheet: str
    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Trang «{self.sheet}», dòng {self.row}"
        if self.column:
            where += f", cột «{self.column}»"
        return f"{where}: {self.message}"


@dataclass
class RowUpdate:
    """One filled-in row, parsed."""

    row: int
    assignment_id: int
    status: str
    percent: int | None
    document_number: str | None
    note: str | None
    evidence_url: str | None
    declared_at: datetime | None


@dataclass
class ParsedFile:
    """The rows of a file, and every problem found (nothing is written when there is one)."""

    path: Path
    updates: list[RowUpdate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class TemplateError(ValueError):
    """The file cannot be read as a report template at all."""


# --- export -----------------------------------------------------------------------------------


def export_template(notice_id: int, path: Path, agency_code: str | None = None, *, session: Session) -> int:
    """Write the template of one notice (optionally one agency's rows); return the number of rows."""
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise LookupError(f"notice {notice_id} does not exist")
    query = (
        select(Assignment, Directive, Agency)
        .join(Directive, col(Directive.id) == Assignment.directive_id)
        .join(Agency, col(Agency.id) == Assignment.agency_id)
        .where(Directive.notice_id == notice_id, Assignment.status != "withdrawn")
        .order_by(col(Directive.position), col(Assignment.role), col(Agency.name))
    )
    if agency_code:
        query = query.where(Agency.code == agency_code)
    rows = session.exec(query).all()
    number, issued = notice.number, notice.issued_on
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    headers = INFO_COLUMNS + FILL_COLUMNS
    sheet["A1"] = f"BÁO CÁO TIẾN ĐỘ THỰC HIỆN THÔNG BÁO SỐ {number} NGÀY {format_date_vi(issued)}"
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = (
        "Điền các cột có nền vàng (từ «Trạng thái báo cáo»), để trống các dòng không báo cáo. "
        "Không sửa cột «Mã việc». Nhập bằng: dondoc import-updates TỆP.xlsx"
    )
    sheet["A2"].font = Font(italic=True)
    header_row = 3
    fill = PatternFill("solid", fgColor="FFF2CC")
    for index, name in enumerate(headers, start=1):
        cell = sheet.cell(row=header_row, column=index, value=name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if name in FILL_COLUMNS:
            cell.fill = fill
        sheet.column_dimensions[get_column_letter(index)].width = WIDTHS[name]
    for offset, (assignment, directive, agency) in enumerate(rows, start=1):
        due = assignment.due_date
        values = [
            assignment.id,
            spreadsheet_text(directive.number),
            spreadsheet_text(agency.short_name or agency.name),
            ROLE_VI.get(assignment.role, assignment.role),
            spreadsheet_text(" ".join(directive.text.split())[:500]),
            format_date_vi(due) if due else "Thường xuyên",
            STATUS_VI.get(assignment.status, assignment.status),
        ]
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=header_row + offset, column=index, value=value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for index in range(len(INFO_COLUMNS) + 1, len(headers) + 1):
            sheet.cell(row=header_row + offset, column=index).fill = fill
    last = header_row + max(len(rows), 1)
    status_col = get_column_letter(headers.index(STATUS) + 1)
    percent_col = get_column_letter(headers.index(PERCENT) + 1)
    choices = DataValidation(
        type="list",
        formula1='"' + ",".join(STATUS_CHOICES) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Trạng thái",
        error="Chọn: " + ", ".join(STATUS_CHOICES),
    )
    choices.add(f"{status_col}{header_row + 1}:{status_col}{last}")
    percents = DataValidation(
        type="whole",
        operator="between",
        formula1="0",
        formula2="100",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Tỷ lệ",
        error="Số nguyên từ 0 đến 100",
    )
    percents.add(f"{percent_col}{header_row + 1}:{percent_col}{last}")
    sheet.add_data_validation(choices)
    sheet.add_data_validation(percents)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    guide = book.create_sheet(HELP_SHEET)
    for line in (
        "Cách điền:",
        f"• «{STATUS}»: {', '.join(STATUS_CHOICES)}. Dòng để trống cột này (và các cột vàng khác) thì không được nhập.",
        f"• «{PERCENT}»: số nguyên từ 0 đến 100 («Hoàn thành» tự tính 100).",
        f"• «{DOC}»: số, ký hiệu văn bản báo cáo, ví dụ 123/BC-HND (tối đa {DOCUMENT_NUMBER_MAX} ký tự).",
        f"• «{NOTE}»: tóm tắt kết quả, khó khăn (tối đa {NOTE_MAX} ký tự).",
        f"• «{EVIDENCE}»: địa chỉ web bắt đầu bằng http:// hoặc https:// (không bắt buộc).",
        f"• «{DAY}»: ngày báo cáo dạng dd/mm/yyyy (để trống: ngày nhập vào hệ thống).",
        "Nếu tệp có lỗi, hệ thống không nhập dòng nào và chỉ rõ trang, dòng, cột cần sửa.",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 110
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return len(rows)


# --- import -----------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    """An empty cell."""
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    """A cell as NFC text."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(str(value)).strip()


def _header_map(sheet: Any) -> tuple[int, dict[str, int]]:
    """Find the header row (the one with «Mã việc») and the column index of every known header."""
    known = {match_key(name): name for name in INFO_COLUMNS + FILL_COLUMNS}
    for row_index, row in enumerate(sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True), start=1):
        found = {
            known[match_key(_text(v))]: i for i, v in enumerate(row) if not _blank(v) and match_key(_text(v)) in known
        }
        if ID in found:
            return row_index, found
    raise TemplateError(
        f"Trang «{sheet.title}»: không tìm thấy dòng tiêu đề có cột «{ID}» trong {HEADER_SCAN_ROWS} dòng đầu"
    )


def _day(value: Any) -> date | None:
    """A report date cell: a real date, or dd/mm/yyyy text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for separator in ("/", "-", "."):
        parts = text.split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                if len(parts[0]) == 4:
                    return date(int(parts[0]), int(parts[1]), int(parts[2]))
                return date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                return None
    return None


def _percent(value: Any, number_format: str) -> int | str | None:
    """A percent cell: 0–100 (a cell formatted as % holds 0–1); an error message when invalid."""
    if isinstance(value, bool):
        return "phải là số nguyên từ 0 đến 100"
    if isinstance(value, (int, float)):
        number = value * 100 if "%" in (number_format or "") else value
    else:
        text = _text(value).removesuffix("%").strip().replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            return f"phải là số nguyên từ 0 đến 100, nhận được «{_text(value)[:40]}»"
    if not float(number).is_integer() or not 0 <= number <= 100:
        return f"phải là số nguyên từ 0 đến 100, nhận được «{_text(value)[:40]}»"
    return int(number)


def _parse_row(
    sheet_name: str,
    row_number: int,
    cells: dict[str, Any],
    formats: dict[str, str],
    today: date,
    errors: list[RowError],
) -> RowUpdate | None:
    """Parse one data row; None when nothing was filled in; problems go to errors."""
    filled = {name: cells.get(name) for name in FILL_COLUMNS}
    if all(_blank(v) for v in filled.values()):
        return None
    before = len(errors)

    def problem(column: str | None, message: str) -> None:
        errors.append(RowError(sheet_name, row_number, column, message))

    raw_id = cells.get(ID)
    assignment_id = None
    if _blank(raw_id):
        problem(ID, "trống (không sửa hay xóa cột này)")
    else:
        text = _text(raw_id)
        if text.isdigit() and 0 < int(text) < 2**31:
            assignment_id = int(text)
        else:
            problem(ID, f"phải là số, nhận được «{text[:40]}»")
    status = None
    if _blank(filled[STATUS]):
        problem(STATUS, f"chưa chọn ({', '.join(STATUS_CHOICES)})")
    else:
        status = parse_status(_text(filled[STATUS]))
        if status is None:
            problem(STATUS, f"không hợp lệ: «{_text(filled[STATUS])[:40]}» (chọn: {', '.join(STATUS_CHOICES)})")
    percent = None
    if not _blank(filled[PERCENT]):
        parsed = _percent(filled[PERCENT], formats.get(PERCENT, ""))
        if isinstance(parsed, str):
            problem(PERCENT, parsed)
        else:
            percent = parsed
    document = _text(filled[DOC]) if not _blank(filled[DOC]) else None
    if document and len(document) > DOCUMENT_NUMBER_MAX:
        problem(DOC, f"dài quá {DOCUMENT_NUMBER_MAX} ký tự")
    note = _text(filled[NOTE]) if not _blank(filled[NOTE]) else None
    if note and len(note) > NOTE_MAX:
        problem(NOTE, f"dài quá {NOTE_MAX} ký tự ({len(note)} ký tự)")
    evidence = _text(filled[EVIDENCE]) if not _blank(filled[EVIDENCE]) else None
    if evidence and (not evidence.lower().startswith(("http://", "https://")) or len(evidence) > EVIDENCE_URL_MAX):
        problem(EVIDENCE, "phải là địa chỉ web bắt đầu bằng http:// hoặc https://")
    declared_at = None
    if not _blank(filled[DAY]):
        day = _day(filled[DAY])
        if day is None:
            problem(DAY, f"ngày không hợp lệ: «{_text(filled[DAY])[:40]}» (dạng đúng: dd/mm/yyyy)")
        elif day > today:
            problem(DAY, f"ngày {format_date_vi(day)} chưa đến")
        else:
            # A date typed by hand is the report's own claim, read as the end of that working day, Vietnam time.
            declared_at = datetime.combine(day, time(17, 0), tzinfo=VN_TZ).astimezone(UTC)
    if len(errors) > before or assignment_id is None or status is None:
        return None
    return RowUpdate(row_number, assignment_id, status, percent, document, note, evidence, declared_at)


def _rows(sheet: Any, header_row: int, columns: dict[str, int]) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    """Data rows below the header: their number, cells by header, and number formats by header."""
    for offset, row in enumerate(sheet.iter_rows(min_row=header_row + 1), start=header_row + 1):
        cells = {name: (row[i].value if i < len(row) else None) for name, i in columns.items()}
        formats = {name: (row[i].number_format if i < len(row) else "") for name, i in columns.items()}
        yield offset, cells, formats


def read_updates(path: Path, today: date | None = None, data: bytes | None = None) -> ParsedFile:
    """Read a filled-in template (from path, or from data already read): rows parsed, problems located; nothing written.

    Raises TemplateError for a file that is not a readable template, a zip bomb included (checked first).
    """
    today = today or utcnow().astimezone(VN_TZ).date()
    parsed = ParsedFile(path)
    try:
        check_archive(io.BytesIO(data) if data is not None else str(path))
    except UnsafeArchiveError as exc:
        raise TemplateError(f"không đọc được tệp {path.name} như một bảng tính XLSX: {exc}") from None
    try:
        book = load_workbook(io.BytesIO(data) if data is not None else path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  (zip, XML and format errors all mean "not an XLSX we can read")
        raise TemplateError(f"không đọc được tệp {path.name} như một bảng tính XLSX ({type(exc).__name__})") from None
    try:
        if SHEET not in book.sheetnames:
            raise TemplateError(f"tệp {path.name} không có trang «{SHEET}» (dùng mẫu của: dondoc export-template)")
        sheet = book[SHEET]
        header_row, columns = _header_map(sheet)
        missing = [name for name in FILL_COLUMNS if name not in columns]
        if missing:
            raise TemplateError(
                f"Trang «{SHEET}», dòng {header_row}: thiếu cột {', '.join('«' + m + '»' for m in missing)}"
            )
        seen: dict[int, int] = {}
        for row_number, cells, formats in _rows(sheet, header_row, columns):
            if row_number - header_row > MAX_ROWS:
                parsed.errors.append(RowError(SHEET, row_number, None, f"tệp có quá {MAX_ROWS} dòng"))
                break
            update = _parse_row(SHEET, row_number, cells, formats, today, parsed.errors)
            if update is None:
                continue
            if update.assignment_id in seen:
                parsed.errors.append(
                    RowError(
                        SHEET, row_number, ID, f"việc {update.assignment_id} đã có ở dòng {seen[update.assignment_id]}"
                    )
                )
                continue
            seen[update.assignment_id] = row_number
            parsed.updates.append(update)
    finally:
        book.close()
    return parsed


@dataclass
class ImportResult:
    """What an import wrote (nothing, when there are errors)."""

    recorded: list[RecordedUpdate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_rows: int = 0

    @property
    def ok(self) -> bool:
        """No errors: everything was written."""
        return not self.errors


def write_updates(
    parsed: ParsedFile,
    *,
    session: Session,
    reported_by: str,
    source: str,
    agency_id: int | None = None,
    received_at: datetime | None = None,
) -> ImportResult:
    """Write every parsed row in the caller's transaction, or none: the session rolls back when any row is refused.

    With agency_id, rows about another agency's assignments are refused (a watched folder belongs to
    one agency). Every row counts as received at received_at (default: now); its «Ngày báo cáo» is
    kept as the declared date. On errors the session is rolled back here, so nothing of the file stays.
    """
    result = ImportResult(errors=list(parsed.errors))
    if result.errors:
        return result
    received_at = received_at or utcnow()
    for row in parsed.updates:
        try:
            result.recorded.append(
                record_status_update(
                    row.assignment_id,
                    session=session,
                    status=row.status,
                    percent=row.percent,
                    note=row.note,
                    document_number=row.document_number,
                    evidence_url=row.evidence_url,
                    reported_by=reported_by,
                    source=source,
                    at=received_at,
                    declared_at=row.declared_at,
                    agency_id=agency_id,
                )
            )
        except StatusChangeRefused as exc:
            result.errors.append(RowError(SHEET, row.row, ID, str(exc)))
    if result.errors:
        result.recorded = []
        session.rollback()
    return result


def import_file(
    path: Path, *, session: Session, reported_by: str, source: str = "xlsx", agency_id: int | None = None
) -> ImportResult:
    """Read and import a filled-in template: all rows or none (the caller commits)."""
    parsed = read_updates(path)
    return write_updates(parsed, session=session, reported_by=reported_by, source=source, agency_id=agency_id)
