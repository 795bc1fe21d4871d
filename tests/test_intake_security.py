"""Regression tests for the intake items of issue 12: errors, limits, one-line fields, encodings, strict types, links."""

from __future__ import annotations

import html
import os
import unicodedata
import uuid
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from config.intake import IntakeConfigError
from domain.signed_links import sign_token
from intake import web
from intake.app import create_app
from tests.intake_helpers import (
    SECRET,
    TODAY,
    Clock,
    assignment,
    assignment_id,
    client,
    csrf_of,
    import_sample,
    link_path,
    revoke_agency_links,
    token_for,
    updates_of,
    use_intake,
)

REDIS_URL = os.environ.get("DONDOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ENGLISH = ("Input should", "Field required", "Internal Server Error", "Value error", "Extra inputs")


@pytest.fixture(autouse=True)
def intake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with a configured intake."""
    use_intake(monkeypatch)


@pytest.fixture
def hnd(db) -> int:
    """Hội Nông dân tỉnh's assignment on 2.6."""
    import_sample()
    return assignment_id("HND_TINH", "2.6")


def auth(token: str) -> dict[str, str]:
    """The Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def page_and_field(http: TestClient, path: str) -> str:
    """GET the page (the cookie) and return its CSRF field."""
    page = http.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


# --- item 9: every error page is Vietnamese with the security headers; odd digits are a 4xx -----------------


@pytest.mark.parametrize("percent", ["²", "³", "٥٠", "５０"])
def test_a_percent_in_other_digits_is_a_vietnamese_validation_error(hnd: int, percent: str) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    answer = http.post(
        f"{path}/progress",
        data={"csrf_token": page_and_field(http, path), "status": "in_progress", "percent": percent},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    assert "Tỷ lệ hoàn thành phải là số nguyên từ 0 đến 100." in html.unescape(answer.text)
    assert updates_of(hnd) == []


def test_an_unforeseen_failure_is_a_vietnamese_500_with_the_security_headers(
    hnd: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(web, "read_directive_state", broken)
    http = TestClient(create_app(clock=Clock()), base_url="https://testserver", raise_server_exceptions=False)
    answer = http.get(link_path(hnd, "HND_TINH"))
    assert answer.status_code == 500
    text = html.unescape(answer.text)
    assert "Lỗi hệ thống" in text and "chưa có gì được ghi nhận" in text
    assert not any(phrase in text for phrase in ENGLISH) and "went away" not in text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"


# --- item 10: refusals per address never block valid credentials; limits shared through Redis ------------------


def test_a_valid_token_still_works_after_21_bad_ones_from_the_same_address(db) -> None:
    import_sample()
    good = token_for("HND_TINH")
    http = client()
    codes = [http.get("/api/v1/assignments", headers=auth("dd_" + "x" * 43)).status_code for _ in range(21)]
    assert codes == [401] * 20 + [429]
    assert http.get("/api/v1/assignments", headers=auth(good)).status_code == 200


@pytest.fixture
def shared_redis(monkeypatch: pytest.MonkeyPatch) -> str:
    """The machine's Redis, with a key prefix of this test's own (skips without Redis, fails in CI)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not answering at {REDIS_URL}")
        pytest.skip(f"Redis is not answering at {REDIS_URL} (start redis-server or set DONDOC_TEST_REDIS_URL)")
    prefix = f"dondoc-test-{uuid.uuid4().hex}"
    use_intake(monkeypatch, intake_redis_url=REDIS_URL, intake_redis_prefix=prefix)
    yield prefix
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"{prefix}*"):
        connection.delete(key)


