"""Typer's usage errors ("Missing argument 'X'.") in Vietnamese, for officials who type the commands."""

from __future__ import annotations

import re
from typing import Any

import typer.rich_utils

# Typer (its vendored click) writes these in English with no catalogue to swap: each pattern is matched
# against the whole message and rewritten. An unknown message is shown as it is, never hidden.
_WHOLE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Missing argument '(?P<a>[^']+)'\."), "Thiếu tham số «{a}»."),
    (re.compile(r"Missing option '(?P<a>[^']+)'\.?"), "Thiếu tùy chọn «{a}»."),
    (re.compile(r"Missing parameter: (?P<a>\S+)"), "Thiếu tham số «{a}»."),
    (re.compile(r"Option '(?P<a>[^']+)' requires an argument\."), "Tùy chọn «{a}» cần một giá trị."),
    (re.compile(r"Option '(?P<a>[^']+)' does not take a value\."), "Tùy chọn «{a}» không nhận giá trị."),
    (
        re.compile(r"No such option: (?P<a>\S+) \(Possible options: (?P<b>[^)]+)\)"),
        "Không có tùy chọn «{a}» (có thể là: {b}).",
    ),
    (re.compile(r"No such option: (?P<a>\S+)"), "Không có tùy chọn «{a}»."),
    (
        re.compile(r"No such command '(?P<a>[^']+)'\. Did you mean '(?P<b>[^']+)'\?"),
        "Không có lệnh «{a}». Có phải là «{b}»?",
    ),
    (re.compile(r"No such command '(?P<a>[^']+)'\."), "Không có lệnh «{a}»."),
    (re.compile(r"Got unexpected extra argument(s|\(s\))? \((?P<a>.*)\)"), "Thừa tham số: {a}."),
    (re.compile(r"Invalid value for '(?P<a>[^']+)': (?P<b>.*)", re.DOTALL), "Giá trị không hợp lệ cho «{a}»: {b}"),
]

# The reason inside "Invalid value for …: <reason>", as pydantic and click word it.
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"Input should be a valid integer(, unable to parse string as an integer)?"),
        "phải là một số nguyên",
    ),
    (re.compile(r"Input should be a valid number.*"), "phải là một số"),
    (re.compile(r"Input should be less than or equal to (?P<a>\S+)"), "phải nhỏ hơn hoặc bằng {a}"),
    (re.compile(r"Input should be greater than or equal to (?P<a>\S+)"), "phải lớn hơn hoặc bằng {a}"),
    (re.compile(r"Input should be less than (?P<a>\S+)"), "phải nhỏ hơn {a}"),
    (re.compile(r"Input should be greater than (?P<a>\S+)"), "phải lớn hơn {a}"),
    (re.compile(r"Input should be a valid date.*"), "phải là một ngày (dd/mm/yyyy)"),
    (re.compile(r"'(?P<a>[^']*)' is not one of (?P<b>.+)\."), "«{a}» không thuộc: {b}."),
    (re.compile(r"(File|Path|Directory) '(?P<a>[^']+)' does not exist\."), "không tìm thấy «{a}»."),
    (re.compile(r"(File|Path) '(?P<a>[^']+)' is a directory\."), "«{a}» là một thư mục, không phải tệp."),
]


def _rewrite(text: str, table: list[tuple[re.Pattern[str], str]]) -> str | None:
    """The Vietnamese of text by the first pattern that matches all of it; None when none does."""
    for pattern, words in table:
        if found := pattern.fullmatch(text.strip()):
            return words.format(**found.groupdict())
    return None


def vietnamese_usage_error(message: str) -> str:
    """A usage error of Typer in Vietnamese; a message no pattern knows comes back unchanged."""
    whole = _rewrite(message, _WHOLE)
    if whole is None:
        return message
    reason = re.fullmatch(r"(?P<head>Giá trị không hợp lệ cho «[^»]+»: )(?P<reason>.*)", whole, re.DOTALL)
    if reason:
        return reason["head"] + (_rewrite(reason["reason"], _REASONS) or reason["reason"])
    return whole


def install() -> None:
    """Route Typer's usage errors through vietnamese_usage_error before they are printed."""
    original = typer.rich_utils.rich_format_error
    if getattr(original, "vietnamese", False):
        return

    def rich_format_error(error: Any) -> None:
        english = error.format_message()
        error.format_message = lambda: vietnamese_usage_error(english)
        original(error)

    rich_format_error.vietnamese = True  # type: ignore[attr-defined]  # marks the wrapper, so it is installed once
    typer.rich_utils.rich_format_error = rich_format_error  # type: ignore[assignment]  # Typer types it with its private click
