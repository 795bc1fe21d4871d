"""Coordinator paths: the XLSX template out, filled-in reports in, all rows or none, errors located."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.intake import register
from models import Assignment, get_engine
from models.db import session_scope
from tasks import status_workbook
from tasks.status_workbook import FILL_COLUMNS, SHEET, ImportResult, read_updates
from tests.intake_helpers import assignment, assignment_id, audit_actions, import_sample, updates_of

NUMBER = "TẠM-20220909/TB-TU"


def export_template(notice: int, path: Path, agency_code: str | None = None) -> int:
    """Export the template in a read-only session."""
    with session_scope(read_only=True) as session:
        return status_workbook.export_template(notice, path, agency_code, session=session)


def import_file(path: Path, *, reported_by: str) -> ImportResult:
    """Import a file in one session, as the CLI does."""
    with session_scope() as session:
        return status_workbook.import_file(path, session=session, reported_by=reported_by)


@pytest.fixture
def notice(db) -> int:
    """The sample notice."""
    return import_sample()


def cli() -> typer.Typer:
    """A dondoc-like app with only the intake commands."""
    app = typer.Typer()
    register(app)
    return app


def fill(path: Path, rows: dict[int, dict[str, object]], *, out: Path | None = None) -> Path:
    """Fill the template's yellow columns for the given assignment ids; return the saved file."""
    book = load_workbook(path)
    sheet = book[SHEET]
    header = [c.value for c in sheet[3]]
    for row in sheet.iter_rows(min_row=4):
        values = rows.get(row[0].value)
        for name, value in (values or {}).items():
            row[header.index(name)].value = value
    target = out or path
    book.save(target)
    return target


def declare_size(source: Path, target: Path, member: str, size: int) -> Path:
    """Copy an XLSX, making its zip directory claim that member unpacks to size bytes (a zip bomb's signature)."""
    data = bytearray(source.read_bytes())
    name = member.encode()
    for signature, size_at, name_len_at, name_at in ((b"PK\x01\x02", 24, 28, 46), (b"PK\x03\x04", 22, 26, 30)):
        start = data.find(signature)
        while start != -1:
            length = int.from_bytes(data[start + name_len_at : start + name_len_at + 2], "little")
            if bytes(data[start + name_at : start + name_at + length]) == name:
                data[start + size_at : start + size_at + 4] = size.to_bytes(4, "little")
            start = data.find(signature, start + 4)
    target.write_bytes(bytes(data))
    return target


def row_of(path: Path, aid: int) -> int:
    """The sheet row that holds an assignment."""
    sheet = load_workbook(path)[SHEET]
    return next(r[0].row for r in sheet.iter_rows(min_row=4) if r[0].value == aid)


