"""Load YAML into pydantic models, with errors that name the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = tuple[str | int, ...]

# Vietnamese wording for the pydantic error types a coordinator will actually meet.
_MESSAGES_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép (sai tên trường?)",
    "date_from_datetime_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_type": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "datetime_parsing": "thời điểm không hợp lệ",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "string_type": "phải là chuỗi ký tự",
    "list_type": "phải là một danh sách",
    "dict_type": "phải là một bảng (mapping)",
    "model_type": "phải là một bảng (mapping)",
    "bool_parsing": "phải là true hoặc false",
    "greater_than_equal": "giá trị quá nhỏ",
    "less_than_equal": "giá trị quá lớn",
    "string_too_short": "không được để trống",
    "too_short": "danh sách không được để trống",
}


class _DatelessLoader(yaml.SafeLoader):
    """A safe loader that leaves dates as text, so pydantic reports a bad date with its line."""


_DatelessLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class ConfigIssue:
    """One problem found in a file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(Exception):
    """A file could not be loaded; carries every issue found, each with file, line and field."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


@dataclass
class LocatedYaml:
    """Parsed YAML data plus the 1-based line of every key and list item."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """Return the line of the deepest known prefix of loc."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        """Build an issue located at loc."""
        return ConfigIssue(str(self.path), self.line_of(loc), format_loc(loc), message)


def format_loc(loc: Loc) -> str:
    """Render a location as `directives[2].deadline.phrase`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _collect_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int], issues: list[ConfigIssue], path: Path) -> None:
    """Walk the node tree, recording lines and refusing duplicate keys (PyYAML would keep the last)."""
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                issues.append(
                    ConfigIssue(str(path), line, format_loc((*loc, key)), f"khóa bị lặp lại (đã có ở dòng {seen[key]})")
                )
                continue
            seen[key] = line
            lines[(*loc, key)] = line
            _collect_lines(value_node, (*loc, key), lines, issues, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*loc, index), lines, issues, path)


def load_located_yaml(path: Path, text: str | None = None) -> LocatedYaml:
    """Parse a YAML file, keeping line numbers; syntax errors become a ConfigError."""
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(path), None, "", "không tìm thấy tệp")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(str(path), None, "", f"tệp không phải UTF-8 ({exc.reason})")]) from None
    try:
        loader = _DatelessLoader(source)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigIssue(str(path), line, "", f"lỗi cú pháp YAML: {exc.problem}")]) from None
    lines: dict[Loc, int] = {}
    issues: list[ConfigIssue] = []
    if node is not None:
        _collect_lines(node, (), lines, issues, path)
    if issues:
        raise ConfigError(issues)
    return LocatedYaml(path, data, lines)


def validation_issues(located: LocatedYaml, error: ValidationError) -> list[ConfigIssue]:
    """Turn a pydantic ValidationError into located issues with Vietnamese messages."""
    issues = []
    for err in error.errors():
        loc = tuple(part for part in err["loc"] if isinstance(part, (str, int)))
        message = _MESSAGES_VI.get(err["type"], err["msg"])
        if err["type"] == "literal_error":
            message = f"giá trị không hợp lệ, {err['msg']}"
        elif err["type"] in ("value_error", "assertion_error"):
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        issues.append(located.issue(loc, message))
    return issues


def load_model(path: Path, model: type[ModelT]) -> ModelT:
    """Load a YAML file and validate it as model, or raise ConfigError naming the lines."""
    located = load_located_yaml(path)
    return validate_located(located, model)


def validate_located(located: LocatedYaml, model: type[ModelT]) -> ModelT:
    """Validate already-parsed YAML as model, or raise ConfigError naming the lines."""
    try:
        return model.model_validate(located.data if located.data is not None else {})
    except ValidationError as exc:
        raise ConfigError(validation_issues(located, exc)) from None
