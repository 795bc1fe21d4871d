"""`dondoc agencies import`: another province's directory from YAML or XLSX, validated, located, transactional."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli import common as cli_common
from cli.main import app
from config.agencies import AGENCIES_FILE, load_agencies
from config.settings import PACKAGED_CONFIG_DIR, get_settings
from models import Agency, AgencyContact, AuditEvent, get_engine
from tasks import agencies_import
from tasks.agencies_import import DirectoryRefused, import_directory, read_directory
from tasks.agencies_workbook import AGENCY_COLUMNS, AGENCY_SHEET, GROUP_COLUMNS, GROUP_SHEET, write_template
from tasks.notice_import import import_notice

runner = CliRunner()

QUANG_TRI = """province: Quảng Trị
agencies:
- code: UBND_QT
  name: Ủy ban nhân dân tỉnh Quảng Trị
  short_name: UBND tỉnh
  kind: government
  aliases: [UBND tỉnh]
- code: SO_TC
  name: Sở Tài chính tỉnh Quảng Trị
  short_name: Sở Tài chính
  kind: department
  escalates_to: UBND_QT
  contacts:
  - {channel: email, address: vanthu@stc.quangtri.example}
- code: SO_YT
  name: Sở Y tế tỉnh Quảng Trị
  short_name: Sở Y tế
  kind: department
  escalates_to: UBND_QT
groups:
- {code: CAC_SO, name: các sở, members: [SO_TC, SO_YT]}
"""
HEADERS = AGENCY_COLUMNS  # Mã, Tên cơ quan, Tên viết tắt, Tên khác, Loại, Cơ quan cấp trên, Email, Email lãnh đạo, Zalo, Điện thoại
ROWS = [
    ["UBND_QT", "Ủy ban nhân dân tỉnh Quảng Trị", "UBND tỉnh", "UBND tỉnh", "government", None, None, None, None, None],
    ["SO_TC", "Sở Tài chính tỉnh Quảng Trị", "Sở Tài chính", "STC; Sở KH&ĐT", "department", "UBND_QT", "vanthu@stc.quangtri.example", "gd@stc.quangtri.example", "1234567890", "0233 3000 000"],
    ["SO_YT", "Sở Y tế tỉnh Quảng Trị", "Sở Y tế", None, "department", "UBND_QT", None, None, None, None],
]  # fmt: skip
GROUPS = [["CAC_SO", "các sở", "các sở, ngành", "SO_TC; SO_YT"]]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long located messages are not wrapped by rich in the test runner."""
    monkeypatch.setattr(cli_common.err, "width", 400)
    monkeypatch.setattr(cli_common.console, "width", 400)


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the packaged configuration, used as the configured config dir (never the packaged files)."""
    folder = tmp_path / "config"
    folder.mkdir()
    for name in PACKAGED_CONFIG_DIR.glob("*.yaml"):
        shutil.copy(name, folder / name.name)
    monkeypatch.setenv("DONDOC_CONFIG_DIR", str(folder))
    get_settings.cache_clear()
    load_agencies.cache_clear()
    return folder


def workbook(path: Path, rows: list[list[Any]] = ROWS, groups: list[list[Any]] | None = GROUPS) -> Path:
    """Write an agencies workbook as an office would fill it in."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = AGENCY_SHEET
    sheet.append(["Tỉnh", "Quảng Trị"])
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    if groups is not None:
        group_sheet = book.create_sheet(GROUP_SHEET)
        group_sheet.append(GROUP_COLUMNS)
        for row in groups:
            group_sheet.append(row)
    book.save(path)
    return path


def state(config_dir: Path) -> tuple[bytes, list[tuple[Any, ...]]]:
    """The directory file's bytes and the agency and contact rows: what an import may change."""
    with Session(get_engine()) as session:
        agencies = [(a.code, a.name, a.kind, a.escalates_to_id) for a in session.exec(select(Agency)).all()]
        contacts = [(c.agency_id, c.channel, c.address, c.active) for c in session.exec(select(AgencyContact)).all()]
    return (config_dir / AGENCIES_FILE).read_bytes(), sorted(agencies, key=str) + sorted(contacts, key=str)


def refused(path: Path, config_dir: Path) -> list[str]:
    """Import a bad file: return its problems, after checking that neither the file nor the database changed."""
    before = state(config_dir)
    with pytest.raises(DirectoryRefused) as caught:
        import_directory(path, config_dir)
    assert state(config_dir) == before
    return caught.value.problems


