"""`dondoc deadline "PHRASE" --from YYYY-MM-DD`: parse a Vietnamese deadline phrase and compute its due date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DATE_FORMS, parse_date_vi
from config.loader import ConfigError
from config.policy import load_calendar, load_deadline_policy
from config.settings import get_settings
from domain.deadline_phrases import UnparseableDeadline, parse_deadline
from domain.deadlines import resolve_due

EXIT_CONFIG = 1
EXIT_UNPARSEABLE = 2


def _fail(message: str, code: int) -> typer.Exit:
    """Print a Vietnamese error on stderr and return the exit to raise."""
    typer.echo(f"Lỗi: {message}", err=True)
    return typer.Exit(code)


def deadline(
    phrase: Annotated[str, typer.Argument(help='Cụm từ nêu thời hạn, ví dụ "trước ngày 30/9/2022".')],
    from_: Annotated[
        str,
        typer.Option(
            "--from", help="Ngày bắt đầu tính (thường là ngày ban hành thông báo), dạng dd/mm/yyyy hoặc yyyy-mm-dd."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="In đúng một đối tượng JSON.")] = False,
    config_dir: Annotated[
        Path | None, typer.Option("--config-dir", help="Thư mục cấu hình (mặc định theo DONDOC_CONFIG_DIR).")
    ] = None,
) -> None:
    """Tính hạn hoàn thành từ một cụm từ thời hạn tiếng Việt và giải thích cách tính."""
    try:
        start = parse_date_vi(from_)
    except ValueError:
        raise _fail(f"ngày bắt đầu «{from_}» không hợp lệ (dạng đúng: {DATE_FORMS})", EXIT_UNPARSEABLE) from None
    try:
        parsed = parse_deadline(phrase, reference=start)
    except UnparseableDeadline as exc:
        raise _fail(f"không hiểu được thời hạn «{exc.phrase}»: {exc.reason_vi}", EXIT_UNPARSEABLE) from None
    directory = config_dir if config_dir is not None else get_settings().config_dir
    try:
        calendar = load_calendar(directory)
        policy = load_deadline_policy(directory)
    except ConfigError as exc:
        raise _fail(f"cấu hình không hợp lệ:\n{exc}", EXIT_CONFIG) from None
    result = resolve_due(parsed.rule, parsed.recurrence, start, calendar, policy)
    if as_json:
        payload = {
            "due": result.due.isoformat() if result.due else None,
            "rule": parsed.rule.model_dump(mode="json") if parsed.rule else None,
            "recurrence": parsed.recurrence.model_dump(mode="json") if parsed.recurrence else None,
            "explanation": result.explanation,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    typer.echo(f"«{phrase}» (tính từ {start:%d/%m/%Y}): {result.explanation}")


def register(app: typer.Typer) -> None:
    """Add the `deadline` command to a Typer app."""
    app.command("deadline")(deadline)
