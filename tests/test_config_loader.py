"""YAML loading keeps line numbers so every error names the file, the line and the field."""

from __future__ import annotations

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