def test_two_intake_processes_share_their_limits_through_redis(
    db, shared_redis: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import_sample()
    use_intake(
        monkeypatch,
        intake_redis_url=REDIS_URL,
        intake_redis_prefix=shared_redis,
        intake_auth_failure_burst="4",
        intake_auth_failures_per_minute="1",
        intake_api_burst="3",
        intake_api_rate_per_minute="1",
    )
    with caplog.at_level("INFO", logger="dondoc.intake"):
        first, second = client(), client()  # two apps: what two processes behind a load balancer are
    assert "shared through Redis" in caplog.text
    bad = auth("dd_" + "y" * 43)
    assert [first.get("/api/v1/assignments", headers=bad).status_code for _ in range(2)] == [401, 401]
    assert [second.get("/api/v1/assignments", headers=bad).status_code for _ in range(3)] == [401, 401, 429]
    assert first.get("/api/v1/assignments", headers=bad).status_code == 429
    good = auth(token_for("HND_TINH"))
    assert [first.get("/api/v1/assignments", headers=good).status_code for _ in range(2)] == [200, 200]
    assert [second.get("/api/v1/assignments", headers=good).status_code for _ in range(2)] == [200, 429]


def test_without_redis_the_limits_are_per_process_and_start_up_says_so(db, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="dondoc.intake"):
        client()
    assert "kept in this process only" in caplog.text


# --- item 13: one-line fields refuse line breaks -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("document_number", "12/BC\r\nBcc: x", "Số văn bản chỉ được viết trên một dòng"),
        ("document_number", "12/BC\u2028X", "Số văn bản chỉ được viết trên một dòng"),
        ("reporter", "Nguyễn Văn A\nGiám đốc", "Họ tên chỉ được viết trên một dòng"),
    ],
)
def test_a_line_break_in_a_one_line_form_field_is_refused(hnd: int, field: str, value: str, message: str) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    answer = http.post(
        f"{path}/progress",
        data={"csrf_token": page_and_field(http, path), "status": "in_progress", field: value},
        follow_redirects=False,
    )
    assert answer.status_code == 422 and message in html.unescape(answer.text)
    assert updates_of(hnd) == []


@pytest.mark.parametrize("field", ["document_number", "reported_by"])
def test_a_line_break_in_a_one_line_api_field_is_refused(hnd: int, field: str) -> None:
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates",
        json={"status": "in_progress", field: "12/BC\nX"},
        headers=auth(token_for("HND_TINH")),
    )
    assert answer.status_code == 422
    assert "phải nằm trên một dòng" in answer.json()["message"] and field in answer.json()["message"]
    assert updates_of(hnd) == []


# --- item 14: a body that is not UTF-8 is refused, never stored as mojibake ----------------------------------


@pytest.mark.parametrize("note", [b"Ti%E9n+%C4%91%E1", b"B\xe1o c\xe1o", b"%ED%A0%80"])
def test_a_form_that_is_not_utf8_is_refused(hnd: int, note: bytes) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    field = page_and_field(http, path)
    answer = http.post(
        f"{path}/progress",
        content=b"csrf_token=" + field.encode() + b"&status=in_progress&note=" + note,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 400
    assert "không phải văn bản UTF-8 hợp lệ" in html.unescape(answer.text)
    assert updates_of(hnd) == []


# --- item 15: strict types, Vietnamese messages ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "in_progress", "percent": True}, "percent"),
        ({"status": "in_progress", "percent": "50"}, "percent"),
        ({"status": "in_progress", "percent": 50.0}, "percent"),
        ({"status": "in_progress", "note": 12}, "note"),
        ({"status": True}, "status"),
    ],
)
def test_the_api_does_not_coerce_types_and_says_so_in_vietnamese(hnd: int, body: dict, field: str) -> None:
    answer = client().post(f"/api/v1/assignments/{hnd}/updates", json=body, headers=auth(token_for("HND_TINH")))
    assert answer.status_code == 422
    payload = answer.json()
    assert payload["message"].startswith("Dữ liệu không hợp lệ") and field in payload["message"]
    assert not any(phrase in answer.text for phrase in ENGLISH)
    assert updates_of(hnd) == []