def test_a_yaml_directory_replaces_the_file_and_the_agency_table(db, config_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "quang-tri.yaml"
    source.write_text(QUANG_TRI, encoding="utf-8")
    result = import_directory(source, config_dir)
    assert result.written and (result.changes.added, result.changes.changed) == (["UBND_QT", "SO_YT"], ["SO_TC"])
    assert len(result.changes.removed) == 51 and result.changes.groups_added == ["CAC_SO"]
    directory = load_agencies(config_dir)  # what the CLI, the follow-up rules and the parser load
    assert directory.province == "Quảng Trị" and directory.resolve("các sở") == ["SO_TC", "SO_YT"]
    with Session(get_engine()) as session:
        rows = {a.code: a for a in session.exec(select(Agency)).all()}
        assert set(rows) == {"UBND_QT", "SO_TC", "SO_YT"}
        assert rows["SO_TC"].escalates_to_id == rows["UBND_QT"].id
        contacts = session.exec(select(AgencyContact)).all()
        assert [(c.agency_id, c.address) for c in contacts] == [(rows["SO_TC"].id, "vanthu@stc.quangtri.example")]
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "agencies.imported")).all()
        assert event.details["source"] == "quang-tri.yaml"
    again = import_directory(source, config_dir)
    assert not again.changes.any


def test_an_xlsx_directory_imports_with_contacts_aliases_and_groups(db, config_dir: Path, tmp_path: Path) -> None:
    import_directory(workbook(tmp_path / "quang-tri.xlsx"), config_dir)
    directory = load_agencies(config_dir)
    so_tc = directory.by_code["SO_TC"]
    assert (directory.province, so_tc.escalates_to, so_tc.phone) == ("Quảng Trị", "UBND_QT", "0233 3000 000")
    assert so_tc.aliases == ["STC", "Sở KH&ĐT"] and directory.resolve("Sở KH&ĐT") == ["SO_TC"]
    assert [(c.role, c.channel, c.address) for c in so_tc.contacts] == [
        ("office", "email", "vanthu@stc.quangtri.example"),
        ("head", "email", "gd@stc.quangtri.example"),
        ("office", "zalo", "1234567890"),
    ]
    assert directory.groups[0].members == ["SO_TC", "SO_YT"]


def test_the_template_is_an_importable_example(db, config_dir: Path, tmp_path: Path) -> None:
    template = tmp_path / "mau.xlsx"
    write_template(template)
    directory = read_directory(template)
    assert directory.province == "Quảng Trị" and len(directory.agencies) == 3 and directory.groups


def test_a_dry_run_reports_the_changes_and_writes_nothing(db, config_dir: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "quang-tri.xlsx")
    before = state(config_dir)
    result = import_directory(source, config_dir, dry_run=True)
    assert not result.written and (len(result.changes.added), len(result.changes.removed)) == (2, 51)
    assert state(config_dir) == before
    out = runner.invoke(app, ["agencies", "import", str(source), "--dry-run"])
    assert out.exit_code == 0, out.stderr
    assert "Cơ quan thêm mới: 2 (UBND_QT, SO_YT)" in out.stdout and "Cơ quan bỏ khỏi danh mục: 51" in out.stdout
    assert "không ghi gì" in out.stdout and state(config_dir) == before


def _yaml_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """QUANG_TRI with one substitution, and the line it is on."""
    assert old in QUANG_TRI
    path = tmp_path / "quang-tri.yaml"
    path.write_text(QUANG_TRI.replace(old, new, 1), encoding="utf-8")
    return path, QUANG_TRI[: QUANG_TRI.index(old)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("code: SO_YT", "code: SO_TC", "mã «SO_TC» bị trùng"),
        ("escalates_to: UBND_QT\n  contacts", "escalates_to: UBND_HN\n  contacts", "«UBND_HN» không có trong danh mục"),
        ("vanthu@stc.quangtri.example", "vanthu stc.quangtri", "địa chỉ e-mail không hợp lệ"),
        ("kind: department", "kind: ''", "không được để trống"),
        ("code: SO_YT", "code: so-yt", "SO_YT"),
    ],
)
def test_bad_yaml_is_refused_at_its_line(
    db, config_dir: Path, tmp_path: Path, old: str, new: str, message: str
) -> None:
    path, line = _yaml_with(tmp_path, old, new)
    problems = refused(path, config_dir)
    located = [p for p in problems if p.startswith(f"{path}:{line}:")]
    if message == "SO_YT":  # a malformed code: pydantic's pattern message, at the code's line
        assert located
    else:
        assert any(message in p for p in located), problems


