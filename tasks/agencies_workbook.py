"""Another province's agency directory as an XLSX workbook: the template, and reading it into agencies.yaml data.

The workbook has a sheet «Cơ quan» (one agency a row; the province in a «Tỉnh» row above the headers) and,
optionally, a sheet «Nhóm» (one group a row). Cells holding formulas are refused, the file is checked for zip
bombs (domain.archive_guard) before openpyxl opens it, and its size and row count are bounded. Every problem
names the file, the sheet, the row and the column.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from domain.archive_guard import UnsafeArchiveError, check_archive
from domain.safe_text import nfc
from domain.text import match_key

AGENCY_SHEET = "Cơ quan"
GROUP_SHEET = "Nhóm"
HELP_SHEET = "Hướng dẫn"
PROVINCE = "Tỉnh"
HEADER_SCAN_ROWS = 10
MAX_ROWS = 5000
MAX_CELL_CHARS = 1000
TEXT_FORMAT_ROWS = 500  # rows of the template whose telephone and Zalo cells are preformatted as text

# Agency columns: header → agencies.yaml field (contacts and lists are split below).
CODE = "Mã"
NAME = "Tên cơ quan"
SHORT = "Tên viết tắt"
ALIASES = "Tên khác"
KIND = "Loại"
SUPERVISOR = "Cơ quan cấp trên"
EMAIL = "Email"
HEAD_EMAIL = "Email lãnh đạo"
ZALO = "Zalo"
PHONE = "Điện thoại"
AGENCY_COLUMNS = [CODE, NAME, SHORT, ALIASES, KIND, SUPERVISOR, EMAIL, HEAD_EMAIL, ZALO, PHONE]
AGENCY_REQUIRED = [CODE, NAME, KIND]
# Group columns.
GROUP_CODE = "Mã nhóm"
GROUP_NAME = "Tên nhóm"
GROUP_ALIASES = "Tên khác"
MEMBERS = "Thành viên"
GROUP_COLUMNS = [GROUP_CODE, GROUP_NAME, GROUP_ALIASES, MEMBERS]
# Several names or addresses in one cell: separated by ";" or a line break (a comma may sit inside a name).
_LIST_SEPARATOR = re.compile(r"[;\n]+")

HELP_LINES = [
    "Danh mục cơ quan cho dondoc — nhập bằng: dondoc agencies import TỆP.xlsx (thêm --dry-run để xem trước).",
    "",
    f"Trang «{AGENCY_SHEET}»: dòng «{PROVINCE}» ghi tên tỉnh; mỗi dòng dưới tiêu đề là một cơ quan.",
    f"  {CODE} (bắt buộc): chữ in hoa, số và _, bắt đầu bằng chữ cái, không trùng (ví dụ SO_TC).",
    f"  {NAME} (bắt buộc): tên đầy đủ. {SHORT}: tên ngắn dùng trong tin nhắn.",
    f"  {ALIASES}: các cách gọi khác trong văn bản, cách nhau bởi dấu chấm phẩy (;).",
    f"  {KIND} (bắt buộc): nhóm cơ quan, ví dụ department, district_government, mass_org (tối đa 32 ký tự).",
    f"  {SUPERVISOR}: mã của cơ quan nhận báo cáo khi quá hạn (phải có trong trang này).",
    f"  {EMAIL}, {HEAD_EMAIL}: địa chỉ e-mail của văn thư và của lãnh đạo; nhiều địa chỉ cách nhau bởi ;.",
    f"  {ZALO}: mã người dùng Zalo (OA) nhận tin; {PHONE}: số điện thoại cơ quan ghi trong tin nhắc việc",
    "  (hai cột này để định dạng Văn bản/Text, để giữ số 0 ở đầu).",
    f"Trang «{GROUP_SHEET}» (không bắt buộc): {GROUP_CODE}, {GROUP_NAME}, {GROUP_ALIASES}, "
    f"{MEMBERS} (các mã cơ quan, cách nhau bởi ;).",
    "Không dùng công thức: ô có công thức bị từ chối.",
]
EXAMPLE_ROWS = [
    ["UBND_TINH", "Ủy ban nhân dân tỉnh Quảng Trị", "UBND tỉnh", "Ủy ban nhân dân tỉnh", "government", "", "vanthu@ubnd.quangtri.example", "", "", ""],
    ["SO_TC", "Sở Tài chính tỉnh Quảng Trị", "Sở Tài chính", "STC; Sở Kế hoạch và Đầu tư", "department", "UBND_TINH", "vanthu@stc.quangtri.example", "giamdoc@stc.quangtri.example", "", "0233 3000 000"],
    ["SO_YT", "Sở Y tế tỉnh Quảng Trị", "Sở Y tế", "SYT", "department", "UBND_TINH", "vanthu@syt.quangtri.example", "", "", ""],
]  # fmt: skip
EXAMPLE_GROUPS = [["CAC_SO", "các sở", "các sở, ngành", "SO_TC; SO_YT"]]


class WorkbookRefused(ValueError):
    """The workbook cannot be read at all (not an XLSX, a zip bomb, no «Cơ quan» sheet); the message is Vietnamese."""


@dataclass(frozen=True)
class CellRef:
    """Where a value came from: sheet, row and column header."""

    sheet: str
    row: int
    column: str | None = None

    def where(self, file_name: str) -> str:
        """«tệp.xlsx, trang «Cơ quan», dòng 5, cột «Email»»."""
        text = f"{file_name}, trang «{self.sheet}», dòng {self.row}"
        return f"{text}, cột «{self.column}»" if self.column else text


@dataclass
class WorkbookData:
    """The workbook as agencies.yaml data, with the cell each value came from, and the problems of the cells."""

    data: dict[str, Any]
    cells: dict[tuple[str | int, ...], CellRef]
    problems: list[tuple[CellRef, str]]

    def locate(self, loc: tuple[str | int, ...]) -> CellRef | None:
        """The cell of the deepest known prefix of a data location."""
        for end in range(len(loc), -1, -1):
            cell = self.cells.get(tuple(loc[:end]))
            if cell is not None:
                return cell
        return None


def write_template(path: Path) -> None:
    """Write an example workbook: the two sheets with headers and example rows, and a sheet of instructions."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = AGENCY_SHEET
    sheet.append([PROVINCE, "Quảng Trị"])
    sheet.append([])
    _header(sheet, AGENCY_COLUMNS)
    for row in EXAMPLE_ROWS:
        sheet.append(row)
    # Telephone numbers and Zalo ids typed into a number cell lose their leading zero: these columns are text.
    for column in (ZALO, PHONE):
        letter = sheet.cell(row=3, column=AGENCY_COLUMNS.index(column) + 1).column_letter
        for index in range(4, 4 + TEXT_FORMAT_ROWS):
            sheet[f"{letter}{index}"].number_format = "@"
    groups = book.create_sheet(GROUP_SHEET)
    _header(groups, GROUP_COLUMNS)
    for row in EXAMPLE_GROUPS:
        groups.append(row)
    help_sheet = book.create_sheet(HELP_SHEET)
    for line in HELP_LINES:
        help_sheet.append([line])
    help_sheet.column_dimensions["A"].width = 120
    book.save(path)


