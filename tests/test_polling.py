"""Polled status sources against a local HTTP server and a watched folder: read once, failures never stop anything."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
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
from intake.xlsx import export_template
from models import get_engine
from models.intake import PollCursor, PolledItem
from tasks.polling import load_status_sources, poll_for_directive, poll_source
from tests.intake_helpers import assignment, assignment_id, import_sample, updates_of
from tests.smtp_server import free_port
from tests.test_intake_xlsx import fill

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
    assert updates_of(hnd26)[0].reported_at == datetime(2022, 9, 19, 9, 0, tzinfo=UTC)
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
    assert row.next_attempt_at == T0 + timedelta(minutes=31)  # retried a minute later
    assert "Nguồn hnd-api (HND_TINH) lỗi: máy chủ trả về HTTP 500" in caplog.text
    assert "s3cret-token-value" not in caplog.text

    http_source.stop()
    assert poll_source(spec, T0 + timedelta(minutes=30, seconds=30)).state == "skipped"
    down = poll_source(spec, T0 + timedelta(minutes=31))
    assert down.state == "failed" and down.error.startswith("không kết nối được")
    assert cursor_row("hnd-api").next_attempt_at == T0 + timedelta(minutes=33)  # then two minutes

    http_source.start()
    http_source.answer((200, {"updates": [update("u5", hnd26, "done", document_number="88/BC-HND")], "cursor": "c-2"}))
    back = poll_source(spec, T0 + timedelta(minutes=33))
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
    assert state.message.startswith("1 việc: 1 đúng hạn")

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
