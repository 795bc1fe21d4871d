"""The command line tells database trouble in Vietnamese, without a traceback, and writes nothing half-way."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

from config.settings import PACKAGED_CONFIG_DIR

PROJECT = Path(__file__).resolve().parent.parent
ENTRY = "import sys; from cli.main import run; sys.argv = ['dondoc', *sys.argv[1:]]; run()"


def dondoc(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real entry point in a child process, with its own DONDOC_HOME."""
    environment = {**os.environ, "DONDOC_HOME": str(home), "DONDOC_CONFIG_DIR": str(PACKAGED_CONFIG_DIR), **env}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args], env=environment, cwd=PROJECT, capture_output=True, text=True, timeout=120
    )


def test_the_console_script_is_the_entry_point_that_handles_errors() -> None:
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["dondoc"] == "cli.main:run"


def test_a_locked_database_is_told_in_vietnamese_and_nothing_is_imported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert dondoc(home, "db", "upgrade").returncode == 0
    sample = PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml"
    holder = sqlite3.connect(home / "dondoc.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        blocked = dondoc(home, "import", str(sample), DONDOC_SQLITE_BUSY_TIMEOUT_MS="300")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.returncode == 1
    said = " ".join(blocked.stderr.split())
    assert "Lỗi: cơ sở dữ liệu đang bận" in said and "Không có gì bị ghi dở" in said
    assert "Traceback" not in blocked.stderr + blocked.stdout
    listed = dondoc(home, "notices", "list")
    assert listed.returncode == 0 and "TẠM-20220909/TB-TU" not in listed.stdout
