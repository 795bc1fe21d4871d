"""YAML loading keeps line numbers so every error names the file, the line and the field."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from config.loader import ConfigError, load_model


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Item]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_type_error_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    count: 1\n  - name: b\n    count: nhiều\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.field) == (str(path), 5, "items[1].count")
    assert "số nguyên" in issue.message


def test_a_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    count: 1\n  - name: b\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    (issue,) = info.value.issues
    assert issue.line == 4 and issue.field == "items[1].count" and "thiếu" in issue.message


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    count: 1\n    colour: red\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    assert info.value.issues[0].line == 4
    assert info.value.issues[0].field == "items[0].colour"


def test_a_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    count: [1, 2\n  - name: b\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    assert "cú pháp YAML" in str(info.value)
    assert info.value.issues[0].line is not None and info.value.issues[0].line >= 3


def test_duplicate_keys_are_refused_instead_of_silently_overwritten(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    name: b\n    count: 1\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    assert info.value.issues[0].line == 3
    assert "dòng 2" in info.value.issues[0].message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="không tìm thấy"):
        load_model(tmp_path / "absent.yaml", Doc)


# --- hostile and unusual YAML -------------------------------------------------------------------

# 9 levels of 9 aliases each: ~350 bytes that expand to 9**9 (387 million) strings when walked.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)

# Each loader the project has, called on FILE (a file) or CONFIG (a copy of config/ with FILE in it).
_LOAD_SCRIPT = """
import shutil, sys
from pathlib import Path
from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR

kind, bomb, workdir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
config = workdir / "config"
shutil.copytree(PACKAGED_CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
targets = {
    "notice": None,
    "scenario": None,
    "agencies": "agencies.yaml",
    "calendar": "calendar.yaml",
    "deadlines": "deadlines.yaml",
    "escalation": "escalation.yaml",
    "notifications": "notifications.yaml",
    "reporting": "reporting.yaml",
    "status_sources": "status_sources.yaml",
}
if targets[kind]:
    shutil.copy(bomb, config / targets[kind])
try:
    if kind == "notice":
        from config.notice_file import load_notice_file
        load_notice_file(bomb, config)
    elif kind == "scenario":
        from config.scenario import load_scenario
        load_scenario(bomb)
    elif kind == "agencies":
        from config.agencies import load_agencies
        load_agencies(config)
    elif kind == "calendar":
        from config.policy import load_calendar
        load_calendar(config)
    elif kind == "deadlines":
        from config.policy import load_deadline_policy
        load_deadline_policy(config)
    elif kind == "escalation":
        from config.escalation import load_escalation_policy
        load_escalation_policy(config)
    elif kind == "notifications":
        from config.notifications import load_notification_policy
        load_notification_policy(config)
    elif kind == "reporting":
        from config.reporting import load_reporting_policy
        load_reporting_policy(config)
    elif kind == "status_sources":
        from tasks.polling import load_status_sources
        load_status_sources(config)
except ConfigError as exc:
    print(exc)
    sys.exit(3)
print("loaded")
"""

LOADERS = [
    "notice",
    "scenario",
    "agencies",
    "calendar",
    "deadlines",
    "escalation",
    "notifications",
    "reporting",
    "status_sources",
]


@pytest.mark.parametrize("kind", LOADERS)
def test_every_loader_refuses_an_alias_bomb_with_a_located_error(tmp_path: Path, kind: str) -> None:
    """Before the fix the line walk followed the aliases: 46 s and 3.5 GB; the 10 s limit only stops a hang."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, kind, str(bomb), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=10,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert ":1: " in result.stdout and "neo/bí danh" in result.stdout


def test_an_alias_is_refused_on_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "items:\n  - name: a\n    count: 1\n  - name: b\n    count: *n\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    (issue,) = info.value.issues
    assert issue.line == 5 and "bí danh" in issue.message


@pytest.mark.parametrize(
    "text", ["[" * 10_000 + "]" * 10_000, "items:\n" + "".join("  " * i + "- x:\n" for i in range(3000))]
)
def test_deep_nesting_is_a_located_config_error_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_model(path, Doc)
    (issue,) = info.value.issues
    assert issue.line is not None and "lồng nhau quá sâu" in issue.message


def test_text_is_nfc_whatever_form_the_file_was_saved_in(tmp_path: Path) -> None:
    nfd_name = unicodedata.normalize("NFD", "Sở Công Thương")
    path = write(tmp_path, f"items:\n  - name: {nfd_name}\n    count: 1\n")
    assert load_model(path, Doc).items[0].name == "Sở Công Thương"


def test_keys_equal_after_nfc_are_duplicates(tmp_path: Path) -> None:
    class Free(BaseModel):
        model_config = ConfigDict(extra="allow")

    nfc_key, nfd_key = "tên", unicodedata.normalize("NFD", "tên")
    path = write(tmp_path, f"{nfc_key}: a\n{nfd_key}: b\n")
    with pytest.raises(ConfigError) as info:
        load_model(path, Free)
    assert info.value.issues[0].line == 2 and "lặp lại" in info.value.issues[0].message
