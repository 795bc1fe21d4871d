"""The report page behind signed links: what it shows, who it lets in, CSRF, limits and escaping."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session

from domain.signed_links import sign_token
from models import Directive, get_engine
from tests.intake_helpers import (
    OTHER_SECRET,
    SECRET,
    TODAY,
    Clock,
    assignment,
    assignment_id,
    audit_actions,
    client,
    csrf_of,
    directive_next_action,
    import_sample,
    link_path,
    revoke_agency_links,
    updates_of,
    use_intake,
)

SCRIPT = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def intake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with a configured intake."""
    use_intake(monkeypatch)


@pytest.fixture
def hnd(db) -> int:
    """Hội Nông dân tỉnh's assignment on 2.6 (lead, due Fri 30/09/2022, urgent)."""
    import_sample()
    return assignment_id("HND_TINH", "2.6")


def post_form(http, path: str, action: str, **fields: str):
    """GET the page (for the cookie and the CSRF field), then POST one form."""
    page = http.get(path)
    assert page.status_code == 200, page.text
    return http.post(f"{path}/{action}", data={"csrf_token": csrf_of(page.text), **fields}, follow_redirects=False)


# --- what the page shows ------------------------------------------------------------------------


def test_the_page_shows_directive_role_due_date_explanation_category_and_history(hnd: int) -> None:
    http = client()
    page = http.get(link_path(hnd, "HND_TINH"))
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Mục 2.6" in text and "TẠM-20220909/TB-TU" in text
    assert "Hội Nông dân tỉnh khẩn trương rà soát" in text  # the directive itself
    assert "<h1>Nhiệm vụ của Hội Nông dân tỉnh</h1>" in text and "<dt>Vai trò</dt><dd>Chủ trì</dd>" in text
    # 2.6 is due at the Standing Committee's September meeting; with no meeting date configured that is
    # the month's last working day: Friday 30/09/2022.
    assert "30/09/2022 (thứ Sáu)" in text
    assert "Căn cứ xác định thời hạn" in text and "tháng 9/2022" in text
    assert "Đang thực hiện trong hạn" in text  # on 20/09 it is before the deadline
    assert "Chưa có báo cáo nào." in text
    assert 'name="viewport"' in page.text and "<script" not in page.text  # phone-ready, no JavaScript
    for action in ("acknowledge", "progress", "extension"):
        assert f'/{action}"' in page.text


def test_the_page_says_overdue_with_working_days_after_the_deadline(hnd: int) -> None:
    # Mon 03/10 … Wed 05/10: three working days after Fri 30/09.
    later = TODAY.replace(month=10, day=5)
    page = client(later).get(link_path(hnd, "HND_TINH", now=later))
    assert "Quá hạn 3 ngày làm việc" in html.unescape(page.text)


def test_security_headers_and_the_csrf_cookie(hnd: int) -> None:
    page = client().get(link_path(hnd, "HND_TINH"))
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' forbids scripts
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"  # the token never leaves as a Referer
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/r/" in cookie


# --- the three forms ------------------------------------------------------------------------------


