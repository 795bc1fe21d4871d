"""The `dondoc` command line. Messages meant for officials are in Vietnamese."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session, col, select

from cli.common import (
    console,
    data_end_hint,
    err,
    parse_as_of,
    report_config_error,
    require_database,
    resolve_notice,
    vietnamese_help,
)
from config.loader import ConfigError
from config.settings import get_settings
from domain.text import excerpt

vietnamese_help()
# "--help" is described in Vietnamese too (click's own text is English).
HELP_OPTION = {"help_option_names": ["--help", "-h"]}
app = typer.Typer(
    help="dondoc — theo dõi, đôn đốc thực hiện Thông báo kết luận.",
    no_args_is_help=True,
    add_completion=False,
    context_settings=HELP_OPTION,
)
db_app = typer.Typer(help="Cơ sở dữ liệu.", no_args_is_help=True)
agencies_app = typer.Typer(help="Danh mục cơ quan.", no_args_is_help=True)
notices_app = typer.Typer(help="Thông báo kết luận đã nhập.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(agencies_app, name="agencies")
app.add_typer(notices_app, name="notices")


@app.callback()
def main(
    config_dir: Annotated[
        Path | None, typer.Option("--config-dir", help="Thư mục cấu hình (mặc định: DONDOC_CONFIG_DIR hoặc config/).")
    ] = None,
) -> None:
    """Apply global options before any command runs."""
    if config_dir is not None:
        os.environ["DONDOC_CONFIG_DIR"] = str(config_dir.resolve())
        get_settings.cache_clear()


@db_app.command("upgrade", help="Tạo hoặc nâng cấp cơ sở dữ liệu lên phiên bản mới nhất.")
def db_upgrade() -> None:
    """Create or migrate the database to the latest schema."""
    from models.migrate import current_revision, upgrade

    before = current_revision()
    upgrade()
    after = current_revision()
    url = _safe_url(get_settings().effective_database_url)
    if before is None:
        message = f"Đã tạo cơ sở dữ liệu mới, phiên bản {after}: {url}"
    elif before != after:
        message = f"Đã nâng cấp cơ sở dữ liệu từ phiên bản {before} lên {after}: {url}"
    else:
        message = f"Cơ sở dữ liệu đã ở phiên bản mới nhất ({after}): {url}"
    console.print(message, highlight=False)


def _safe_url(url: str) -> str:
    """Return a database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@agencies_app.command("list", help="Liệt kê danh mục cơ quan, cơ quan cấp trên và kênh liên hệ.")
def agencies_list() -> None:
    """List the agencies of the directory, with their supervisors and contacts."""
    from config.agencies import load_agencies

    try:
        directory = load_agencies(get_settings().config_dir)
    except ConfigError as exc:
        raise report_config_error(exc) from None
    table = Table(title=f"Danh mục cơ quan — tỉnh {directory.province}")
    for column in ("Mã", "Tên cơ quan", "Loại", "Báo cáo lên", "Liên hệ"):
        table.add_column(column)
    for agency in directory.agencies:
        supervisor = directory.by_code[agency.escalates_to].display_name if agency.escalates_to else "—"
        contacts = ", ".join(sorted({c.channel for c in agency.contacts})) or "—"
        table.add_row(agency.code, agency.name, agency.kind, supervisor, contacts)
    console.print(table)
    console.print(f"{len(directory.agencies)} cơ quan, {len(directory.groups)} nhóm.", highlight=False)


@app.command("import", help="Nhập tệp thông báo: kiểm tra toàn bộ trước, rồi ghi trong một giao dịch.")
def import_command(
    path: Annotated[Path, typer.Argument(help="Tệp thông báo (YAML).")],
    update: Annotated[bool, typer.Option("--update", help="Cập nhật thông báo đã nhập khi nội dung thay đổi.")] = False,
) -> None:
    """Import a notice file: validate everything, then write it in one transaction."""
    from tasks.notice_import import ImportRefused, import_notice

    require_database()
    try:
        result = import_notice(path, get_settings().config_dir, update=update)
    except ConfigError as exc:
        raise report_config_error(exc) from None
    except ImportRefused as exc:
        err.print(
            f"[bold red]Lỗi:[/] thông báo {exc.number} đã được nhập với nội dung khác; không ghi gì.", highlight=False
        )
        err.print("Dùng --update để cập nhật. Khác biệt:", highlight=False)
        err.print(exc.diff, markup=False, highlight=False)
        raise typer.Exit(1) from None
    verb = {"created": "Đã nhập", "updated": "Đã cập nhật", "unchanged": "Không có thay đổi:"}[result.action]
    console.print(
        f"{verb} thông báo {result.number}: {result.directives} mục, {result.assignments} lượt giao việc.",
        highlight=False,
    )
    for change in result.changes:
        console.print(f"  • {change}", highlight=False)