def test_the_template_has_one_row_per_assignment_and_the_fill_in_columns(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    count = export_template(notice, path)
    sheet = load_workbook(path)[SHEET]
    header = [c.value for c in sheet[3]]
    assert header[0] == "Mã việc" and header[-len(FILL_COLUMNS) :] == FILL_COLUMNS
    ids = [r[0].value for r in sheet.iter_rows(min_row=4) if r[0].value is not None]
    with Session(get_engine()) as session:
        expected = len(session.exec(select(Assignment.id).where(Assignment.status != "withdrawn")).all())
    assert count == len(ids) == expected and len(set(ids)) == len(ids)
    assert "BÁO CÁO TIẾN ĐỘ THỰC HIỆN THÔNG BÁO SỐ TẠM-20220909/TB-TU" in sheet["A1"].value


def test_a_filled_in_file_imports_every_row_in_one_go(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    export_template(notice, path)
    hnd, so_ct = assignment_id("HND_TINH", "2.6"), assignment_id("SO_CT", "2.3")
    fill(
        path,
        {
            hnd: {
                "Trạng thái báo cáo": "Đang thực hiện",
                "Tỷ lệ hoàn thành (%)": 60,
                "Số văn bản": "123/BC-HND",
                "Nội dung báo cáo": "Đã xong dự thảo",
                "Ngày báo cáo": "19/09/2022",
            },
            so_ct: {"Trạng thái báo cáo": "hoan thanh", "Số văn bản": "45/SCT-KH"},  # typed without accents
        },
    )
    result = import_file(path, reported_by="Văn phòng Tỉnh ủy")
    assert result.ok and len(result.recorded) == 2
    assert [(u.status, u.percent, u.source, u.document_number) for u in updates_of(hnd)] == [
        ("in_progress", 60, "xlsx", "123/BC-HND")
    ]
    # A typed date is kept as the report's declared date (17:00 Vietnam time that day); timeliness counts
    # from when dondoc received the file.
    assert updates_of(hnd)[0].declared_at.isoformat() == "2022-09-19T10:00:00+00:00"
    assert updates_of(hnd)[0].reported_at > updates_of(hnd)[0].declared_at
    assert assignment(so_ct).status == "done" and assignment(so_ct).percent == 100
    assert "assignment.status" in audit_actions(so_ct)


def test_errors_name_the_sheet_the_row_and_the_column_and_nothing_is_imported(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    export_template(notice, path)
    hnd, so_ct, stc = assignment_id("HND_TINH", "2.6"), assignment_id("SO_CT", "2.3"), assignment_id("SO_TC", "2.3")
    fill(
        path,
        {
            hnd: {"Trạng thái báo cáo": "Đang thực hiện", "Tỷ lệ hoàn thành (%)": 60},  # fine on its own
            so_ct: {"Trạng thái báo cáo": "Xong rồi", "Tỷ lệ hoàn thành (%)": "sáu mươi"},
            stc: {
                "Trạng thái báo cáo": "Hoàn thành",
                "Liên kết minh chứng": "ftp://x",
                "Ngày báo cáo": date(2099, 1, 1),
            },
        },
    )
    result = import_file(path, reported_by="Văn phòng")
    messages = [str(e) for e in result.errors]
    row_ct, row_tc = row_of(path, so_ct), row_of(path, stc)
    assert (
        f"Trang «{SHEET}», dòng {row_ct}, cột «Trạng thái báo cáo»: không hợp lệ: «Xong rồi» (chọn: Đã tiếp nhận, Đang thực hiện, Hoàn thành)"
        in messages
    )
    assert (
        f"Trang «{SHEET}», dòng {row_ct}, cột «Tỷ lệ hoàn thành (%)»: phải là số nguyên từ 0 đến 100, nhận được «sáu mươi»"
        in messages
    )
    assert (
        f"Trang «{SHEET}», dòng {row_tc}, cột «Liên kết minh chứng»: phải là địa chỉ web bắt đầu bằng http:// hoặc https://"
        in messages
    )
    assert f"Trang «{SHEET}», dòng {row_tc}, cột «Ngày báo cáo»: ngày 01/01/2099 chưa đến" in messages
    assert len(messages) == 4 and not result.recorded
    assert updates_of(hnd) == [] and assignment(hnd).status == "assigned"  # the good row was not imported either


def test_a_row_refused_while_writing_rolls_back_the_rows_before_it(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    export_template(notice, path)
    first, withdrawn = assignment_id("HND_TINH", "2.1"), assignment_id("SO_CT", "2.3")
    fill(path, {first: {"Trạng thái báo cáo": "Đã tiếp nhận"}, withdrawn: {"Trạng thái báo cáo": "Hoàn thành"}})
    with Session(get_engine()) as session:  # withdrawn after the template went out
        session.exec(update(Assignment).where(Assignment.id == withdrawn).values(status="withdrawn"))
        session.commit()
    result = import_file(path, reported_by="Văn phòng")
    assert [str(e) for e in result.errors] == [
        f"Trang «{SHEET}», dòng {row_of(path, withdrawn)}, cột «Mã việc»: việc số {withdrawn} đã được thu hồi, không nhận báo cáo"
    ]
    assert updates_of(first) == [] and assignment(first).status == "assigned"


def test_a_duplicate_row_and_a_damaged_id_are_located(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    export_template(notice, path)
    hnd = assignment_id("HND_TINH", "2.6")
    book = load_workbook(path)
    sheet = book[SHEET]
    last = sheet.max_row
    sheet.cell(row=last + 1, column=1, value=hnd)
    sheet.cell(row=last + 1, column=8, value="Hoàn thành")
    sheet.cell(row=last + 2, column=1, value="abc")
    sheet.cell(row=last + 2, column=8, value="Hoàn thành")
    sheet.cell(row=row_of(path, hnd), column=8, value="Đang thực hiện")
    book.save(path)
    messages = [str(e) for e in read_updates(path).errors]
    assert f"Trang «{SHEET}», dòng {last + 1}, cột «Mã việc»: việc {hnd} đã có ở dòng {row_of(path, hnd)}" in messages
    assert f"Trang «{SHEET}», dòng {last + 2}, cột «Mã việc»: phải là số, nhận được «abc»" in messages


def test_the_commands_export_and_import(notice: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exported = CliRunner().invoke(cli(), ["export-template", NUMBER, "-o", "bao-cao.xlsx"])
    assert exported.exit_code == 0, exported.output
    hnd = assignment_id("HND_TINH", "2.6")
    fill(
        tmp_path / "bao-cao.xlsx",
        {hnd: {"Trạng thái báo cáo": "Hoàn thành", "Số văn bản": "9/BC"}},
        out=tmp_path / "da-dien.xlsx",
    )
    imported = CliRunner().invoke(cli(), ["import-updates", "da-dien.xlsx", "--by", "Chuyên viên Văn phòng"])
    assert imported.exit_code == 0 and "Đã nhập 1 báo cáo tiến độ" in imported.output
    assert updates_of(hnd)[0].reported_by == "Chuyên viên Văn phòng"
    fill(tmp_path / "bao-cao.xlsx", {hnd: {"Trạng thái báo cáo": "??"}}, out=tmp_path / "sai.xlsx")
    refused = CliRunner().invoke(cli(), ["import-updates", "sai.xlsx"])
    assert (
        refused.exit_code == 1
        and "không nhập dòng nào" in refused.output
        and "cột «Trạng thái báo cáo»" in refused.output
    )
    assert len(updates_of(hnd)) == 1
    not_xlsx = tmp_path / "x.xlsx"
    not_xlsx.write_text("không phải bảng tính", encoding="utf-8")
    broken = CliRunner().invoke(cli(), ["import-updates", str(not_xlsx)])
    assert broken.exit_code == 1 and "không đọc được tệp x.xlsx" in broken.output


def test_a_zip_bomb_is_refused_before_openpyxl_opens_it(notice: int, tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    export_template(notice, path)
    hnd = assignment_id("HND_TINH", "2.6")
    fill(path, {hnd: {"Trạng thái báo cáo": "Hoàn thành"}})
    bomb = declare_size(path, tmp_path / "bom.xlsx", "xl/worksheets/sheet1.xml", 1_000_000_000)
    with pytest.raises(status_workbook.TemplateError) as refused:
        import_file(bomb, reported_by="Văn phòng")
    assert str(refused.value) == (
        "không đọc được tệp bom.xlsx như một bảng tính XLSX: nội dung giải nén 953 MB vượt giới hạn 100 MB"
    )
    assert updates_of(hnd) == []
