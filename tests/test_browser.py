"""End to end in headless Chromium: a reminder e-mail arrives, its link is followed, progress then
completion are reported on the page, and the next follow-up cancels the pending reminders.

Needs Debian's `chromium` (driven by Playwright with its executable path set; `playwright install`
is never run). With CI=true a missing Chromium fails the test; elsewhere it skips with one line.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from domain.planner import at_local
from intake.app import create_app
from intake.server import IntakeServer, start_in_thread
from models import Notification, get_engine
from tests.intake_helpers import assignment, assignment_id, import_sample, updates_of, use_intake
from tests.outbox_helpers import use_smtp
from tests.smtp_server import SMTPTestServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("DONDOC_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ENABLE_HINT = "Browser test skipped: Chromium not found; enable it with `apt-get install chromium` (and `pip install playwright`)."
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HND_OFFICE = "vanthu@hoinongdan.bacgiang.example"


def local(day: date, hour: int) -> datetime:
    """A Vietnam wall-clock time, as aware UTC."""
    return at_local(day, datetime.min.time().replace(hour=hour))


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Debian Chromium under Playwright (fail in CI, skip elsewhere, when it is missing)."""
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
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SMTPTestServer]:
    """A real SMTP server on loopback; e-mail rows go to it."""
    with SMTPTestServer() as server:
        use_smtp(monkeypatch, server.host, server.port)
        yield server


@pytest.fixture
def intake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[IntakeServer]:
    """The intake on a free port, its clock at Thu 29/09/2022 10:00; reminders link to it."""
    use_intake(monkeypatch)
    server = start_in_thread(
        "127.0.0.1", 0, app=create_app(clock=lambda: local(date(2022, 9, 29), 10)), log_level="warning"
    )
    use_intake(monkeypatch, public_url=server.url)
    yield server
    server.stop()


def text_part(message) -> str:
    """The plain-text body of a received e-mail."""
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def rows_for(assignment_id_: int) -> list[Notification]:
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(Notification).where(Notification.assignment_id == assignment_id_).order_by(Notification.id)
            ).all()
        )


def test_a_reminder_link_leads_to_progress_then_completion_and_the_next_follow_up_cancels_the_rest(
    prefect_server,
    db,
    chromium,
    smtp: SMTPTestServer,
    intake_server: IntakeServer,
) -> None:
    from flows.follow_up import follow_up_directive

    import_sample()
    hnd = assignment_id("HND_TINH", "2.6")
    directive = assignment(hnd).directive_id

    # 1. Wed 28/09/2022 08:00: two working days before the deadline (Fri 30/09), the reminder goes out.
    first = follow_up_directive(directive, local(date(2022, 9, 28), 8), return_state=True)
    assert first.is_completed(), first.message
    sent = [r for r in rows_for(hnd) if r.state == "sent"]
    assert "reminder" in {r.kind for r in sent}
    mails = [m.message for m in smtp.messages if HND_OFFICE in m.rcpt_tos]
    assert mails, f"no e-mail reached {HND_OFFICE}: {[m.rcpt_tos for m in smtp.messages]}"
    body = text_part(mails[0])
    assert "Nhắc việc" in body or "Nhắc việc" in str(mails[0]["Subject"])
    links = re.findall(re.escape(intake_server.url) + r"/r/[A-Za-z0-9._-]+", body)
    assert links and all(f"/r/v1.{hnd}.HND_TINH." in link for link in links)

    # Fri 30/09 08:00: the sweep writes the "due today" messages; they wait in the outbox.
    due = follow_up_directive(directive, local(date(2022, 9, 30), 8), deliver=False, return_state=True)
    assert due.is_completed(), due.message
    pending = [r for r in rows_for(hnd) if r.state == "pending"]
    assert pending and {r.kind for r in pending} == {"due"}

    # 2. The official opens the mailed link on a phone and reports progress, then completion. The
    # follow-up signs each link at its own as_of, so this intake (running in September 2022) takes it.
    opened = links[0]
    page = chromium.new_page(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    try:
        page.goto(opened)
        # The page leads with the agency's own task, then the forms (issue 14).
        assert page.locator("h1").inner_text() == "Nhiệm vụ của Hội Nông dân tỉnh"
        assert "Mục 2.6" in page.inner_text("body")
        assert "Chủ trì" in page.inner_text("dl")  # its role and deadline under the heading
        page.check("#status-in_progress")
        page.fill("#percent", "60")
        page.fill("#document_number", "123/BC-HND")
        page.fill("#note", "Đã rà soát xong các nghị quyết; đang tổng hợp đề xuất.")
        page.fill("#progress-reporter", "Nguyễn Thị D")
        page.click("button[value=progress]")
        assert page.locator(".flash").inner_text() == "Đã ghi nhận báo cáo tiến độ. Xin cảm ơn."
        assert "123/BC-HND" in page.inner_text("#lich-su")

        page.check("#status-done")
        page.fill("#document_number", "130/BC-HND")
        page.fill("#note", "Đã gửi văn bản đề xuất tới Ban Thường vụ.")
        page.click("button[value=progress]")
        assert "nhiệm vụ đã hoàn thành" in page.locator(".flash").inner_text()
        assert "Hoàn thành đúng hạn" in page.inner_text("dl")
    finally:
        page.close()

    # 3. Stored, audited; the next follow-up cancels what was still pending and sends nothing to the agency.
    assert [(u.status, u.percent, u.source, u.document_number) for u in updates_of(hnd)] == [
        ("in_progress", 60, "web", "123/BC-HND"),
        ("done", 100, "web", "130/BC-HND"),
    ]
    assert updates_of(hnd)[0].reported_by == "Nguyễn Thị D – Hội Nông dân tỉnh"
    assert assignment(hnd).status == "done"
    received = len(smtp.messages)
    after = follow_up_directive(directive, local(date(2022, 9, 30), 9), return_state=True)
    assert after.is_completed(), after.message
    assert {r.id: r.state for r in rows_for(hnd) if r.id in {p.id for p in pending}} == {
        p.id: "cancelled" for p in pending
    }
    assert not [r for r in rows_for(hnd) if r.state == "pending"]
    assert len(smtp.messages) == received