def test_an_unknown_group_member_is_refused_at_its_line(db, config_dir: Path, tmp_path: Path) -> None:
    path, line = _yaml_with(tmp_path, "members: [SO_TC, SO_YT]", "members: [SO_TC, SO_XD]")
    assert any(p.startswith(f"{path}:{line}:") and "SO_XD" in p for p in refused(path, config_dir))


def _row(code: str, **cells: Any) -> list[Any]:
    """An agency row with some cells set by header."""
    row = [code, f"Cơ quan {code}", None, None, "department", None, None, None, None, None]
    for header, value in cells.items():
        row[HEADERS.index(header.replace("_", " "))] = value
    return row


@pytest.mark.parametrize(
    ("rows", "where", "message"),
    [
        ([*ROWS, _row("SO_YT")], "dòng 6, cột «Mã»", "mã «SO_YT» bị trùng (đã có ở"),
        ([*ROWS, _row("SO_XD", **{"Cơ_quan_cấp_trên": "UBND_HN"})], "dòng 6, cột «Cơ quan cấp trên»", "«UBND_HN»"),
        ([*ROWS, _row("SO_XD", Email="vanthu@@sxd")], "dòng 6, cột «Email»", "e-mail không hợp lệ"),
        ([*ROWS, _row("SO_XD", **{"Tên_cơ_quan": '=HYPERLINK("http://x")'})], "dòng 6, cột «Tên cơ quan»", "công thức"),
        ([*ROWS, _row("SO_XD", **{"Điện_thoại": "gọi anh Ba"})], "dòng 6, cột «Điện thoại»", "điện thoại"),
        ([*ROWS, _row("SO XD")], "dòng 6, cột «Mã»", ""),
        ([*ROWS, _row("SO_XD", Loại=None)], "dòng 6, cột «Loại»", ""),
    ],
)
def test_bad_xlsx_cells_are_refused_at_their_row_and_column(
    db, config_dir: Path, tmp_path: Path, rows: list[list[Any]], where: str, message: str
) -> None:
    path = workbook(tmp_path / "quang-tri.xlsx", rows)
    problems = refused(path, config_dir)
    prefix = f"quang-tri.xlsx, trang «{AGENCY_SHEET}», {where}: "
    assert any(p.startswith(prefix) and message in p for p in problems), problems


def test_a_formula_typed_as_a_formula_cell_is_refused(db, config_dir: Path, tmp_path: Path) -> None:
    path = workbook(tmp_path / "quang-tri.xlsx", [*ROWS, _row("SO_XD", Email='=A1&"@x.vn"')])
    assert any("cột «Email»: ô chứa công thức" in p for p in refused(path, config_dir))


def test_an_unknown_member_in_the_group_sheet_is_located(db, config_dir: Path, tmp_path: Path) -> None:
    path = workbook(tmp_path / "quang-tri.xlsx", groups=[["CAC_SO", "các sở", None, "SO_TC; SO_XD"]])
    problems = refused(path, config_dir)
    assert any(p.startswith(f"quang-tri.xlsx, trang «{GROUP_SHEET}», dòng 2, cột «Thành viên»") for p in problems)


def _zip_bomb(path: Path) -> Path:
    """A small file whose one member unpacks to a hundred megabytes of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (101 * 1024 * 1024))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_zip_bomb, "vượt giới hạn"),
        (lambda p: (p.write_bytes(b"PK\x03\x04 not really a workbook"), p)[1], "không đọc được như một bảng tính XLSX"),
        (lambda p: workbook(p, groups=None) and _drop_province(p), "thiếu dòng «Tỉnh»"),
    ],
)
def test_hostile_or_broken_workbooks_are_refused(db, config_dir: Path, tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path / "quang-tri.xlsx")
    assert any(message in p and "quang-tri.xlsx" in p for p in refused(path, config_dir))


def _drop_province(path: Path) -> Path:
    """Rewrite a workbook without its «Tỉnh» row."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    book[AGENCY_SHEET].delete_rows(1)
    book.save(path)
    return path


