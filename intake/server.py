"""Run the intake with uvicorn: alone (`dondoc intake serve`) or in a thread beside `dondoc serve`."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from config.intake import DEFAULT_HOST, DEFAULT_PORT
from domain.signed_links import mask_token
from intake.app import create_app

STARTUP_TIMEOUT_S = 15.0
logger = logging.getLogger("dondoc.intake")


class MaskLinks(logging.Filter):
    """Hide link MACs in access-log lines: a log reader must not be able to use a logged link."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_token(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = mask_token(record.msg)
        return True


def _mask_access_log() -> None:
    """Install the masking filter once on uvicorn's loggers."""
    for name in ("uvicorn.access", "uvicorn.error"):
        target = logging.getLogger(name)
        if not any(isinstance(f, MaskLinks) for f in target.filters):
            target.addFilter(MaskLinks())


def build_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, app: Any = None, **options: Any) -> uvicorn.Server:
    """A uvicorn server for the intake app (created here unless given: settings are read and checked then)."""
    config = uvicorn.Config(
        app or create_app(),
        host=host,
        port=port,
        proxy_headers=True,
        server_header=False,
        log_level=options.pop("log_level", "info"),
        **options,
    )
    server = uvicorn.Server(config)
    _mask_access_log()
    return server


@dataclass
class IntakeServer:
    """A running intake server in a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to finish its requests and stop; wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, app: Any = None, **options: Any
) -> IntakeServer:
    """Start the intake in a daemon thread and return once it accepts connections (or raise).

    Uvicorn installs no signal handlers outside the main thread, so Ctrl+C still reaches the
    caller (e.g. `prefect.serve` in `dondoc serve`); call `.stop()` on the way out.
    """
    server = build_server(host, port, app, **options)
    thread = threading.Thread(target=server.run, name="dondoc-intake", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"không khởi động được máy chủ tiếp nhận báo cáo tại {host}:{port} (cổng đã bị dùng?)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"máy chủ tiếp nhận báo cáo không sẵn sàng sau {STARTUP_TIMEOUT_S:.0f} giây")
        time.sleep(0.05)
    bound = port
    if port == 0 and server.servers:  # an ephemeral port (tests): report the real one
        bound = server.servers[0].sockets[0].getsockname()[1]
    logger.info("Intake listening on http://%s:%s", host, bound)
    return IntakeServer(server, thread, host, bound)


def run(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the intake in the foreground until Ctrl+C."""
    build_server(host, port).run()
