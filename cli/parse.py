"""`dondoc parse FILE [-o notice.yaml]`: read a conclusion notice (.txt/.md/.docx) and draft its notice file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from config.agencies import AgencyDirectory, load_agencies
from config.body_types import load_body_types
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


def given_date(text: str | None) -> date | None:
    """The --date value (DD/MM/YYYY) as a date; raise a Vietnamese error naming the option."""
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise _fail(f"--date «{text}» không phải ngày hợp lệ dạng DD/MM/YYYY (ví dụ 05/03/2024)", EXIT_INPUT) from None


def load_directory(config_dir: Path, directory_file: Path | None) -> AgencyDirectory:
    """The configured directory, or the one in --directory FILE (another province's, YAML or XLSX)."""
    from tasks.agencies_import import DirectoryRefused, read_directory

    if directory_file is None:
        try:
            return load_agencies(config_dir)
        except ConfigError as exc:
            raise _fail(f"danh mục cơ quan không hợp lệ:\n{exc}", EXIT_CONFIG) from None
    if not directory_file.is_file():
        raise _fail(f"--directory: không tìm thấy tệp «{directory_file}»", EXIT_CONFIG)
    try:
        return read_directory(directory_file)
    except DirectoryRefused as exc:
        raise _fail("danh mục cơ quan không hợp lệ:\n" + "\n".join(exc.problems), EXIT_CONFIG) from None


def parse(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="Tệp văn bản giao việc: .txt, .md hoặc .docx.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Ghi bản nháp YAML vào tệp này (mặc định: in ra màn hình).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Ghi đè tệp -o nếu đã có.")] = False,
    issue_date: Annotated[
        str | None, typer.Option("--date", help="Ngày ban hành DD/MM/YYYY, dùng khi văn bản không ghi ngày.")
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option("--issuer", help="Cơ quan ban hành (mã hoặc tên trong danh mục), dùng khi văn bản không ghi."),
    ] = None,
    directory_file: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            help="Danh mục cơ quan của tỉnh khác để đối chiếu tên: YAML dạng agencies.yaml hoặc XLSX (xem dondoc agencies template).",
        ),
    ] = None,
) -> None:
    """Đọc một văn bản giao việc (Thông báo kết luận, Kết luận, Công văn, ý kiến chỉ đạo) và soạn bản nháp YAML."""
    config_dir = get_settings().config_dir
    day = given_date(issue_date)
    directory = load_directory(config_dir, directory_file)
    try:
        body_types = load_body_types(config_dir)
    except ConfigError as exc:
        raise _fail(f"danh sách loại cơ quan không hợp lệ:\n{exc}", EXIT_CONFIG) from None
    try:
        draft = parse_notice_text(
            read_notice_text(path),
            directory,
            source_name=path.name,
            issued_on=day,
            issuer=issuer,
            body_types=body_types,
        )
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