def test_an_oversized_file_is_refused_before_it_is_read(
    db, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "quang-tri.yaml"
    path.write_text(QUANG_TRI + "#" * 2000 + "\n", encoding="utf-8")
    monkeypatch.setattr(agencies_import, "MAX_FILE_BYTES", 1024)
    assert any("tệp quá lớn" in p for p in refused(path, config_dir))


def test_agencies_still_used_by_notices_cannot_be_dropped(
    db, config_dir: Path, tmp_path: Path, sample_notice: Path
) -> None:
    import_notice(sample_notice, config_dir)
    source = tmp_path / "quang-tri.yaml"
    source.write_text(QUANG_TRI, encoding="utf-8")
    [problem] = refused(source, config_dir)
    assert "thiếu cơ quan đang được dùng" in problem and "TTTU" in problem and "SO_NNPTNT" in problem
    with pytest.raises(DirectoryRefused):
        import_directory(source, config_dir, dry_run=True)  # the dry run says so too


def test_a_failed_commit_puts_the_old_file_back(
    db, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "quang-tri.yaml"
    source.write_text(QUANG_TRI, encoding="utf-8")
    before = state(config_dir)
    real_scope = agencies_import.session_scope

    @contextmanager
    def failing_scope(**kwargs: Any) -> Iterator[Session]:
        with real_scope(**kwargs) as session:
            yield session
            raise RuntimeError("the database went away at commit")

    monkeypatch.setattr(agencies_import, "session_scope", failing_scope)
    with pytest.raises(RuntimeError):
        import_directory(source, config_dir)
    assert state(config_dir) == before
    assert not list(config_dir.glob(".*.tmp"))


def test_the_cli_prints_every_problem_located_and_exits_1(db, config_dir: Path, tmp_path: Path) -> None:
    rows = [*ROWS, _row("SO_YT"), _row("SO_XD", Email="x@")]
    path = workbook(tmp_path / "quang-tri.xlsx", rows)
    before = state(config_dir)
    result = runner.invoke(app, ["agencies", "import", str(path)])
    assert result.exit_code == 1 and "không ghi gì (2 lỗi)" in result.stderr
    assert "dòng 6, cột «Mã»" in result.stderr and "dòng 7, cột «Email»" in result.stderr
    assert state(config_dir) == before


def test_the_cli_imports_and_every_command_then_sees_the_new_directory(db, config_dir: Path, tmp_path: Path) -> None:
    path = workbook(tmp_path / "quang-tri.xlsx")
    result = runner.invoke(app, ["agencies", "import", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "Đã nhập" in result.stdout and str(config_dir / AGENCIES_FILE) in result.stdout
    listing = runner.invoke(app, ["agencies", "list"])
    assert "tỉnh Quảng Trị" in listing.stdout and "3 cơ quan, 1 nhóm" in listing.stdout


def test_parse_accepts_an_xlsx_directory(config_dir: Path, tmp_path: Path) -> None:
    notice = tmp_path / "y-kien.txt"
    notice.write_text(
        "THÔNG BÁO\nKết luận của Chủ tịch UBND tỉnh\n\n1. Giao Sở Y tế chủ trì, phối hợp với Sở KH&ĐT rà soát.\n",
        encoding="utf-8",
    )
    path = workbook(tmp_path / "quang-tri.xlsx")
    result = runner.invoke(app, ["parse", str(notice), "--date", "02/05/2024", "--directory", str(path)])
    assert result.exit_code == 0, result.stderr
    [directive] = yaml.safe_load(result.stdout)["directives"]
    assert directive["assignments"] == [{"agency": "SO_YT", "role": "lead"}, {"agency": "SO_TC", "role": "support"}]
    bad = workbook(tmp_path / "hong.xlsx", [*ROWS, _row("SO_YT")])
    result = runner.invoke(app, ["parse", str(notice), "--directory", str(bad)])
    assert result.exit_code != 0 and "hong.xlsx, trang «Cơ quan», dòng 6, cột «Mã»" in result.stderr


def test_the_template_command_writes_the_example(tmp_path: Path) -> None:
    path = tmp_path / "mau.xlsx"
    assert runner.invoke(app, ["agencies", "template", str(path)]).exit_code == 0
    assert read_directory(path).by_code["SO_TC"].escalates_to == "UBND_TINH"
    again = runner.invoke(app, ["agencies", "template", str(path)])
    assert again.exit_code == 1 and "--force" in again.stderr


def test_too_many_rows_are_refused(db, config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks import agencies_workbook

    monkeypatch.setattr(agencies_workbook, "MAX_ROWS", 5)
    path = workbook(tmp_path / "quang-tri.xlsx", [*ROWS, *(_row(f"SO_{n}") for n in range(20))])
    assert any("quá 5 dòng có dữ liệu" in p for p in refused(path, config_dir))
