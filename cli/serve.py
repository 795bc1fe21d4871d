"""`dondoc serve`: serve the deployments of prefect.yaml from this process."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import typer
import yaml

from cli.common import console, fail

PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_deployments(path: Path) -> list[dict[str, Any]]:
    """Read the deployment entries of prefect.yaml."""
    if not path.is_file():
        raise fail(f"không tìm thấy {path}")
    return list((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("deployments") or [])


def to_runner_deployment(entry: dict[str, Any]) -> Any:
    """Build a served deployment from one prefect.yaml entry (name, entrypoint, schedules, parameters, tags)."""
    from prefect.schedules import Cron

    module_path, _, attribute = entry["entrypoint"].partition(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, attribute)
    schedules = [
        Cron(s["cron"], timezone=s.get("timezone", "Asia/Ho_Chi_Minh"), parameters=s.get("parameters") or {})
        for s in entry.get("schedules") or []
    ]
    return flow.to_deployment(
        name=entry["name"],
        description=entry.get("description"),
        tags=entry.get("tags"),
        parameters=entry.get("parameters"),
        schedules=schedules or None,
        concurrency_limit=entry.get("concurrency_limit"),
    )


def register(app: typer.Typer) -> None:
    """Attach `dondoc serve`."""

    @app.command(
        "serve", help="Phục vụ các triển khai trong prefect.yaml (quét, đôn đốc, xét gia hạn). Dừng bằng Ctrl+C."
    )
    def serve_command(
        prefect_yaml: Path = typer.Option(
            PROJECT_DIR / "prefect.yaml", "--prefect-yaml", help="Tệp khai báo triển khai."
        ),
        intake: bool = typer.Option(True, "--intake/--no-intake", help="Phục vụ cả trang tiếp nhận báo cáo."),
        intake_host: str = typer.Option("127.0.0.1", "--intake-host", help="Địa chỉ của trang tiếp nhận."),
        intake_port: int = typer.Option(7700, "--intake-port", help="Cổng của trang tiếp nhận."),
    ) -> None:
        """Serve the sweep, follow-up and extension-review deployments (Ctrl+C to stop)."""
        from prefect import serve

        deployments = [to_runner_deployment(entry) for entry in load_deployments(prefect_yaml)]
        names = ", ".join(d.name for d in deployments)
        console.print(f"Đang phục vụ {len(deployments)} triển khai: {names}. Dừng bằng Ctrl+C.", highlight=False)
        server = None
        if intake:
            from intake.server import start_in_thread

            server = start_in_thread(intake_host, intake_port)
            console.print(f"Trang tiếp nhận báo cáo: {server.url}/ · API: {server.url}/api/docs", highlight=False)
        try:
            serve(*deployments)
        finally:
            if server is not None:
                server.stop()
