"""What every dondoc command shares: consoles, Vietnamese errors, the database check, time parsing."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from typing import Any

import typer
import typer.core
import typer.rich_utils
from rich.console import Console
from sqlmodel import Session, select

from cli import usage_errors
from config.loader import ConfigError
from models import Notice

# Piped or redirected output (into a file, grep, an e-mail) is not cut at rich's default 80 columns:
# lines stay whole; tables get room up to this width.
PIPED_WIDTH = 240
# Help panels fill their width, so piped help gets a readable one rather than the widest.
HELP_WIDTH = 120


def _console(stderr: bool = False) -> Console:
    """A console that wraps at the terminal's width, and not at all when its stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)


console = _console()
err = _console(stderr=True)


def vietnamese_help() -> None:
    """Typer's own words in help and errors, in Vietnamese; help piped to a file is not wrapped at 80 columns."""
    rich_utils = typer.rich_utils
    rich_utils.ARGUMENTS_PANEL_TITLE = "Tham số"
    rich_utils.OPTIONS_PANEL_TITLE = "Tùy chọn"
    rich_utils.COMMANDS_PANEL_TITLE = "Lệnh"
    rich_utils.ERRORS_PANEL_TITLE = "Lỗi"
    rich_utils.ABORTED_TEXT = "Đã dừng."
    rich_utils.DEFAULT_STRING = "[mặc định: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[bắt buộc]"
    rich_utils.RICH_HELP = "Xem hướng dẫn: [blue]'{command_path} {help_option}'[/]."
    if not sys.stdout.isatty() and rich_utils.MAX_WIDTH is None:
        rich_utils.MAX_WIDTH = HELP_WIDTH
    _vietnamese_help_option()
    usage_errors.install()


HELP_OPTION_TEXT = "Hiện hướng dẫn này rồi thoát."


def _vietnamese_help_option() -> None:
    """Typer writes the --help option's own line in English, with no setting to change it: reword it once made."""
    for command_class in (typer.core.TyperCommand, typer.core.TyperGroup):
        original = command_class.get_help_option
        if getattr(original, "vietnamese", False):
            continue

        def get_help_option(self: Any, ctx: Any, _original: Any = original) -> Any:
            option = _original(self, ctx)
            if option is not None:
                option.help = HELP_OPTION_TEXT
            return option

        get_help_option.vietnamese = True  # type: ignore[attr-defined]  # marks the wrapper, so it is installed once
        command_class.get_help_option = get_help_option  # type: ignore[method-assign]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a Vietnamese error on stderr and return the exit to raise."""
    err.print(f"[bold red]Lỗi:[/] {message}", highlight=False)
    return typer.Exit(code)


def report_config_error(exc: ConfigError) -> typer.Exit:
    """Print every located issue of a ConfigError."""
    err.print(
        f"[bold red]Lỗi:[/] tệp không hợp lệ, không ghi gì vào cơ sở dữ liệu ({len(exc.issues)} lỗi):", highlight=False
    )
    for issue in exc.issues:
        err.print(f"  {issue}", highlight=False, markup=False)
    return typer.Exit(1)


def require_database() -> None:
    """Stop with a clear message when the database has not been initialised."""
    from models.migrate import current_revision

    if current_revision() is None:
        raise fail("cơ sở dữ liệu chưa được khởi tạo. Hãy chạy: dondoc db upgrade")


_VI_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
DATE_FORMS = "dd/mm/yyyy, d/m/yyyy hoặc yyyy-mm-dd"


def parse_date_vi(value: str) -> date:
    """A date as Vietnamese offices type it (dd/mm/yyyy, d/m/yyyy) or ISO; ValueError otherwise."""
    value = value.strip()
    found = _VI_DATE.match(value)
    if found:
        day, month, year = (int(part) for part in found.groups())
        return date(year, month, day)
    return date.fromisoformat(value)


def parse_day_option(value: str, option: str) -> date:
    """parse_date_vi for a CLI option, stopping with a Vietnamese message that names the option."""
    try:
        return parse_date_vi(value)
    except ValueError:
        raise fail(f"{option}: ngày không hợp lệ «{value}» (dạng đúng: {DATE_FORMS})") from None


def parse_as_of(value: str | None) -> datetime:
    """Parse --as-of: a date means 08:00 in Vietnam that day; a datetime without offset is Vietnam time."""
    from config.escalation import load_escalation_policy
    from config.settings import get_settings
    from domain.planner import at_local
    from domain.workdays import VN_TZ

    if value is None:
        return datetime.now(UTC)
    try:
        if "T" not in value and " " not in value.strip():
            return at_local(parse_date_vi(value), load_escalation_policy(get_settings().config_dir).send_at)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"thời điểm không hợp lệ: «{value}» (dạng đúng: {DATE_FORMS}, hoặc yyyy-mm-ddTHH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(UTC)


def resolve_notice(ref: str, *, session: Session) -> Notice:
    """The notice NOTICE names (accents and case forgiven), or stop with a Vietnamese message naming candidates."""
    from tasks.notice_queries import AmbiguousNotice, find_notice

    try:
        notice = find_notice(ref, session=session)
    except AmbiguousNotice as exc:
        raise fail(str(exc)) from None
    if notice is None:
        raise fail(f"không tìm thấy thông báo «{ref}». Xem danh sách: dondoc notices list")
    return notice


# Data older than this without --as-of is most likely a replay (make demo ends on 31/03/2023).
STALE_AFTER_DAYS = 7


def data_end_hint(as_of_given: bool, *, session: Session) -> str | None:
    """A one-line hint when the database's data ends well before today and no --as-of was given."""
    from sqlalchemy import func

    from domain.workdays import format_date_vi, local_date
    from models import Directive, Notification, StatusUpdate

    if as_of_given:
        return None
    latest = [
        session.exec(select(func.max(StatusUpdate.reported_at))).one(),
        session.exec(select(func.max(Directive.last_followed_up_at))).one(),
        session.exec(select(func.max(Notification.sent_at))).one(),
    ]
    moments = [m for m in latest if m is not None]
    if not moments:
        return None
    end = local_date(max(moments))
    if (local_date(datetime.now(UTC)) - end).days <= STALE_AFTER_DAYS:
        return None
    day = format_date_vi(end)
    return f"Gợi ý: dữ liệu chỉ đến ngày {day}; thêm --as-of {day} để xem tình hình tại thời điểm đó."