def test_a_number_is_not_a_date_and_a_literal_choice_reads_vietnamese(hnd: int) -> None:
    token = token_for("HND_TINH")
    answer = client(start_review=lambda p: ("r", "r")).post(
        f"/api/v1/assignments/{hnd}/extension-requests",
        json={"until": 1665705600, "reason": "x"},
        headers=auth(token),
    )
    assert answer.status_code == 422 and "ngày không hợp lệ" in answer.json()["message"]
    choice = client().post(f"/api/v1/assignments/{hnd}/updates", json={"status": "x"}, headers=auth(token))
    assert " or " not in choice.json()["message"] and "hoặc" in choice.json()["message"]


# --- item 16: a link's issue time and lifetime are bounded -----------------------------------------------------


def test_a_link_issued_in_the_future_does_not_escape_revocation(hnd: int) -> None:
    future = TODAY + timedelta(days=365)
    token = sign_token(hnd, "HND_TINH", future, future + timedelta(days=30), SECRET.encode())
    revoke_agency_links("HND_TINH", TODAY + timedelta(minutes=1))
    later = TODAY + timedelta(minutes=2)
    assert client(later).get(f"/r/{token}").status_code == 403


def test_a_link_slightly_ahead_of_our_clock_is_honoured_but_not_a_long_lived_one(hnd: int) -> None:
    skewed = sign_token(hnd, "HND_TINH", TODAY + timedelta(minutes=2), TODAY + timedelta(days=30), SECRET.encode())
    assert client().get(f"/r/{skewed}").status_code == 200
    forever = sign_token(hnd, "HND_TINH", TODAY, TODAY + timedelta(days=3650), SECRET.encode())
    assert client().get(f"/r/{forever}").status_code == 403


# --- item 17: a short secret stops the start-up ------------------------------------------------------------------


def test_a_secret_shorter_than_the_minimum_stops_the_intake(monkeypatch: pytest.MonkeyPatch) -> None:
    use_intake(monkeypatch, secret="too-short-0123456789")
    with pytest.raises(IntakeConfigError, match="DONDOC_INTAKE_SECRET phải dài ít nhất 32 ký tự"):
        create_app()
    use_intake(monkeypatch, previous="short")
    with pytest.raises(IntakeConfigError, match="DONDOC_INTAKE_SECRET_PREVIOUS"):
        create_app()


# --- item 12 and 7: a replayed form records nothing new; names are stored in NFC -------------------------------


def test_a_replayed_progress_form_records_nothing_new(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    form = {
        "csrf_token": page_and_field(http, path),
        "status": "in_progress",
        "percent": "40",
        "note": "Đã họp triển khai.",
        "reporter": "Nguyễn Văn A",
    }
    assert http.post(f"{path}/progress", data=form, follow_redirects=False).status_code == 303
    replay = http.post(f"{path}/progress", data=form, follow_redirects=False)
    assert replay.status_code == 303 and replay.headers["location"].endswith("?ok=repeat")
    assert len(updates_of(hnd)) == 1
    changed = http.post(f"{path}/progress", data=form | {"percent": "60"}, follow_redirects=False)
    assert changed.status_code == 303 and [u.percent for u in updates_of(hnd)] == [40, 60]


def test_a_name_typed_in_decomposed_unicode_is_stored_composed_and_compared_so(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hoà")
    form = {"csrf_token": page_and_field(http, path), "status": "in_progress", "reporter": decomposed}
    assert http.post(f"{path}/progress", data=form, follow_redirects=False).status_code == 303
    [update] = updates_of(hnd)
    assert update.reported_by.startswith(unicodedata.normalize("NFC", "Nguyễn Thị Hoà"))
    composed = form | {"reporter": unicodedata.normalize("NFC", decomposed)}
    assert http.post(f"{path}/progress", data=composed, follow_redirects=False).headers["location"].endswith("repeat")
    assert len(updates_of(hnd)) == 1 and assignment(hnd).status == "in_progress"
