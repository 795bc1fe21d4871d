"""The intake's commands and server: signed links on demand, revocation, polling now, masked access logs."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from cli.intake import register
from config.settings import PACKAGED_CONFIG_DIR, get_settings
from intake.app import create_app
from intake.server import start_in_thread
from tests.intake_helpers import PUBLIC_URL, SECRET, assignment_id, client, import_sample, use_intake


@pytest.fixture(autouse=True)
def intake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_intake(monkeypatch)


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_a_coordinator_prints_a_link_and_revokes_an_agencys_links(db) -> None:
    import_sample()
    hnd = assignment_id("HND_TINH", "2.6")
    shown = CliRunner().invoke(cli(), ["intake", "link", "show", str(hnd)])
    assert shown.exit_code == 0, shown.output
    link = shown.output.strip()
    assert link.startswith(f"{PUBLIC_URL}/r/v1.{hnd}.HND_TINH.")
    path = link.removeprefix(PUBLIC_URL)
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    assert client(now).get(path).status_code == 200
    revoked = CliRunner().invoke(cli(), ["intake", "link", "revoke", "HND_TINH", "--reason", "Lộ liên kết"])
    assert revoked.exit_code == 0 and "Đã thu hồi các liên kết đã gửi cho HND_TINH" in revoked.output
    assert client(now + dt.timedelta(minutes=1)).get(path).status_code == 403
    missing = CliRunner().invoke(cli(), ["intake", "link", "show", "999999"])
    assert missing.exit_code == 1 and "không có việc số 999999" in missing.output


def test_a_link_cannot_be_printed_without_a_key(db, monkeypatch) -> None:
    import_sample()
    use_intake(monkeypatch, secret=None)
    result = CliRunner().invoke(cli(), ["intake", "link", "show", str(assignment_id("HND_TINH", "2.6"))])
    assert result.exit_code == 1 and "DONDOC_INTAKE_SECRET" in result.output
    use_intake(monkeypatch, secret="too-short")
    result = CliRunner().invoke(cli(), ["intake", "link", "show", str(assignment_id("HND_TINH", "2.6"))])
    assert result.exit_code == 1 and "ít nhất 32 ký tự" in result.output


def test_sources_are_checked_and_polled_on_demand(db, tmp_path: Path, monkeypatch) -> None:
    import_sample()
    config = tmp_path / "config"
    shutil.copytree(PACKAGED_CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (config / "status_sources.yaml").write_text(
        f"sources:\n  - name: hnd-folder\n    agency: HND_TINH\n    kind: xlsx_folder\n    path: {tmp_path / 'missing'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DONDOC_CONFIG_DIR", str(config))
    get_settings.cache_clear()
    checked = CliRunner().invoke(cli(), ["intake", "sources"])
    assert checked.exit_code == 0 and "1 nguồn; tệp hợp lệ." in checked.output
    polled = CliRunner().invoke(cli(), ["intake", "poll"])
    assert polled.exit_code == 1 and "Nguồn hnd-folder (HND_TINH) lỗi: không thấy thư mục" in polled.output
    (tmp_path / "missing").mkdir()
    again = CliRunner().invoke(cli(), ["intake", "poll"])  # forced: no waiting for the retry time
    assert again.exit_code == 0 and "0 báo cáo mới" in again.output
    (config / "status_sources.yaml").write_text(
        "sources:\n  - name: X\n    agency: HND_TINH\n    kind: xlsx_folder\n", encoding="utf-8"
    )
    broken = CliRunner().invoke(cli(), ["intake", "sources"])
    flat = broken.output.replace("\n", "")  # the console wraps long lines
    assert (
        broken.exit_code == 1
        and "status_sources.yaml:2: sources[0].name: tên nguồn chỉ gồm chữ thường không dấu" in flat
    )


def test_the_server_runs_in_a_thread_and_masks_links_in_its_access_log(db, caplog: pytest.LogCaptureFixture) -> None:
    import_sample()
    hnd = assignment_id("HND_TINH", "2.6")
    server = start_in_thread("127.0.0.1", 0, app=create_app(), log_level="info")
    try:
        from config.intake import get_intake_settings
        from tasks.report_links import report_link

        path = report_link(hnd, "HND_TINH", settings=get_intake_settings()).removeprefix(PUBLIC_URL)
        access = logging.getLogger("uvicorn.access")  # uvicorn does not propagate it: listen on it directly
        seen: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = seen.append  # type: ignore[method-assign]
        access.addHandler(handler)
        try:
            assert httpx.get(server.url + path).status_code == 200
            assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        finally:
            access.removeHandler(handler)
        mac = path.rsplit(".", 1)[1]
        logged = " ".join(r.getMessage() for r in seen)
        assert f"/r/v1.{hnd}.HND_TINH." in logged and mac not in logged and "…" in logged
        assert SECRET not in caplog.text
    finally:
        server.stop()
    assert not server.thread.is_alive()
    assert re.match(r"http://127\.0\.0\.1:\d+$", server.url)