def test_acknowledge_then_progress_then_done_are_recorded_audited_and_mark_the_directive(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    with Session(get_engine()) as session:  # nothing due for a month: a status change must bring the follow-up forward
        session.exec(
            update(Directive)
            .where(Directive.id == assignment(hnd).directive_id)
            .values(next_action_at=TODAY + timedelta(days=30))
        )
        session.commit()
    ack = post_form(http, path, "acknowledge", reporter="Nguyễn Văn A")
    assert ack.status_code == 303 and ack.headers["location"].endswith("?ok=ack")
    assert assignment(hnd).status == "acknowledged"
    again = post_form(http, path, "acknowledge")
    assert again.headers["location"].endswith("?ok=already") and len(updates_of(hnd)) == 1  # not recorded twice

    progress = post_form(
        http,
        path,
        "progress",
        status="in_progress",
        percent="60",
        note="Đã xong dự thảo",
        document_number="123/BC-HND",
        evidence_url="https://hnd.bacgiang.example/bc-123.pdf",
    )
    assert progress.status_code == 303 and progress.headers["location"].endswith("?ok=progress")
    done = post_form(http, path, "progress", status="done", percent="80", document_number="130/BC-HND")
    assert done.headers["location"].endswith("?ok=done")

    rows = updates_of(hnd)
    assert [(u.status, u.percent, u.source) for u in rows] == [
        ("acknowledged", None, "web"),
        ("in_progress", 60, "web"),
        ("done", 100, "web"),  # done means 100 %
    ]
    assert rows[0].reported_by == "Nguyễn Văn A – Hội Nông dân tỉnh"
    assert rows[1].document_number == "123/BC-HND" and rows[1].evidence_url.endswith("bc-123.pdf")
    assert assignment(hnd).status == "done" and assignment(hnd).completed_at == TODAY
    assert audit_actions(hnd).count("assignment.status") == 3
    assert directive_next_action(hnd) == TODAY  # marked at the first report: the next sweep follows it up
    shown = http.get(f"{path}?ok=done")
    assert "nhiệm vụ đã hoàn thành" in html.unescape(shown.text) and "130/BC-HND" in shown.text


def test_an_extension_request_starts_the_review_and_a_second_one_waits(hnd: int) -> None:
    started: list[dict] = []

    def start(parameters: dict) -> tuple[str, str]:
        started.append(parameters)
        return "run-1", "gia-han-1"

    http = client(start_review=start)
    path = link_path(hnd, "HND_TINH")
    answer = post_form(http, path, "extension", until="14/10/2022", reason="Chờ ý kiến Sở Tài chính", reporter="Trần B")
    assert answer.status_code == 303 and answer.headers["location"].endswith("?ok=extension")
    # The review run gets the pending request's id, recorded before the run starts (one pending per assignment).
    assert len(started) == 1 and isinstance(started[0].pop("request_id"), int)
    assert started == [
        {
            "assignment_id": hnd,
            "until": "2022-10-14",
            "reason": "Chờ ý kiến Sở Tài chính",
            "requested_by": "Trần B – Hội Nông dân tỉnh",
        }
    ]
    assert "assignment.extension_requested" in audit_actions(hnd)
    page = html.unescape(http.get(path).text)
    assert "Đề nghị gia hạn đến 14/10/2022 đang chờ phê duyệt." in page and 'action="/r/' in page
    assert '/extension"' not in page  # no second form while one waits
    second = post_form(http, path, "extension", until="2022-10-21", reason="Thêm thời gian")
    assert second.status_code == 422 and "đang chờ phê duyệt" in html.unescape(second.text)
    assert len(started) == 1


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("31/02/2022", "Ngày đề nghị không hợp lệ"),
        ("2022-09-29", "phải sau hạn hiện tại 30/09/2022"),
        ("2024-01-01", "không được quá một năm"),
    ],
)
def test_an_extension_request_with_a_bad_date_is_refused_and_starts_nothing(hnd: int, until: str, message: str) -> None:
    started: list[dict] = []
    http = client(start_review=lambda p: started.append(p) or ("r", "r"))
    answer = post_form(http, link_path(hnd, "HND_TINH"), "extension", until=until, reason="Lý do")
    assert answer.status_code == 422 and message in html.unescape(answer.text)
    assert started == []


