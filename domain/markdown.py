"""Markdown tables for Prefect artifacts, every cell escaped (text from outside must not change the table)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domain.safe_text import markdown_text


def _cell(value: object) -> str:
    """One cell: empty for None, otherwise the value's text escaped for one markdown line."""
    return "" if value is None else markdown_text(str(value))


def markdown_table(headers: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (no trailing newline); headers and cells go through markdown_text."""
    width = len(headers)
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "|" + "---|" * width,
    ]
    for row in rows:
        if len(row) != width:
            raise ValueError(f"markdown table row has {len(row)} cells, expected {width}")
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)
