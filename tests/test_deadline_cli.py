"""`dondoc deadline "PHRASE" --from YYYY-MM-DD [--json] [--config-dir DIR]`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.deadline import register
from config.settings import PACKAGED_CONFIG_DIR


def _app() -> typer.Typer:
    """A Typer app with just the deadline command (a callback keeps it a command group)."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    """Invoke the command; return (exit code, stdout, stderr)."""
    result = runner.invoke(_app(), ["deadline", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output_is_one_object() -> None:
    code, out, _ = _run("trong 10 ngày làm việc", "--from", "2022-09-09", "--json")
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"due", "rule", "recurrence", "explanation"}
    assert payload["due"] == "2022-09-23"
    assert payload["rule"] == {"kind": "working_days", "days": 10, "since": None}
    assert payload["recurrence"] is None
    assert (
        payload["explanation"] == "Hạn 23/09/2022 (thứ Sáu): 10 ngày làm việc kể từ 09/09/2022, không tính ngày bắt đầu"
    )
    assert "\\u" not in out  # ensure_ascii=False: Vietnamese stays readable


def test_human_output() -> None:
    code, out, _ = _run("trước ngày 1/10/2022", "--from", "2022-09-09")
    assert code == 0
    assert "Hạn 03/10/2022 (thứ Hai)" in out  # 1/10/2022 is a Saturday
    assert "01/10/2022 là ngày nghỉ hằng tuần (thứ Bảy)" in out
    assert len(out.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("phrase", "due", "rule_kind", "every"),
    [
        ("định kỳ hằng quý", "2022-09-20", None, "quarter"),
        ("thường xuyên", None, "ongoing", None),
        ("khẩn trương", "2022-09-16", "urgent", None),
        ("trong quý IV/2022", "2022-12-30", "within_quarter", None),
        ("tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022", "2022-09-30", "meeting", None),
        ("trước ngày 30/9", "2022-09-30", "fixed_date", None),  # year from --from
    ],
)
def test_json_for_each_kind(phrase: str, due: str | None, rule_kind: str | None, every: str | None) -> None:
    code, out, _ = _run(phrase, "--from", "2022-09-09", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["due"] == due
    assert (payload["rule"] or {}).get("kind") == rule_kind
    assert (payload["recurrence"] or {}).get("every") == every
    assert payload["explanation"]


def test_unparseable_phrase_exits_2_with_a_vietnamese_message() -> None:
    code, out, err = _run("càng sớm càng tốt", "--from", "2022-09-09", "--json")
    assert code == 2
    assert out == ""
    assert "không hiểu được thời hạn «càng sớm càng tốt»" in err


def test_bad_start_date_exits_2() -> None:
    code, _, err = _run("khẩn trương", "--from", "31/02/2022")
    assert code == 2
    assert "«31/02/2022» không hợp lệ" in err and "dd/mm/yyyy" in err


def test_a_start_date_typed_as_offices_do_is_accepted() -> None:
    assert _run("khẩn trương", "--from", "9/9/2022")[0] == _run("khẩn trương", "--from", "2022-09-09")[0] == 0


def test_config_dir_with_a_meeting_date(tmp_path: Path) -> None:
    shutil.copy(PACKAGED_CONFIG_DIR / "calendar.yaml", tmp_path / "calendar.yaml")
    (tmp_path / "deadlines.yaml").write_text(
        "meetings:\n  - body: Ban Thường vụ Tỉnh ủy\n    date: 2022-09-28\n    note: lịch thử\n", encoding="utf-8"
    )
    code, out, _ = _run(
        "tại Hội nghị Ban Thường vụ Tỉnh ủy phiên thường kỳ tháng 9/2022",
        "--from",
        "2022-09-09",
        "--json",
        "--config-dir",
        str(tmp_path),
    )
    assert code == 0
    assert json.loads(out)["due"] == "2022-09-28"


def test_broken_config_exits_1_naming_the_file(tmp_path: Path) -> None:
    shutil.copy(PACKAGED_CONFIG_DIR / "calendar.yaml", tmp_path / "calendar.yaml")
    (tmp_path / "deadlines.yaml").write_text("urgent_working_days: nhiều\n", encoding="utf-8")
    code, _, err = _run("khẩn trương", "--from", "2022-09-09", "--config-dir", str(tmp_path))
    assert code == 1
    assert "deadlines.yaml:1" in err and "urgent_working_days" in err
