"""Polled status sources against a local HTTP server and a watched folder: read once, failures never stop anything."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import unicodedata
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import Session, select

from config.loader import ConfigError
from config.settings import PACKAGED_CONFIG_DIR, get_settings
from config.status_sources import SourceSpec, load_status_sources
from domain.timeliness import Category
from models import get_engine
from models.db import session_scope
from models.intake import PollCursor, PolledItem
from tasks import polling
from tasks.directive_state import load_directive_state
from tasks.planning import plan_follow_up
from tasks.polling import PollReport, SourceOutcome
from tasks.status_workbook import export_template as export_with_session
from tests.intake_helpers import assignment, assignment_id, audit_actions, import_sample, updates_of
from tests.smtp_server import free_port
from tests.test_intake_xlsx import declare_size, fill

T0 = datetime(2022, 9, 20, 2, 0, tzinfo=UTC)  # Tue 20/09/2022 09:00 in Vietnam


class FakeSource:
    """A local HTTP server that answers with scripted (status, body) pairs and records each request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.replies: deque[tuple[int, Any]] = deque()
        self.last: tuple[int, Any] = (200, {"updates": []})
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/updates"

    def answer(self, *replies: tuple[int, Any]) -> None:
        """Queue replies; the last one repeats."""
        self.replies.extend(replies)

    def start(self) -> FakeSource:
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                source.requests.append(
                    {
                        "path": parsed.path,
                        "query": parse_qs(parsed.query),
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                status, body = source.replies.popleft() if source.replies else source.last
                source.last = (status, body)
                data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def http_source() -> FakeSource:
    source = FakeSource().start()
    yield source
    source.stop()


def use_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    """A copy of the packaged config with this status_sources.yaml; settings point at it."""
    target = tmp_path / "config"
    if not target.exists():
        shutil.copytree(PACKAGED_CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (target / "status_sources.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("DONDOC_CONFIG_DIR", str(target))
    get_settings.cache_clear()
    return target


def http_config(source: FakeSource, name: str = "hnd-api", agency: str = "HND_TINH") -> str:
    return f"""sources:
  - name: {name}
    agency: {agency}
    kind: http_json
    url: {source.url}
    token_env: DONDOC_TEST_SOURCE_TOKEN
    interval_minutes: 15
    timeout_seconds: 2
"""


def the_source(name: str = "hnd-api"):
    return next(s for s in load_status_sources(get_settings().config_dir).sources if s.name == name)


def cursor_row(name: str) -> PollCursor:
    with Session(get_engine()) as session:
        return session.exec(select(PollCursor).where(PollCursor.source == name)).one()


def poll_source(spec: SourceSpec, now: datetime, force: bool = False) -> SourceOutcome:
    """Poll one source in one session, as the @task wrapper does."""
    with session_scope() as session:
        return polling.poll_source(spec, session=session, now=now, force=force)


def poll_for_directive(directive_id: int, now: datetime) -> PollReport:
    """Poll a directive's sources in one session, as the @task wrapper does."""
    with session_scope() as session:
        return polling.poll_for_directive(directive_id, session=session, config_dir=get_settings().config_dir, now=now)


def export_template(notice: int, path: Path, agency_code: str | None = None) -> int:
    """Export the template in a read-only session."""
    with session_scope(read_only=True) as session:
        return export_with_session(notice, path, agency_code, session=session)


# --- configuration ------------------------------------------------------------------------------


def test_the_shipped_file_has_no_sources_and_a_missing_file_means_none(tmp_path: Path) -> None:
    assert load_status_sources(PACKAGED_CONFIG_DIR).sources == []
    assert load_status_sources(tmp_path).sources == []


def test_config_errors_name_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = use_sources(
        tmp_path,
        monkeypatch,
        """sources:
  - name: a
    agency: KHONG_CO
    kind: http_json
    url: https://x.example/u
  - name: a
    agency: SO_TC
    kind: http_json
    token: t
    token_env: T
    url: ftp://x.example
  - name: b
    agency: HND_TINH
    kind: xlsx_folder
  - name: c
    agency: HND_TINH
    kind: carrier_pigeon
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_status_sources(config)
    text = str(caught.value)
    path = str(config / "status_sources.yaml")
    assert f"{path}:17: sources[3].kind: giá trị không hợp lệ" in text  # type errors come first, then the rules
    with pytest.raises(ConfigError) as caught:
        use_sources(
            tmp_path,
            monkeypatch,
            "\n".join(line for line in (config / "status_sources.yaml").read_text().splitlines()[:14]) + "\n",
        )
        load_status_sources(config)
    issues = [str(i) for i in caught.value.issues]
    assert f"{path}:3: sources[0].agency: không có cơ quan mã «KHONG_CO» trong agencies.yaml" in issues
    assert f"{path}:6: sources[1].name: tên nguồn bị lặp (đã có ở mục 1)" in issues
    assert f"{path}:9: sources[1].token: chỉ dùng một trong hai trường token hoặc token_env" in issues
    assert f"{path}:11: sources[1].url: địa chỉ phải bắt đầu bằng http:// hoặc https://" in issues
    assert f"{path}:12: sources[2]: nguồn xlsx_folder cần trường path (thư mục chứa tệp báo cáo)" in issues


# --- an HTTP source -------------------------------------------------------------------------------


def update(item_id: str, aid: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": item_id, "assignment_id": aid, "status": status, **extra}


def test_an_http_source_returns_updates_then_the_same_again_then_errors(
    db,
    http_source: FakeSource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "s3cret-token-value")
    hnd26, hnd21, so_ct = (
        assignment_id("HND_TINH", "2.6"),
        assignment_id("HND_TINH", "2.1"),
        assignment_id("SO_CT", "2.3"),
    )
    first = {
        "updates": [
            update(
                "u1", hnd26, "in_progress", percent=60, note="Đã có dự thảo", reported_at="2022-09-19T16:00:00+07:00"
            ),
            update("u2", hnd21, "Đã tiếp nhận"),
            update("u3", so_ct, "done"),  # another agency's work: refused
            update("u4", hnd26, "done", percent=500),  # malformed: refused
        ],
        "cursor": "c-1",
    }
    http_source.answer((200, first), (200, first), (500, {"error": "boom"}))
    spec = the_source()

    one = poll_source(spec, T0)
    assert (one.state, one.recorded, one.rejected, one.duplicates) == ("ok", 2, 2, 0)
    assert http_source.requests[0]["authorization"] == "Bearer s3cret-token-value"
    assert "since" not in http_source.requests[0]["query"]
    assert [(u.status, u.percent, u.source) for u in updates_of(hnd26)] == [("in_progress", 60, "poll")]
    # The declared time is kept; the report counts from when the poll received it.
    assert updates_of(hnd26)[0].declared_at == datetime(2022, 9, 19, 9, 0, tzinfo=UTC)
    assert updates_of(hnd26)[0].reported_at == T0
    assert assignment(hnd21).status == "acknowledged"
    assert updates_of(so_ct) == [] and assignment(so_ct).status == "assigned"
    assert cursor_row("hnd-api").cursor == "c-1"

    assert poll_source(spec, T0 + timedelta(minutes=5)).state == "skipped"  # polled at most every 15 minutes
    two = poll_source(spec, T0 + timedelta(minutes=15))
    assert (two.state, two.recorded, two.duplicates, two.rejected) == ("ok", 0, 4, 0)  # nothing is read twice
    assert http_source.requests[1]["query"]["since"] == ["c-1"]
    assert len(updates_of(hnd26)) == 1 and len(updates_of(hnd21)) == 1

    with caplog.at_level(logging.WARNING, logger="dondoc.polling"):
        three = poll_source(spec, T0 + timedelta(minutes=30))
    assert three.state == "failed" and three.error == "máy chủ trả về HTTP 500"
    row = cursor_row("hnd-api")
    assert row.failures == 1 and row.last_error == "máy chủ trả về HTTP 500" and row.cursor == "c-1"
    first_retry = row.next_attempt_at
    # Retried about a minute later (the outbox's backoff: ± a quarter of jitter).
    assert T0 + timedelta(minutes=30, seconds=45) <= first_retry <= T0 + timedelta(minutes=31, seconds=15)
    assert "Nguồn hnd-api (HND_TINH) lỗi: máy chủ trả về HTTP 500" in caplog.text
    assert "s3cret-token-value" not in caplog.text

    http_source.stop()
    assert poll_source(spec, T0 + timedelta(minutes=30, seconds=30)).state == "skipped"
    down = poll_source(spec, first_retry)
    assert down.state == "failed" and down.error.startswith("không kết nối được")
    second_retry = cursor_row("hnd-api").next_attempt_at
    assert (
        first_retry + timedelta(seconds=90) <= second_retry <= first_retry + timedelta(seconds=150)
    )  # then two minutes

    http_source.start()
    http_source.answer((200, {"updates": [update("u5", hnd26, "done", document_number="88/BC-HND")], "cursor": "c-2"}))
    back = poll_source(spec, second_retry)
    assert (back.state, back.recorded) == ("ok", 1)
    row = cursor_row("hnd-api")
    assert (row.failures, row.last_error, row.cursor) == (0, None, "c-2")
    assert assignment(hnd26).status == "done"
    with Session(get_engine()) as session:
        outcomes = {i.item_key: i.outcome for i in session.exec(select(PolledItem)).all()}
    assert outcomes == {
        "id:u1": "recorded",
        "id:u2": "recorded",
        "id:u3": "rejected",
        "id:u4": "rejected",
        "id:u5": "recorded",
    }


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"<html>not json</html>", "phản hồi không phải JSON"),
        (200, {"items": []}, "phản hồi không đúng định dạng"),
        (401, {"error": "unauthorized"}, "máy chủ trả về HTTP 401"),
    ],
)
def test_a_source_answering_nonsense_is_a_failure_retried_later(
    db,
    http_source: FakeSource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: Any,
    error: str,
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
    http_source.answer((status, body))
    outcome = poll_source(the_source(), T0)
    assert outcome.state == "failed" and outcome.error.startswith(error)
    assert cursor_row("hnd-api").failures == 1


def test_a_missing_token_variable_is_reported_as_a_failure(
    db, http_source: FakeSource, tmp_path: Path, monkeypatch
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.delenv("DONDOC_TEST_SOURCE_TOKEN", raising=False)
    outcome = poll_source(the_source(), T0)
    assert outcome.state == "failed" and "DONDOC_TEST_SOURCE_TOKEN" in outcome.error and http_source.requests == []


def test_a_directive_polls_only_the_sources_of_its_agencies(
    db, http_source: FakeSource, tmp_path: Path, monkeypatch
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source, "stc-api", "SO_TC"))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
    with Session(get_engine()) as session:
        from models import Directive

        ids = {d.number: d.id for d in session.exec(select(Directive)).all()}
    assert poll_for_directive(ids["2.6"], T0).outcomes == []  # Sở Tài chính has no part in 2.6
    assert [o.source for o in poll_for_directive(ids["2.3"], T0).outcomes] == ["stc-api"]


def test_a_broken_sources_file_is_reported_and_polls_nothing(db, tmp_path: Path, monkeypatch) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, "sources:\n  - name: x\n    agency: SO_TC\n    kind: nope\n")
    report = poll_for_directive(1, T0)
    assert report.outcomes == [] and "kind" in report.config_error


# --- a watched folder ---------------------------------------------------------------------------------


def folder_config(folder: Path) -> str:
    return f"sources:\n  - name: hnd-folder\n    agency: HND_TINH\n    kind: xlsx_folder\n    path: {folder}\n    interval_minutes: 5\n"


def settled(path: Path) -> Path:
    """Date a file an hour back, as if copied in long ago (fresh files wait a few seconds)."""
    past = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(path, (past, past))
    return path


def test_a_watched_folder_reads_each_file_once_and_refuses_a_bad_one_whole(db, tmp_path: Path, monkeypatch) -> None:
    notice = import_sample()
    folder = tmp_path / "inbox"
    folder.mkdir()
    use_sources(tmp_path, monkeypatch, folder_config(folder))
    template = tmp_path / "mau.xlsx"
    export_template(notice, template, agency_code="HND_TINH")
    hnd26, hnd21, so_ct = (
        assignment_id("HND_TINH", "2.6"),
        assignment_id("HND_TINH", "2.1"),
        assignment_id("SO_CT", "2.3"),
    )
    settled(
        fill(
            template,
            {hnd26: {"Trạng thái báo cáo": "Đang thực hiện", "Tỷ lệ hoàn thành (%)": 30}},
            out=folder / "tuan-38.xlsx",
        )
    )
    now = datetime.now(UTC)
    spec = the_source("hnd-folder")

    first = poll_source(spec, now)
    assert (first.state, first.recorded) == ("ok", 1)
    assert [(u.status, u.percent, u.source) for u in updates_of(hnd26)] == [("in_progress", 30, "poll")]
    assert updates_of(hnd26)[0].reported_by == "Hội Nông dân tỉnh (tệp tuan-38.xlsx)"

    again = poll_source(spec, now + timedelta(minutes=5))
    assert (again.recorded, again.duplicates) == (0, 1) and len(updates_of(hnd26)) == 1

    # A file with one good row and one bad row imports nothing; a file about another agency is refused.
    export_template(notice, template)  # all agencies' rows
    settled(
        fill(
            template,
            {hnd21: {"Trạng thái báo cáo": "Hoàn thành"}, hnd26: {"Trạng thái báo cáo": "???"}},
            out=folder / "sai.xlsx",
        )
    )
    settled(fill(template, {so_ct: {"Trạng thái báo cáo": "Hoàn thành"}}, out=folder / "nham.xlsx"))
    third = poll_source(spec, now + timedelta(minutes=10))
    assert (third.recorded, third.rejected, third.duplicates) == (0, 2, 1)
    problems = " ".join(third.problems)
    assert "sai.xlsx: Trang «Báo cáo tiến độ», dòng" in problems and "cột «Trạng thái báo cáo»" in problems
    assert "nham.xlsx: Trang «Báo cáo tiến độ», dòng" in problems and f"không có việc số {so_ct}" in problems
    assert updates_of(hnd21) == [] and updates_of(so_ct) == []
    fourth = poll_source(spec, now + timedelta(minutes=15))
    assert (fourth.recorded, fourth.rejected, fourth.duplicates) == (0, 0, 3)  # refused files are reported once


def test_a_file_still_being_copied_waits_for_the_next_poll(db, tmp_path: Path, monkeypatch) -> None:
    notice = import_sample()
    folder = tmp_path / "inbox"
    folder.mkdir()
    use_sources(tmp_path, monkeypatch, folder_config(folder))
    template = tmp_path / "mau.xlsx"
    export_template(notice, template, agency_code="HND_TINH")
    fill(template, {assignment_id("HND_TINH", "2.6"): {"Trạng thái báo cáo": "Hoàn thành"}}, out=folder / "moi.xlsx")
    now = datetime.now(UTC)
    assert poll_source(the_source("hnd-folder"), now).recorded == 0
    assert poll_source(the_source("hnd-folder"), now + timedelta(minutes=5)).recorded == 1


def test_a_missing_folder_is_a_failure_not_an_exception(db, tmp_path: Path, monkeypatch) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, folder_config(tmp_path / "khong-co"))
    outcome = poll_source(the_source("hnd-folder"), T0)
    assert outcome.state == "failed" and "không thấy thư mục" in outcome.error


# --- inside the follow-up flow ------------------------------------------------------------------------


def test_the_follow_up_polls_first_and_a_source_that_is_down_does_not_stop_it(
    prefect_server,
    db,
    http_source: FakeSource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.follow_up import follow_up_directive

    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
    hnd26 = assignment_id("HND_TINH", "2.6")
    http_source.answer((200, {"updates": [update("d1", hnd26, "done", reported_at="2022-09-19T10:00:00+07:00")]}))
    directive = assignment(hnd26).directive_id
    state = follow_up_directive(directive, T0, return_state=True)
    assert state.is_completed(), state.message
    assert assignment(hnd26).status == "done"
    # Polled before the state was read: this run already saw the completion and planned nothing for it.
    assert "1 việc: 1 đúng hạn" in state.message and state.name == "Đúng tiến độ"

    with Session(get_engine()) as session:  # make the source due again, and take it down
        row = session.exec(select(PollCursor).where(PollCursor.source == "hnd-api")).one()
        row.next_attempt_at = None
        session.add(row)
        session.commit()
    http_source.stop()
    again = follow_up_directive(directive, T0 + timedelta(hours=1), return_state=True)
    assert again.is_completed(), again.message
    row = cursor_row("hnd-api")
    assert row.failures == 1 and row.last_error.startswith("không kết nối được")


# --- hostile or careless sources (issue 12) ------------------------------------------------------------


def test_a_zip_bomb_in_a_watched_folder_is_refused_once_and_never_opened(db, tmp_path: Path, monkeypatch) -> None:
    notice = import_sample()
    folder = tmp_path / "inbox"
    folder.mkdir()
    use_sources(tmp_path, monkeypatch, folder_config(folder))
    template = tmp_path / "mau.xlsx"
    export_template(notice, template, agency_code="HND_TINH")
    hnd26 = assignment_id("HND_TINH", "2.6")
    filled = fill(template, {hnd26: {"Trạng thái báo cáo": "Hoàn thành"}}, out=tmp_path / "filled.xlsx")
    settled(declare_size(filled, folder / "bom.xlsx", "xl/worksheets/sheet1.xml", 1_000_000_000))
    now = datetime.now(UTC)
    first = poll_source(the_source("hnd-folder"), now)
    assert (first.state, first.recorded, first.rejected) == ("ok", 0, 1)
    assert "bom.xlsx" in first.problems[0] and "vượt giới hạn 100 MB" in first.problems[0]
    assert updates_of(hnd26) == [] and assignment(hnd26).status == "assigned"
    # Remembered as rejected: the next polls skip it instead of reading it again.
    again = poll_source(the_source("hnd-folder"), now + timedelta(minutes=5))
    assert (again.state, again.rejected, again.duplicates) == ("ok", 0, 1)
    with Session(get_engine()) as session:
        assert [i.outcome for i in session.exec(select(PolledItem)).all()] == ["rejected"]


class DrippingSource:
    """A local HTTP server that promises a body and sends it one byte every 1.5 seconds."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/updates"

    def start(self) -> DrippingSource:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"updates": []}).encode() + b" " * 40
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for byte in body:
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return  # the poller hung up
                    threading.Event().wait(1.5)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def test_a_source_that_drips_its_answer_is_cut_off_at_its_deadline(db, tmp_path: Path, monkeypatch) -> None:
    import_sample()
    source = DrippingSource().start()
    try:
        # Each byte arrives within the 2 s timeout, so only the total deadline can stop the fetch (~70 s of drip).
        config = http_config(source, name="hnd-slow").replace(
            "timeout_seconds: 2", "timeout_seconds: 2\n    deadline_seconds: 3"
        )
        use_sources(tmp_path, monkeypatch, config)
        monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
        outcome = poll_source(the_source("hnd-slow"), T0)
    finally:
        source.stop()
    assert outcome.state == "failed"
    assert outcome.error == "nguồn trả lời quá 3 giây, đã ngắt"
    assert cursor_row("hnd-slow").failures == 1


def test_one_report_sent_in_nfc_and_in_nfd_is_read_once(
    db, http_source: FakeSource, tmp_path: Path, monkeypatch
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
    hnd26 = assignment_id("HND_TINH", "2.6")
    item_id = "báo-cáo-tuần-38"
    http_source.answer(
        (
            200,
            {
                "updates": [
                    update(unicodedata.normalize("NFC", item_id), hnd26, "in_progress", percent=40),
                    update(unicodedata.normalize("NFD", item_id), hnd26, "in_progress", percent=40),
                ]
            },
        )
    )
    outcome = poll_source(the_source(), T0)
    assert (outcome.recorded, outcome.duplicates) == (1, 1)
    assert len(updates_of(hnd26)) == 1


def test_a_self_declared_date_never_makes_a_late_report_on_time(
    db, http_source: FakeSource, tmp_path: Path, monkeypatch
) -> None:
    import_sample()
    use_sources(tmp_path, monkeypatch, http_config(http_source))
    monkeypatch.setenv("DONDOC_TEST_SOURCE_TOKEN", "t")
    hnd26, hnd21 = assignment_id("HND_TINH", "2.6"), assignment_id("HND_TINH", "2.1")
    received = datetime(2025, 6, 2, 2, 0, tzinfo=UTC)  # years after the notice of 09/09/2022
    http_source.answer(
        (
            200,
            {
                "updates": [
                    update("a", hnd26, "Hoàn thành", reported_at="2022-09-20T08:00:00+07:00"),
                    update("b", hnd21, "Hoàn thành", reported_at="1900-01-01T08:00:00+07:00"),
                ]
            },
        )
    )
    outcome = poll_source(the_source(), received)
    assert (outcome.recorded, outcome.rejected) == (1, 1)
    assert "ngày báo cáo tự ghi 01/01/1900 trước ngày ban hành thông báo 09/09/2022" in outcome.problems[0]
    assert updates_of(hnd21) == [] and assignment(hnd21).status == "assigned"
    # The declared date is kept and flagged for a coordinator; the category counts from the receipt.
    row = updates_of(hnd26)[0]
    assert row.declared_at == datetime(2022, 9, 20, 1, 0, tzinfo=UTC) and row.reported_at == received
    assert "assignment.declared_date_flagged" in audit_actions(hnd26)
    state = load_directive_state.fn(assignment(hnd26).directive_id, received)
    judged = plan_follow_up.fn(state, received).timeliness[hnd26]
    assert judged is not None and judged.category == Category.late