def test_an_extension_request_without_a_served_review_flow_says_so(hnd: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tasks.extensions.prefect_api_available", lambda: False)
    answer = post_form(client(), link_path(hnd, "HND_TINH"), "extension", until="2022-10-14", reason="Lý do")
    assert answer.status_code == 503 and "PREFECT_API_URL" in html.unescape(answer.text)
    assert "assignment.extension_requested" not in audit_actions(hnd)


# --- links that must be refused -------------------------------------------------------------------


def _status(path: str, clock=TODAY) -> int:
    return client(clock).get(path).status_code


def test_a_forged_link_is_refused(hnd: int) -> None:
    good = link_path(hnd, "HND_TINH")
    forged = good.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert _status(forged) == 403
    signed_elsewhere = "/r/" + sign_token(hnd, "HND_TINH", TODAY, TODAY + timedelta(days=30), b"not-our-key-" * 4)
    assert _status(signed_elsewhere) == 403
    assert _status("/r/v1.1.HND_TINH") == 403 and _status("/r/" + "v1." * 60) == 403


@pytest.mark.parametrize("field", ["assignment", "agency", "expiry"])
def test_a_tampered_link_is_refused(hnd: int, field: str) -> None:
    parts = link_path(hnd, "HND_TINH").removeprefix("/r/").split(".")
    other = assignment_id("SO_CT", "2.3")
    if field == "assignment":
        parts[1] = str(other)
    elif field == "agency":
        parts[2] = "SO_CT"
    else:
        parts[4] = str(int(parts[4]) + 365 * 86400)
    response = client().get("/r/" + ".".join(parts))
    assert response.status_code == 403 and "không hợp lệ" in html.unescape(response.text)


def test_an_expired_link_is_refused(hnd: int) -> None:
    issued = TODAY - timedelta(days=31)  # links live 30 days by default
    response = client().get(link_path(hnd, "HND_TINH", now=issued))
    assert response.status_code == 410 and "Liên kết đã hết hạn." in html.unescape(response.text)
    assert _status(link_path(hnd, "HND_TINH", now=TODAY - timedelta(days=29))) == 200


def test_rotating_the_key_revokes_links_and_the_previous_key_is_honoured_only_when_set(hnd: int, monkeypatch) -> None:
    old = link_path(hnd, "HND_TINH")
    use_intake(monkeypatch, secret=OTHER_SECRET)
    assert _status(old) == 403
    use_intake(monkeypatch, secret=OTHER_SECRET, previous=SECRET)  # during a rotation, explicitly
    assert _status(old) == 200
    assert _status(link_path(hnd, "HND_TINH")) == 200  # new links are signed with the new key


def test_revoking_one_agencys_links_refuses_older_links_only(hnd: int) -> None:
    old = link_path(hnd, "HND_TINH")
    revoke_agency_links("HND_TINH", TODAY + timedelta(minutes=1), reason="Thư bị chuyển nhầm")
    later = TODAY + timedelta(hours=1)
    response = client(later).get(old)
    assert response.status_code == 403 and "Liên kết đã bị thu hồi." in html.unescape(response.text)
    assert _status(link_path(hnd, "HND_TINH", now=later), later) == 200
    so_ct = assignment_id("SO_CT", "2.3")
    assert _status(link_path(so_ct, "SO_CT")) == 200  # other agencies are untouched


def test_a_link_without_a_configured_key_is_not_served(hnd: int, monkeypatch) -> None:
    path = link_path(hnd, "HND_TINH")
    use_intake(monkeypatch, secret=None)
    assert _status(path) == 503


def test_refused_links_from_one_client_are_rate_limited(hnd: int, monkeypatch) -> None:
    use_intake(monkeypatch, intake_auth_failure_burst="3", intake_auth_failures_per_minute="1")
    http = client()
    bad = link_path(hnd, "HND_TINH")[:-3] + "AAA"
    assert [http.get(bad).status_code for _ in range(3)] == [403, 403, 403]
    blocked = http.get(bad)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    assert "Quá nhiều lần thử" in html.unescape(blocked.text)
    # Refusals are counted per address, and never stop a good link from that address (issue 12, item 10).
    assert http.get(link_path(hnd, "HND_TINH")).status_code == 200


def test_one_link_is_rate_limited(hnd: int, monkeypatch) -> None:
    use_intake(monkeypatch, intake_form_burst="4", intake_form_rate_per_minute="1")
    http = client()
    path = link_path(hnd, "HND_TINH")
    assert [http.get(path).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert client().get(link_path(assignment_id("SO_CT", "2.3"), "SO_CT")).status_code == 200


# --- one agency cannot touch another's work ---------------------------------------------------------


def test_a_link_cannot_read_or_change_another_agencys_assignment(hnd: int) -> None:
    so_ct = assignment_id("SO_CT", "2.3")
    # Even a validly signed link that names agency A with agency B's assignment is refused.
    crossed = "/r/" + sign_token(so_ct, "HND_TINH", TODAY, TODAY + timedelta(days=30), SECRET.encode())
    http = client()
    page = http.get(crossed)
    assert page.status_code == 403 and "Sở Công Thương" not in html.unescape(page.text)
    # A's own link with B's id slipped into the form changes A's assignment only.
    answer = post_form(http, link_path(hnd, "HND_TINH"), "progress", status="done", assignment_id=str(so_ct))
    assert answer.status_code == 303
    assert assignment(so_ct).status == "assigned" and updates_of(so_ct) == []
    assert assignment(hnd).status == "done"


# --- CSRF ---------------------------------------------------------------------------------------------


def test_a_form_without_the_csrf_cookie_is_refused(hnd: int) -> None:
    path = link_path(hnd, "HND_TINH")
    token = csrf_of(client().get(path).text)  # served to another browser
    answer = client().post(f"{path}/progress", data={"csrf_token": token, "status": "done"}, follow_redirects=False)
    assert answer.status_code == 403 and "Phiên làm việc không hợp lệ" in html.unescape(answer.text)
    assert updates_of(hnd) == []


def test_a_form_with_a_wrong_or_missing_csrf_field_is_refused(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    http.get(path)
    for data in (
        {"status": "done"},
        {"csrf_token": "1663640000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "status": "done"},
    ):
        assert http.post(f"{path}/progress", data=data, follow_redirects=False).status_code == 403
    assert updates_of(hnd) == []


def test_a_csrf_field_from_another_links_page_is_refused(hnd: int) -> None:
    http = client()
    other = link_path(assignment_id("HND_TINH", "2.3"), "HND_TINH")
    token = csrf_of(http.get(other).text)  # same browser, same agency, another assignment
    path = link_path(hnd, "HND_TINH")
    assert (
        http.post(f"{path}/progress", data={"csrf_token": token, "status": "done"}, follow_redirects=False).status_code
        == 403
    )


def test_a_stale_csrf_field_is_refused(hnd: int) -> None:
    clock = Clock(TODAY)
    http = client(clock)
    path = link_path(hnd, "HND_TINH")
    token = csrf_of(http.get(path).text)
    clock.now = TODAY + timedelta(hours=13)  # the field lives 12 hours
    assert (
        http.post(f"{path}/progress", data={"csrf_token": token, "status": "done"}, follow_redirects=False).status_code
        == 403
    )
    clock.now = TODAY + timedelta(hours=1)
    assert (
        http.post(f"{path}/progress", data={"csrf_token": token, "status": "done"}, follow_redirects=False).status_code
        == 303
    )


# --- sizes and malformed input ---------------------------------------------------------------------------


def test_an_oversized_form_is_refused_with_413(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    answer = post_form(http, path, "progress", status="in_progress", note="x" * 100_000)
    assert answer.status_code == 413 and "quá lớn" in answer.text
    assert updates_of(hnd) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "in_progress", "percent": "abc"}, "Tỷ lệ hoàn thành phải là số nguyên từ 0 đến 100."),
        ({"status": "in_progress", "percent": "150"}, "Tỷ lệ hoàn thành phải là số nguyên từ 0 đến 100."),
        ({"status": "withdrawn"}, "Chọn trạng thái: Đang thực hiện hoặc Hoàn thành."),
        ({"status": "in_progress", "evidence_url": "javascript:alert(1)"}, "Liên kết minh chứng phải là địa chỉ web"),
        ({"status": "in_progress", "note": "y" * 2001}, "Nội dung dài quá 2000 ký tự"),
        ({"status": "in_progress", "note": "a\x00b"}, "chứa ký tự điều khiển không hợp lệ"),
    ],
)
def test_a_malformed_form_gets_422_with_a_clear_message_and_keeps_what_was_typed(
    hnd: int, fields: dict, message: str
) -> None:
    answer = post_form(client(), link_path(hnd, "HND_TINH"), "progress", document_number="99/BC", **fields)
    assert answer.status_code == 422
    assert message in html.unescape(answer.text)
    assert 'value="99/BC"' in answer.text  # the official does not retype the form
    assert updates_of(hnd) == []


# --- escaping ---------------------------------------------------------------------------------------------


def test_a_script_in_a_note_name_document_and_link_is_escaped_on_the_page(hnd: int) -> None:
    http = client()
    path = link_path(hnd, "HND_TINH")
    answer = post_form(
        http,
        path,
        "progress",
        status="in_progress",
        note=f"Tiến độ {SCRIPT}",
        reporter='<img src=x onerror="alert(1)">',
        document_number="<b>12</b>",
        evidence_url='https://x.example/"><script>alert(2)</script>',
    )
    assert answer.status_code == 303
    page = http.get(path).text
    assert "<script" not in page and "<img" not in page and "<b>12" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert 'href="https://x.example/&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in page
