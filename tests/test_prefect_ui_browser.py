"""What a coordinator sees in the Prefect UI, in headless Debian Chromium at 1440 px after a short replay.

A real `dondoc prefect-server` (Prefect's server with its UI, cli/prefect_server.py) on a free port and its own Prefect home; `dondoc replay` and
`dondoc serve --only nhap-thong-bao` run against it as subprocesses, as they do for a coordinator. Screenshots
of every step are kept under the test's temporary folder (printed at the end of each test).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from config.settings import PACKAGED_CONFIG_DIR
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, ENABLE_HINT, IN_CI
from tests.test_notice_intake_flow import NOTICE_TEXT

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEADLINE_S = 300.0  # generous: server, replay, runner and browser share two cores
WIDTH, HEIGHT = 1440, 1000
OVERDUE_TAG = "tinh-trang:qua-han"
RUN_OF_2_3 = "TẠM-20220909/TB-TU · 2.3"


def wait_for(what: str, probe: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    """Poll probe until it returns something truthy; fail with what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(1.0)
    raise TimeoutError(f"timed out waiting for {what}")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrefectUI:
    """A running Prefect server with its UI, and the environment dondoc commands use against it."""

    url: str
    env: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.url}/api"

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the server's API and return the JSON answer."""
        answer = httpx.post(f"{self.api}{path}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()


def stop(process: subprocess.Popen) -> None:
    """Stop a process this module started."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def prefect_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectUI]:
    """`dondoc prefect-server` with its UI on a free port, the UI told where its API is, and a replayed notice."""
    root = tmp_path_factory.mktemp("prefect-ui")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DONDOC_", "PREFECT_"))}
    server_env = base | {
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_UI_API_URL": f"{url}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    server = subprocess.Popen(
        [str(BIN / "dondoc"), "prefect-server", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = base | {
        "PREFECT_HOME": str(root / "prefect"),
        "PREFECT_API_URL": f"{url}/api",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "DONDOC_HOME": str(root / "dondoc"),
        "DONDOC_CONFIG_DIR": str(PACKAGED_CONFIG_DIR),
    }
    try:
        wait_for("the Prefect server", lambda: httpx.get(f"{url}/api/health", timeout=5).json() is True)
        scenario = yaml.safe_load((PACKAGED_CONFIG_DIR / "scenarios" / "ocop-2022.yaml").read_text(encoding="utf-8"))
        scenario["notice"] = str(PACKAGED_CONFIG_DIR / "notices" / "tb-tu-2022-09-09-ocop.yaml")
        scenario["end"] = "2022-10-03T17:00:00"  # Sở Công Thương is late on 2.3 from 21/09/2022
        short = root / "short.yaml"
        short.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
        for command in (["db", "upgrade"], ["replay", str(short)]):
            done = subprocess.run(
                [str(BIN / "dondoc"), *command], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=900
            )
            assert done.returncode == 0, done.stdout + done.stderr
        yield PrefectUI(url, env)
    finally:
        stop(server)


@pytest.fixture(scope="module")
def served_intake(prefect_ui: PrefectUI) -> Iterator[str]:
    """`dondoc serve --only nhap-thong-bao` against the UI's server; return the deployment's id."""
    process = subprocess.Popen(
        [str(BIN / "dondoc"), "serve", "--only", "nhap-thong-bao", "--no-intake"],
        env=prefect_ui.env,
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        found = wait_for(
            "the served nhap-thong-bao deployment",
            lambda: prefect_ui.post("/deployments/filter", {"deployments": {"name": {"any_": ["nhap-thong-bao"]}}}),
        )
        yield found[0]["id"]
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium under Playwright (fail in CI, skip elsewhere, when it is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if IN_CI:
            pytest.fail("CI=true but Playwright is not installed (pip install playwright).")
        pytest.skip(ENABLE_HINT)
    if not Path(CHROMIUM).is_file():
        if IN_CI:
            pytest.fail(f"CI=true but Chromium is missing at {CHROMIUM}: apt-get install chromium")
        pytest.skip(ENABLE_HINT)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Callable[[str], None]]]:
    """A 1440 px page and a function that keeps a screenshot of it under a temporary folder."""
    folder = tmp_path_factory.mktemp("ui-screenshots")
    tab = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    tab.set_default_timeout(60_000)

    def shot(name: str) -> None:
        tab.screenshot(path=str(folder / f"{name}.png"))

    try:
        yield tab, shot
    finally:
        tab.close()
        print(f"screenshots: {folder}")


def test_the_runs_page_filtered_to_late_directives_leads_to_the_overdue_row_of_so_cong_thuong(
    prefect_ui: PrefectUI, page: tuple[Any, Callable[[str], None]]
) -> None:
    from playwright.sync_api import expect

    tab, shot = page
    # The filter a coordinator sets on the Runs page (Tags: tinh-trang:qua-han) lists only late directives.
    tagged = prefect_ui.post("/flow_runs/filter", {"flow_runs": {"tags": {"all_": [OVERDUE_TAG]}}})
    assert tagged and {r["state"]["name"] for r in tagged} == {"Quá hạn"}
    tab.goto(f"{prefect_ui.url}/runs?tag={OVERDUE_TAG}")
    run_link = tab.get_by_role("link", name=RUN_OF_2_3).first
    expect(run_link).to_be_visible()
    expect(tab.get_by_text("Quá hạn", exact=True).first).to_be_visible()
    for other in ("Đúng tiến độ", "Sắp đến hạn", "Completed"):
        expect(tab.get_by_text(other, exact=True)).to_have_count(0)
    shot("1-runs-qua-han")

    run_link.click()
    expect(tab.get_by_text("Quá hạn", exact=True).first).to_be_visible()
    expect(tab.get_by_text("agency:SO_CT", exact=True).first).to_be_visible()
    expect(tab.get_by_text("Finished in state Quá hạn", exact=False).first).to_be_visible()  # the logs have loaded
    shot("2-run-2.3")

    tab.get_by_text("Artifacts", exact=True).first.click()
    tab.get_by_text("dondoc-tam-20220909-tb-tu-muc-2-3", exact=True).first.click()
    table = tab.locator("table")
    expect(table).to_be_visible()
    headers = [h.strip() for h in table.locator("th").all_inner_texts()]
    first_row = table.locator("tbody tr").first
    cells = [c.strip() for c in first_row.locator("td").all_inner_texts()]
    row = dict(zip(headers, cells, strict=False))
    assert row["Cơ quan"] == "Sở Công Thương" and "Quá hạn" in row["Tình trạng"], row
    assert int(row["Ngày quá hạn"]) > 0, row
    expect(tab.get_by_text("Quá hạn: Sở Công Thương", exact=False).first).to_be_visible()
    # The first six columns (agency … last update) are on screen at 1440 px, without scrolling sideways.
    assert headers[:6] == ["Cơ quan", "Tình trạng", "Ngày quá hạn", "Hạn", "Vượt cấp", "Cập nhật gần nhất"]
    # The table scrolls inside a container narrower than the window: measure against what that container shows.
    visible_right = table.evaluate(
        """table => {
            let box = table.parentElement;
            while (box && !['auto', 'scroll', 'hidden'].includes(getComputedStyle(box).overflowX)) {
                box = box.parentElement;
            }
            return Math.min(window.innerWidth, (box || document.body).getBoundingClientRect().right);
        }"""
    )
    for index in range(6):
        box = first_row.locator("td").nth(index).bounding_box()
        assert box is not None and box["x"] + box["width"] <= visible_right, (headers[index], box, visible_right)
    shot("3-table-2.3")


def test_a_notice_pasted_in_the_run_form_waits_in_the_review_form(
    prefect_ui: PrefectUI, served_intake: str, page: tuple[Any, Callable[[str], None]]
) -> None:
    from playwright.sync_api import expect

    tab, shot = page
    tab.goto(f"{prefect_ui.url}/deployments/deployment/{served_intake}/run")
    text_box = tab.locator("textarea").first
    text_box.fill(NOTICE_TEXT)
    shot("4-run-form")
    tab.get_by_role("button", name="Submit").click()

    def paused_run() -> str | None:
        runs = prefect_ui.post("/flow_runs/filter", {"deployments": {"id": {"any_": [served_intake]}}})
        paused = [r for r in runs if r["state"]["type"] == "PAUSED"]
        return paused[0]["id"] if paused else None

    run_id = wait_for("the intake run to pause for review", paused_run)
    run = httpx.get(f"{prefect_ui.api}/flow_runs/{run_id}", timeout=30).json()
    assert run["parameters"]["text"] == NOTICE_TEXT  # every line break of the pasted text survived the form

    tab.goto(f"{prefect_ui.url}/runs/flow-run/{run_id}")
    tab.get_by_role("button", name="Resume").first.click()
    dialog = tab.get_by_role("dialog")
    expect(dialog.get_by_text("Nhập thông báo mới 1234-TB/TU")).to_be_visible()
    for title in ("Đồng ý nhập thông báo?", "Người duyệt", "Tệp thông báo (YAML) sẽ nhập"):
        expect(dialog.get_by_text(title, exact=False).first).to_be_visible()
    yaml_box = dialog.locator("textarea").last
    assert 'number: "1234-TB/TU"' in yaml_box.input_value()
    shot("5-review-form")

    # The coordinator rejects: the run ends, and nothing is written.
    dialog.get_by_role("switch").first.click()
    dialog.locator("textarea").first.fill("Chánh Văn phòng Tỉnh ủy")
    shot("6-review-reject")
    dialog.get_by_role("button", name="Submit").click()
    final = wait_for(
        "the rejected run to end",
        lambda: (
            (s := httpx.get(f"{prefect_ui.api}/flow_runs/{run_id}", timeout=30).json()["state"])["type"] == "COMPLETED"
            and s
        ),
    )
    assert final["name"] == "Đã từ chối", final
    tab.reload()
    expect(tab.get_by_text("Đã từ chối", exact=True).first).to_be_visible()
    shot("7-after-reject")