def _header(sheet: Worksheet, columns: list[str]) -> None:
    """Append a bold, shaded header row and size the columns."""
    sheet.append(columns)
    row = sheet.max_row
    for index, _ in enumerate(columns, start=1):
        cell = sheet.cell(row=row, column=index)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[cell.column_letter].width = 28


def read_workbook(path: Path, data: bytes) -> WorkbookData:
    """Read an agencies workbook (its bytes already read and size-checked) into agencies.yaml data; nothing written."""
    try:
        check_archive(io.BytesIO(data))
    except UnsafeArchiveError as exc:
        raise WorkbookRefused(f"{path.name}: không đọc được như một bảng tính XLSX: {exc}") from None
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001  (zip, XML and format errors all mean "not an XLSX we can read")
        raise WorkbookRefused(f"{path.name}: không đọc được như một bảng tính XLSX ({type(exc).__name__})") from None
    out = WorkbookData({"province": None, "agencies": [], "groups": []}, {}, [])
    try:
        if AGENCY_SHEET not in book.sheetnames:
            raise WorkbookRefused(
                f"{path.name}: không có trang «{AGENCY_SHEET}» (tạo tệp mẫu bằng: dondoc agencies template TỆP.xlsx)"
            )
        _read_agencies(book[AGENCY_SHEET], path, out)
        if GROUP_SHEET in book.sheetnames:
            _read_groups(book[GROUP_SHEET], path, out)
    finally:
        book.close()
    return out


def _rows(
    sheet: Any, path: Path, columns: list[str], required: list[str]
) -> tuple[list[tuple[int, list[Any]]], int, dict[str, int]]:
    """The sheet's rows (bounded), the header row and the column of every known header."""
    rows: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(sheet.iter_rows(), start=1):
        cells = list(row)
        if all(c.value is None for c in cells):
            continue  # formatted but empty rows (spreadsheets keep many) are not rows of data
        if len(rows) >= MAX_ROWS + HEADER_SCAN_ROWS:
            raise WorkbookRefused(f"{path.name}, trang «{sheet.title}»: quá {MAX_ROWS} dòng có dữ liệu")
        rows.append((number, cells))
    known = {match_key(name): name for name in columns}
    for number, cells in (r for r in rows if r[0] <= HEADER_SCAN_ROWS):
        found = {
            known[match_key(_raw_text(c.value))]: i
            for i, c in enumerate(cells)
            if match_key(_raw_text(c.value)) in known
        }
        if columns[0] in found:
            missing = [name for name in required if name not in found]
            if missing:
                names = ", ".join(f"«{m}»" for m in missing)
                raise WorkbookRefused(f"{path.name}, trang «{sheet.title}», dòng {number}: thiếu cột {names}")
            return rows, number, found
    raise WorkbookRefused(
        f"{path.name}, trang «{sheet.title}»: không tìm thấy dòng tiêu đề có cột «{columns[0]}» trong {HEADER_SCAN_ROWS} dòng đầu"
    )


