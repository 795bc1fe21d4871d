"""`dondoc serve`: serve the deployments of prefect.yaml from this process."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

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
    """Build a served deployment from one prefect.yaml entry (name, entrypoint, schedules, parameters, tags, triggers)."""
    from prefect.events import DeploymentTriggerTypes
    from prefect.schedules import Cron
    from pydantic import TypeAdapter

    module_path, _, attribute = entry["entrypoint"].partition(":")
    module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, attribute)
    schedules = [
        Cron(s["cron"], timezone=s.get("timezone", "Asia/Ho_Chi_Minh"), parameters=s.get("parameters") or {})
        for s in entry.get("schedules") or []
    ]
    # Validated as `prefect deploy` does (prefect/cli/deploy/_triggers.py), so both paths accept the same YAML.
    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    triggers = [adapter.validate_python(spec) for spec in entry.get("triggers") or []]
    return flow.to_deployment(
        name=entry["name"],
        description=entry.get("description"),
        tags=entry.get("tags"),
        parameters=entry.get("parameters"),
        schedules=schedules or None,
        concurrency_limit=entry.get("concurrency_limit"),
        triggers=triggers or None,
    )


def register(app: typer.Typer) -> None:
    """Attach `dondoc serve`."""

    @app.command(
        "serve",
        help="Phục vụ các triển khai trong prefect.yaml (quét, đôn đốc, xét gia hạn, nhập thông báo). Dừng bằng Ctrl+C.",
    )
    def serve_command(
        prefect_yaml: Annotated[Path, typer.Option("--prefect-yaml", help="Tệp khai báo triển khai.")] = PROJECT_DIR
        / "prefect.yaml",
        intake: Annotated[
            bool, typer.Option("--intake/--no-intake", help="Phục vụ cả trang tiếp nhận báo cáo.")
        ] = True,
        intake_host: Annotated[str, typer.Option("--intake-host", help="Địa chỉ của trang tiếp nhận.")] = "127.0.0.1",
        intake_port: Annotated[int, typer.Option("--intake-port", help="Cổng của trang tiếp nhận.")] = 7700,
        only: Annotated[
            list[str] | None,
            typer.Option(
                "--only", help="Chỉ phục vụ triển khai có tên này (lặp lại được), ví dụ --only follow-up-directive."
            ),
        ] = None,
    ) -> None:
        """Serve the sweep, follow-up and extension-review deployments (Ctrl+C to stop)."""
        from prefect import serve

        entries = load_deployments(prefect_yaml)
        only = only or []
        unknown = sorted(set(only) - {e["name"] for e in entries})
        if unknown:
            raise fail(f"không có triển khai {', '.join(unknown)} trong {prefect_yaml}")
        deployments = [to_runner_deployment(e) for e in entries if not only or e["name"] in only]
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