@notices_app.command("list", help="Liệt kê các thông báo kết luận đã nhập.")
def notices_list() -> None:
    """List imported notices."""
    from models import Directive, Notice, get_engine

    require_database()
    table = Table(title="Thông báo kết luận đã nhập")
    for column in ("Số", "Ngày", "Trích yếu", "Số mục"):
        table.add_column(column)
    with Session(get_engine()) as session:
        for notice in session.exec(select(Notice).order_by(col(Notice.issued_on))).all():
            count = len(session.exec(select(Directive.id).where(Directive.notice_id == notice.id)).all())
            number = notice.number + (" (số tạm)" if notice.number_is_placeholder else "")
            table.add_row(number, notice.issued_on.strftime("%d/%m/%Y"), excerpt(notice.title, 70), str(count))
    console.print(table)


@app.command("show", help="Hiện các mục của một thông báo: cơ quan chủ trì, phối hợp và thời hạn.")
def show(
    notice_ref: Annotated[str, typer.Argument(metavar="NOTICE", help="Số thông báo (hoặc mã số nội bộ).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Tính đến ngày (dd/mm/yyyy hoặc yyyy-mm-dd; mặc định: hôm nay).")
    ] = None,
) -> None:
    """Show a notice's directives with their lead and supporting agencies and due dates."""
    from config.agencies import load_agencies
    from config.policy import load_calendar, load_deadline_policy
    from domain.workdays import local_date
    from models.db import session_scope
    from tasks.notice_queries import DeadlineContext, notice_table

    moment = parse_as_of(as_of)
    config_dir = get_settings().config_dir
    require_database()
    with session_scope(read_only=True) as session:
        notice = resolve_notice(notice_ref, session=session)
        context = DeadlineContext(
            local_date(moment), notice.issued_on, load_calendar(config_dir), load_deadline_policy(config_dir)
        )
        rows = notice_table(notice.id, session=session, directory=load_agencies(config_dir), context=context)  # type: ignore[arg-type]
        title = f"Thông báo {notice.number}" + (" (số tạm)" if notice.number_is_placeholder else "")
        title += f" ngày {notice.issued_on.strftime('%d/%m/%Y')}"
        hint = data_end_hint(as_of is not None, session=session)
    table = Table(title=title, show_lines=True)
    for column, style in (
        ("Mục", "bold"),
        ("Nội dung", None),
        ("Chủ trì", None),
        ("Phối hợp", None),
        ("Thời hạn", None),
    ):
        table.add_column(column, style=style, overflow="fold")
    for row in rows:
        table.add_row(
            row.number, excerpt(row.text, 110), "\n".join(row.leads), "\n".join(row.supports) or "—", row.deadline
        )
    console.print(table)
    if hint:
        console.print(hint, highlight=False)


def register_subcommands() -> None:
    """Attach the commands that live in their own modules."""
    from cli import agencies, deadline, followup, intake, outbox, parse, prefect_server, report, serve

    agencies.register(agencies_app)
    deadline.register(app)
    followup.register(app)
    intake.register(app)
    outbox.register(app)
    parse.register(app)
    prefect_server.register(app)
    report.register(app)
    serve.register(app)


register_subcommands()


def run() -> None:
    """The `dondoc` entry point: the app, with database trouble told in Vietnamese instead of a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except OperationalError as exc:
        detail = str(exc.orig) if exc.orig is not None else type(exc).__name__
        if "locked" in detail or "busy" in detail:
            message = (
                "cơ sở dữ liệu đang bận (một tiến trình khác đang ghi quá lâu). "
                "Không có gì bị ghi dở; hãy thử lại sau ít phút."
            )
        else:
            message = f"không kết nối được cơ sở dữ liệu ({detail.splitlines()[0][:200]}). Không có gì bị ghi dở."
        err.print(f"Lỗi: {message}", highlight=False)
        raise SystemExit(1) from None
