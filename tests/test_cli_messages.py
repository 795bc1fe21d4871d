"""CLI words as offices type them (issue 14 items 12 and 14): Vietnamese statuses, a new database announced."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from cli.main import app
from models import Agency, Assignment, Directive, get_engine

runner = CliRunner()


def _assignment(code: str, number: str) -> int:
    with Session(get_engine()) as session:
        return (
            session.exec(
                select(Assignment.id)
                .join(Agency, col(Agency.id) == col(Assignment.agency_id))
                .join(Directive, col(Directive.id) == col(Assignment.directive_id))
                .where(Agency.code == code, Directive.number == number)
            ).one()
            or 0
        )


def test_db_upgrade_says_it_created_a_new_database(isolated_settings: Path) -> None:
    first = runner.invoke(app, ["db", "upgrade"])
    second = runner.invoke(app, ["db", "upgrade"])

    assert first.exit_code == 0 and "Đã tạo cơ sở dữ liệu mới" in first.output
    assert "đã ở phiên bản mới nhất" in second.output


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("đã tiếp nhận", "đã tiếp nhận"),
        ("dang thuc hien", "đang thực hiện"),
        ("HOÀN THÀNH", "hoàn thành"),
        ("done", "hoàn thành"),
    ],
)
def test_update_takes_the_status_words_of_the_reports(
    isolated_settings: Path, sample_notice: Path, typed: str, shown: str
) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["import", str(sample_notice)]).exit_code == 0
    aid = _assignment("SO_CT", "2.3")

    result = runner.invoke(
        app, ["update", str(aid), "--status", typed, "--percent", "100" if shown == "hoàn thành" else "20"]
    )

    assert result.exit_code == 0, result.output
    assert f"cho việc {aid}: {shown}." in " ".join(result.output.split())


def test_an_unknown_status_is_refused_in_vietnamese(isolated_settings: Path, sample_notice: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["update", "1", "--status", "xong roi"])

    assert result.exit_code == 1 and "không hiểu trạng thái «xong roi»" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "vietnamese"),
    [
        (["update"], "Thiếu tham số «ASSIGNMENT»."),
        (["update", "5", "--status"], "Tùy chọn «--status» cần một giá trị."),
        (["update", "abc", "--status", "done"], "Giá trị không hợp lệ cho «ASSIGNMENT»: phải là một số nguyên"),
        (["update", "5", "--status", "done", "--percent", "200"], "phải nhỏ hơn hoặc bằng 100"),
        (["update", "5", "6", "--status", "done"], "Thừa tham số: 6."),
        (["update", "5", "--stat", "done"], "Không có tùy chọn «--stat» (có thể là: --status)."),
        (["db", "upgrad"], "Không có lệnh «upgrad». Có phải là «upgrade»?"),
    ],
)
def test_usage_errors_are_in_vietnamese(args: list[str], vietnamese: str) -> None:
    """An official who mistypes a command reads what is wrong in Vietnamese, not Typer's English."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    flat = " ".join(result.output.replace("│", " ").split())
    assert vietnamese in flat
    for english in ("Missing", "Invalid value", "No such", "unexpected", "requires an argument", "Input should"):
        assert english not in flat


def test_the_help_option_itself_is_described_in_vietnamese() -> None:
    for args in (["--help"], ["update", "--help"], ["agencies", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Hiện hướng dẫn này rồi thoát." in result.output and "Show this message" not in result.output


def test_an_unknown_typer_message_is_shown_unchanged() -> None:
    from cli.usage_errors import vietnamese_usage_error

    assert vietnamese_usage_error("Something Typer says one day.") == "Something Typer says one day."
    assert vietnamese_usage_error("Invalid value for '--x': a reason nobody translated") == (
        "Giá trị không hợp lệ cho «--x»: a reason nobody translated"
    )
