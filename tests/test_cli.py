"""The coordinator's commands: db upgrade, agencies list, import, notices list, show."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common as cli_common
from cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps tables at 80 columns without a terminal; tests read whole cells."""
    monkeypatch.setattr(cli_common.console, "width", 250)
    monkeypatch.setattr(cli_common.err, "width", 250)


def test_db_upgrade_then_import_and_show_the_sample(isolated_settings: Path, sample_notice: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (isolated_settings / "dondoc.db").exists()

    result = runner.invoke(app, ["import", str(sample_notice)])
    assert result.exit_code == 0, result.output
    assert "Đã nhập thông báo TẠM-20220909/TB-TU: 7 mục" in result.output

    result = runner.invoke(app, ["import", str(sample_notice)])
    assert "Không có thay đổi" in result.output

    result = runner.invoke(app, ["notices", "list"])
    assert "TẠM-20220909/TB-TU (số tạm)" in result.output

    result = runner.invoke(app, ["show", "TẠM-20220909/TB-TU"])
    assert result.exit_code == 0, result.output
    for text in [
        "2.1",
        "2.7",
        "Ban Dân vận Tỉnh ủy",
        "Văn phòng Tỉnh ủy",
        "Sở Công Thương",
        "UBND các huyện, thành phố (10)",
        "30/09/2022 (thứ Sáu)",
        "báo cáo hằng quý",
    ]:
        assert text in result.output, text


def test_show_accepts_the_number_without_diacritics_and_refuses_unknown_ones(
    isolated_settings: Path, sample_notice: Path
) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import", str(sample_notice)])
    assert runner.invoke(app, ["show", "tạm-20220909/tb-tu"]).exit_code == 0
    result = runner.invoke(app, ["show", "999-TB/TU"])
    assert result.exit_code == 1
    assert "không tìm thấy thông báo «999-TB/TU»" in result.output


def test_import_before_db_upgrade_says_what_to_do(isolated_settings: Path, sample_notice: Path) -> None:
    result = runner.invoke(app, ["import", str(sample_notice)])
    assert result.exit_code == 1
    assert "dondoc db upgrade" in result.output


def test_a_bad_file_prints_every_located_issue(isolated_settings: Path, sample_notice: Path, tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        sample_notice.read_text(encoding="utf-8").replace("agency: SO_TC,", "agency: SO_XX,"), encoding="utf-8"
    )
    result = runner.invoke(app, ["import", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:" in result.output and "SO_XX" in result.output and "không ghi gì" in result.output


def test_agencies_list_and_config_dir_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["agencies", "list"])
    assert result.exit_code == 0
    assert "Sở Khoa học và Công nghệ tỉnh Bắc Giang" in result.output and "52 cơ quan" in result.output

    (tmp_path / "agencies.yaml").write_text(
        "province: Thử\nagencies:\n  - code: A\n    name: Cơ quan A\n    kind: department\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["--config-dir", str(tmp_path), "agencies", "list"])
    assert result.exit_code == 0, result.output
    assert "1 cơ quan" in result.output and "tỉnh Thử" in result.output


def test_a_number_typed_loosely_finds_one_notice_or_lists_the_candidates(
    isolated_settings: Path, sample_notice: Path, tmp_path: Path
) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import", str(sample_notice)])
    assert runner.invoke(app, ["show", "TAM-20220909/TB-TU"]).exit_code == 0
    # A second notice whose number differs only by its diacritics makes the loose form ambiguous.
    twin = tmp_path / "twin.yaml"
    twin.write_text(sample_notice.read_text(encoding="utf-8").replace("TẠM-20220909/TB-TU", "TÂM-20220909/TB-TU"))
    assert runner.invoke(app, ["import", str(twin)]).exit_code == 0
    result = runner.invoke(app, ["show", "tam-20220909/tb-tu"])
    assert result.exit_code == 1
    assert "khớp với nhiều thông báo" in result.output
    assert "TÂM-20220909/TB-TU" in result.output and "TẠM-20220909/TB-TU" in result.output
    assert runner.invoke(app, ["show", "TÂM-20220909/TB-TU"]).exit_code == 0  # the exact number still works


@pytest.mark.parametrize("typed", ["26/9/2022", "26/09/2022", "2022-09-26"])
def test_dates_are_accepted_as_offices_type_them(isolated_settings: Path, sample_notice: Path, typed: str) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import", str(sample_notice)])
    result = runner.invoke(app, ["assignments", "TẠM-20220909/TB-TU", "--directive", "2.3", "--as-of", typed])
    assert result.exit_code == 0, result.output
    assert "tính đến 26/09/2022" in result.output


def test_an_impossible_date_is_refused_in_vietnamese(isolated_settings: Path, sample_notice: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import", str(sample_notice)])
    result = runner.invoke(app, ["show", "TẠM-20220909/TB-TU", "--as-of", "31/02/2022"])
    assert result.exit_code == 1
    assert "thời điểm không hợp lệ: «31/02/2022»" in result.output and "dd/mm/yyyy" in result.output


def test_show_notes_when_the_data_ends_long_before_today(isolated_settings: Path, sample_notice: Path) -> None:
    from datetime import UTC, datetime

    from sqlmodel import Session, select

    from models import Assignment, get_engine
    from models.db import session_scope
    from tasks.status_recording import record_status_update

    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import", str(sample_notice)])
    assert "Gợi ý" not in runner.invoke(app, ["show", "TẠM-20220909/TB-TU"]).output  # nothing dated yet
    with Session(get_engine()) as session:
        first = session.exec(select(Assignment.id)).first()
    assert first is not None
    with session_scope() as session:
        record_status_update(
            first,
            session=session,
            status="acknowledged",
            reported_by="test",
            source="cli",
            at=datetime(2023, 3, 31, 3, tzinfo=UTC),
        )
    output = runner.invoke(app, ["show", "TẠM-20220909/TB-TU"]).output
    assert "Gợi ý: dữ liệu chỉ đến ngày 31/03/2023; thêm --as-of 31/03/2023" in output
    assert "Gợi ý" not in runner.invoke(app, ["show", "TẠM-20220909/TB-TU", "--as-of", "31/03/2023"]).output