def _raw_text(value: Any) -> str:
    """A cell value as stripped text ("" for empty)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return nfc(str(value)).strip()


def _cell_reader(
    sheet_title: str, number: int, cells: list[Any], columns: dict[str, int], out: WorkbookData
) -> Callable[[str], str]:
    """A function returning one column's text of a row, recording a problem for a formula or an oversized cell."""

    def text(column: str) -> str:
        index = columns.get(column)
        if index is None or index >= len(cells):
            return ""
        cell = cells[index]
        value = _raw_text(cell.value)
        ref = CellRef(sheet_title, number, column)
        if getattr(cell, "data_type", None) == "f" or value.startswith("="):
            out.problems.append((ref, "ô chứa công thức; chỉ nhận giá trị nhập tay"))
            return ""
        if len(value) > MAX_CELL_CHARS:
            out.problems.append((ref, f"nội dung quá dài ({len(value)} ký tự; tối đa {MAX_CELL_CHARS})"))
            return ""
        return value

    return text


def _split(value: str) -> list[str]:
    """Several names or addresses in one cell."""
    return [part.strip() for part in _LIST_SEPARATOR.split(value) if part.strip()]


def _read_agencies(sheet: Any, path: Path, out: WorkbookData) -> None:
    """The province row and one agency per row below the headers."""
    rows, header, columns = _rows(sheet, path, AGENCY_COLUMNS, AGENCY_REQUIRED)
    for number, cells in (r for r in rows if r[0] < header):
        texts = [_raw_text(c.value) for c in cells]
        if texts and match_key(texts[0]) in (match_key(PROVINCE), match_key("Tỉnh, thành phố")):
            out.data["province"] = next((v for v in texts[1:] if v), None)
            out.cells[("province",)] = CellRef(sheet.title, number, PROVINCE)
    if out.data["province"] is None:
        out.problems.append((CellRef(sheet.title, 1), f"thiếu dòng «{PROVINCE}» ghi tên tỉnh phía trên dòng tiêu đề"))
    for number, cells in (r for r in rows if r[0] > header):
        text = _cell_reader(sheet.title, number, cells, columns, out)
        values = {column: text(column) for column in AGENCY_COLUMNS}
        if not any(values.values()):
            continue  # an empty row
        i = len(out.data["agencies"])
        loc = ("agencies", i)
        agency: dict[str, Any] = {"code": values[CODE], "name": values[NAME], "kind": values[KIND]}
        agency["short_name"] = values[SHORT] or None
        agency["aliases"] = _split(values[ALIASES])
        agency["escalates_to"] = values[SUPERVISOR] or None
        agency["phone"] = values[PHONE] or None
        contacts: list[dict[str, Any]] = []
        for column, role, channel in (
            (EMAIL, "office", "email"),
            (HEAD_EMAIL, "head", "email"),
            (ZALO, "office", "zalo"),
        ):
            for address in _split(values[column]):
                out.cells[(*loc, "contacts", len(contacts))] = CellRef(sheet.title, number, column)
                contacts.append({"role": role, "channel": channel, "address": address})
        agency["contacts"] = contacts
        out.data["agencies"].append(agency)
        out.cells[loc] = CellRef(sheet.title, number)
        for key, column in (
            ("code", CODE),
            ("name", NAME),
            ("kind", KIND),
            ("short_name", SHORT),
            ("aliases", ALIASES),
            ("escalates_to", SUPERVISOR),
            ("phone", PHONE),
        ):
            out.cells[(*loc, key)] = CellRef(sheet.title, number, column)


def _read_groups(sheet: Any, path: Path, out: WorkbookData) -> None:
    """One group per row below the headers."""
    rows, header, columns = _rows(sheet, path, GROUP_COLUMNS, [GROUP_CODE, GROUP_NAME, MEMBERS])
    for number, cells in (r for r in rows if r[0] > header):
        text = _cell_reader(sheet.title, number, cells, columns, out)
        values = {column: text(column) for column in GROUP_COLUMNS}
        if not any(values.values()):
            continue
        loc = ("groups", len(out.data["groups"]))
        members = _split(values[MEMBERS].replace(",", ";"))
        out.data["groups"].append(
            {
                "code": values[GROUP_CODE],
                "name": values[GROUP_NAME],
                "aliases": _split(values[GROUP_ALIASES]),
                "members": members,
            }
        )
        out.cells[loc] = CellRef(sheet.title, number)
        for key, column in (
            ("code", GROUP_CODE),
            ("name", GROUP_NAME),
            ("aliases", GROUP_ALIASES),
            ("members", MEMBERS),
        ):
            out.cells[(*loc, key)] = CellRef(sheet.title, number, column)
