"""`dondoc parse FILE [-o notice.yaml]`: read a conclusion notice (.txt/.md/.docx) and draft its notice file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from config.agencies import load_agencies
from config.loader import ConfigError
from config.policy import load_calendar, load_deadline_policy
from config.settings import get_settings
from domain.deadlines import compute_due, rule_from_json
from domain.notice_parser import (
    NoticeDraftText,
    NoticeParseError,
    NoticeReadError,
    parse_notice_text,
    read_notice_text,
    render_draft_yaml,
    summary_vi,
)

EXIT_CONFIG = 1
EXIT_INPUT = 2


def _fail(message: str, code: int) -> typer.Exit:
    """Print a Vietnamese error on stderr and return the exit to raise."""
    typer.echo(f"Lỗi: {message}", err=True)
    return typer.Exit(code)


def due_notes(draft: NoticeDraftText, config_dir: Path) -> dict[str, str]:
    """The explanation of each directive's computed due date, by number (none when the calendar is unusable)."""
    if draft.issued_on is None:
        return {}
    try:
        calendar, policy = load_calendar(config_dir), load_deadline_policy(config_dir)
    except ConfigError:
        return {}  # the draft is still useful; `dondoc import` reports the configuration error
    notes: dict[str, str] = {}
    for directive in draft.directives:
        if directive.deadline.rule is None:
            continue
        try:
            due = compute_due(rule_from_json(directive.deadline.rule), draft.issued_on, calendar, policy)
        except ValueError:
            continue  # e.g. a meeting the policy has no date for: the deadline comment already asks to check
        notes[directive.number] = due.explanation
    return notes


def parse(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Tệp thông báo kết luận: .txt, .md hoặc .docx.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Ghi bản nháp YAML vào tệp này (mặc định: in ra màn hình).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Ghi đè tệp -o nếu đã có.")] = False,
) -> None:
    """Đọc một Thông báo kết luận và soạn bản nháp tệp thông báo (YAML) để người kiểm tra rồi nhập."""
    config_dir = get_settings().config_dir
    try:
        directory = load_agencies(config_dir)
    except ConfigError as exc:
        raise _fail(f"danh mục cơ quan không hợp lệ:\n{exc}", EXIT_CONFIG) from None
    try:
        draft = parse_notice_text(read_notice_text(path), directory, source_name=path.name)
    except NoticeReadError as exc:
        raise _fail(exc.message_vi, EXIT_INPUT) from None
    except NoticeParseError as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise _fail(f"{where}: {exc.reason_vi}", EXIT_INPUT) from None
    yaml_text = render_draft_yaml(draft, due_notes=due_notes(draft, config_dir), generated_on=date.today())
    summary = summary_vi(draft, yaml_text)
    if output is None:
        typer.echo(yaml_text, nl=False)
        typer.echo(summary, err=True)
        return
    if output.exists() and not force:
        raise _fail(f"tệp «{output}» đã có; dùng --force để ghi đè", EXIT_CONFIG)
    try:
        output.write_text(yaml_text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"không ghi được «{output}»: {exc.strerror}", EXIT_CONFIG) from None
    typer.echo(summary)
    typer.echo(f"Đã ghi bản nháp: {output}. Kiểm tra các chỗ đánh dấu rồi nhập bằng: dondoc import {output}")


def register(app: typer.Typer) -> None:
    """Add the `parse` command to a Typer app."""
    app.command("parse")(parse)
