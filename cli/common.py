"""What every dondoc command shares: consoles, Vietnamese errors, the database check, time parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer
from rich.console import Console

from config.loader import ConfigError

console = Console()
err = Console(stderr=True)


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


def parse_as_of(value: str | None) -> datetime:
    """Parse --as-of: a date means 08:00 in Vietnam that day; a datetime without offset is Vietnam time."""
    from config.escalation import load_escalation_policy
    from config.settings import get_settings
    from domain.planner import at_local
    from domain.workdays import VN_TZ

    if value is None:
        return datetime.now(UTC)
    try:
        if len(value) == 10:
            return at_local(date.fromisoformat(value), load_escalation_policy(get_settings().config_dir).send_at)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"thời điểm không hợp lệ: «{value}» (dạng đúng: YYYY-MM-DD hoặc YYYY-MM-DDTHH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(UTC)
