"""Load YAML into pydantic models, with errors that name the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from domain.labels import validation_message_vi
from domain.safe_text import nfc

ModelT = TypeVar("ModelT", bound=BaseModel)
Loc = tuple[str | int, ...]

# Config files are small and shallow; a notice file nests about six levels. The limit keeps PyYAML's
# recursive composer (and everything that walks the tree after it) far from Python's recursion limit.
MAX_YAML_DEPTH = 64


class _RefusedYaml(Exception):
    """A construct dondoc refuses in its YAML files, with the 1-based line where it starts."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _ConfigYamlLoader(yaml.SafeLoader):
    """A safe loader for dondoc's files: dates stay text, no anchors or aliases, bounded depth, NFC text.

    Aliases are refused because a few hundred bytes of nested aliases ("billion laughs") expand to
    billions of nodes in everything that walks the data; dondoc's files never need them.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing aliases, anchors and nesting deeper than MAX_YAML_DEPTH."""
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # PyYAML's stub leaves it untyped
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            raise _RefusedYaml(
                line, "tệp dùng bí danh YAML (*tên); dondoc không nhận neo/bí danh, hãy viết đầy đủ giá trị"
            )
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise _RefusedYaml(
                line, f"tệp dùng neo YAML (&{event.anchor}); dondoc không nhận neo/bí danh, hãy viết đầy đủ giá trị"
            )
        if self._depth >= MAX_YAML_DEPTH:
            raise _RefusedYaml(line, f"cấu trúc lồng nhau quá sâu (quá {MAX_YAML_DEPTH} cấp)")
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_scalar(self, node: yaml.ScalarNode) -> Any:  # type: ignore[override]  # PyYAML's stub: node: Node
        """Every text comes out NFC, so names and numbers compare equal whatever form the editor saved."""
        value = super().construct_scalar(node)
        return nfc(value) if isinstance(value, str) else value


# Dates stay text, so pydantic reports a bad date with its line.
_ConfigYamlLoader.yaml_implicit_resolvers = {
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
            key = nfc(key_node.value) if isinstance(key_node.value, str) else key_node.value
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
        loader = _ConfigYamlLoader(source)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except _RefusedYaml as exc:
        raise ConfigError([ConfigIssue(str(path), exc.line, "", exc.problem)]) from None
    except RecursionError:  # a safety net: the depth limit above should make this unreachable
        raise ConfigError([ConfigIssue(str(path), None, "", "cấu trúc lồng nhau quá sâu")]) from None
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
        issues.append(located.issue(loc, validation_message_vi(err)))
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
