"""`dondoc prefect-server`: Prefect's own server (API and UI) with this project's settings, wherever it starts.

Two things differ from a bare `prefect server start`:

* The `[tool.prefect]` table of pyproject.toml is applied. Prefect reads it only from the working directory,
  so a server started from a service unit, a container or another folder silently ran on the defaults.
* On SQLite, a 503 answer tells Prefect's client to try again after RETRY_AFTER_S. Prefect's server answers
  503 when its SQLite database is busy: a write that meets another connection's newer commit fails at once
  (SQLITE_BUSY_SNAPSHOT) and succeeds when tried again. Without a hint Prefect's client waits 2, 4, 8… seconds;
  on a sweep of 100 follow-ups that was 13 waits and half of the run (bench/README.md). The client honours
  `Retry-After` (prefect/client/base.py). On PostgreSQL a 503 means something else (a lost connection, a
  restart): Prefect's own back-off is kept there.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import console

PROJECT_DIR = Path(__file__).resolve().parent.parent
RETRY_AFTER_S = 0.1
FACTORY = "cli.prefect_server:create_app"

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


def project_prefect_env(pyproject: Path = PROJECT_DIR / "pyproject.toml") -> dict[str, str]:
    """The project's [tool.prefect] table as PREFECT_* environment variables."""

    def flatten(prefix: str, table: dict[str, Any]) -> Iterator[tuple[str, str]]:
        for key, value in table.items():
            name = f"{prefix}_{key}".upper()
            if isinstance(value, dict):
                yield from flatten(name, value)
            else:
                yield name, str(value).lower() if isinstance(value, bool) else str(value)

    table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("prefect", {})
    return dict(flatten("PREFECT", table))


class RetryAfterOnBusy:
    """ASGI middleware: every 503 answer carries `Retry-After: seconds`."""

    def __init__(self, app: ASGIApp, seconds: float = RETRY_AFTER_S) -> None:
        self.app = app
        self.header = (b"retry-after", str(seconds).encode())

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        """Pass the request on; add the header to a 503's response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_hint(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"retry-after"]
                message = {**message, "headers": [*headers, self.header]}
            await send(message)

        await self.app(scope, receive, send_with_hint)


def on_sqlite(connection_url: str | None) -> bool:
    """Whether Prefect's server keeps its data in SQLite (its default when no URL is set)."""
    return not connection_url or connection_url.startswith("sqlite")


def create_app() -> Any:
    """Prefect's server application, with the 503 hint when its database is SQLite (uvicorn's factory)."""
    from prefect.server.api.server import create_app as prefect_app
    from prefect.settings import get_current_settings

    app = prefect_app(final=True)
    url = get_current_settings().server.database.connection_url
    return RetryAfterOnBusy(app) if on_sqlite(url.get_secret_value() if url else None) else app


def server_command(host: str, port: int, environ: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command line and environment that run create_app with the project's settings."""
    # The environment's own PREFECT_* variables win over the project's defaults; the address is the one served.
    env = {**project_prefect_env(), **environ, "PREFECT_SERVER_API_HOST": host, "PREFECT_SERVER_API_PORT": str(port)}
    env.setdefault("PREFECT_UI_API_URL", f"http://{host}:{port}/api")  # behind a proxy: its public address
    # uvicorn's own log level as `prefect server start` sets it (Prefect's default: warnings only, no access log).
    level = env.get("PREFECT_SERVER_LOGGING_LEVEL", "warning").lower()
    command = [sys.executable, "-m", "uvicorn", "--factory", FACTORY, "--log-level", level]
    return [*command, "--host", host, "--port", str(port)], env


def register(app: typer.Typer) -> None:
    """Attach `dondoc prefect-server`."""

    @app.command(
        "prefect-server",
        help=(
            "Chạy máy chủ Prefect (API và giao diện cho điều phối viên) với cấu hình của dondoc, "
            "ở bất kỳ thư mục nào. Dừng bằng Ctrl+C."
        ),
    )
    def prefect_server_command(
        host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Cổng.", min=1, max=65535)] = 4200,
    ) -> None:
        """Replace this process with uvicorn serving create_app, so Ctrl+C and signals reach the server itself."""
        command, env = server_command(host, port, dict(os.environ))
        console.print(
            f"Máy chủ Prefect: giao diện http://{host}:{port} · API {env['PREFECT_UI_API_URL']}", highlight=False
        )
        os.execvpe(command[0], command, env)
