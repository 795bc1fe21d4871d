"""The agency API: hashed per-agency tokens, own assignments only, rate limits, clear 4xx errors."""

from __future__ import annotations

import re

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.intake import register
from intake.tokens import create_token, hash_token, revoke_token
from models import get_engine
from models.db import session_scope
from models.intake import ApiToken
from tests.intake_helpers import (
    assignment,
    assignment_id,
    client,
    import_sample,
    link_path,
    token_for,
    updates_of,
    use_intake,
)

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def intake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with a configured intake."""
    use_intake(monkeypatch)


@pytest.fixture
def sample(db) -> None:
    """The sample notice."""
    import_sample()


def auth(token: str) -> dict[str, str]:
    """The Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def cli() -> typer.Typer:
    """A dondoc-like app with only the intake commands."""
    app = typer.Typer()
    register(app)
    return app


def test_a_token_created_on_the_command_line_is_shown_once_and_stored_hashed(sample) -> None:
    result = CliRunner().invoke(cli(), ["intake", "token", "create", "HND_TINH", "--label", "Phần mềm QLVB"])
    assert result.exit_code == 0, result.output
    token = re.search(r"dd_[A-Za-z0-9_-]{43}", result.output).group(0)
    with Session(get_engine()) as session:
        row = session.exec(select(ApiToken)).one()
    assert row.token_hash == hash_token(token) and token not in (row.prefix, row.token_hash, row.label)
    listed = CliRunner().invoke(cli(), ["intake", "token", "list"])
    assert listed.exit_code == 0 and token not in listed.output and row.prefix in listed.output
    assert client().get("/api/v1/assignments", headers=auth(token)).status_code == 200
    revoked = CliRunner().invoke(cli(), ["intake", "token", "revoke", str(row.id)])
    assert revoked.exit_code == 0 and "Đã thu hồi" in revoked.output
    answer = client().get("/api/v1/assignments", headers=auth(token))
    assert answer.status_code == 401 and answer.json()["detail"] == "Mã truy cập không hợp lệ hoặc đã bị thu hồi."


def test_creating_a_token_for_an_unknown_agency_fails_clearly(sample) -> None:
    result = CliRunner().invoke(cli(), ["intake", "token", "create", "KHONG_CO"])
    assert result.exit_code == 1 and "không có cơ quan mã «KHONG_CO»" in result.output


def test_requests_without_or_with_a_bad_token_get_401(sample) -> None:
    http = client()
    missing = http.get("/api/v1/assignments")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "Thiếu mã truy cập" in missing.json()["detail"]
    assert http.get("/api/v1/assignments", headers=auth("dd_" + "A" * 43)).status_code == 401
    assert http.get("/api/v1/assignments", headers=auth("not-even-a-token")).status_code == 401


def test_an_agency_lists_and_reads_only_its_own_assignments(sample) -> None:
    http = client()
    answer = http.get("/api/v1/assignments", headers=auth(token_for("SO_CT")))
    assert answer.status_code == 200
    rows = answer.json()
    # Sở Công Thương is lead on 2.3 and supports 2.5 (config/notices/tb-tu-2022-09-09-ocop.yaml).
    assert sorted((r["directive_number"], r["role"]) for r in rows) == [("2.3", "lead"), ("2.5", "support")]
    assert {r["agency_code"] for r in rows} == {"SO_CT"}
    hnd = assignment_id("HND_TINH", "2.6")
    assert http.get(f"/api/v1/assignments/{hnd}", headers=auth(token_for("SO_CT"))).status_code == 404
    own = http.get(f"/api/v1/assignments/{hnd}", headers=auth(token_for("HND_TINH"))).json()
    assert own["due_date"] == "2022-09-30" and own["category"] == "in_progress" and own["role_vi"] == "Chủ trì"


def test_an_agency_cannot_change_another_agencys_assignment(sample) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates", json={"status": "done"}, headers=auth(token_for("SO_CT"))
    )
    assert answer.status_code == 404 and answer.json()["detail"] == f"Không có việc số {hnd}."
    assert assignment(hnd).status == "assigned" and updates_of(hnd) == []
    extension = client(start_review=lambda p: ("r", "r")).post(
        f"/api/v1/assignments/{hnd}/extension-requests",
        json={"until": "2022-10-14", "reason": "x"},
        headers=auth(token_for("SO_CT")),
    )
    assert extension.status_code == 404


def test_a_report_through_the_api_is_recorded_and_a_script_in_it_is_escaped_on_the_page(sample) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates",
        headers=auth(token_for("HND_TINH")),
        json={
            "status": "in_progress",
            "percent": 40,
            "note": f"Đang lấy ý kiến {SCRIPT}",
            "document_number": "77/BC-HND",
            "reported_by": "Lê C",
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert answer.headers["content-type"] == "application/json"  # data, never rendered as HTML
    assert (body["status"], body["percent"], body["source"], body["reported_by"]) == (
        "in_progress",
        40,
        "api",
        "Lê C – Hội Nông dân tỉnh",
    )
    assert updates_of(hnd)[-1].note == f"Đang lấy ý kiến {SCRIPT}"
    page = client().get(link_path(hnd, "HND_TINH")).text
    assert SCRIPT not in page and "Đang lấy ý kiến &lt;script&gt;alert(1)&lt;/script&gt;" in page
    history = client().get(f"/api/v1/assignments/{hnd}/updates", headers=auth(token_for("HND_TINH"))).json()
    assert [h["percent"] for h in history] == [40]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ('{"status": "done",', None, "nội dung không phải JSON hợp lệ"),
        ('{"status": "in_progress", "percent": 150}', "percent", "giá trị quá lớn (tối đa 100)"),
        ('{"status": "finished"}', "status", "giá trị không hợp lệ"),
        ('{"percent": 10}', "status", "thiếu trường bắt buộc"),
        ('{"status": "done", "owner": "SO_TC"}', "owner", "trường không được phép"),
        ("[1, 2]", None, "phải là một đối tượng JSON"),
        ('{"status": "done", "evidence_url": "javascript:alert(1)"}', "evidence_url", "không đúng định dạng"),
    ],
)
def test_malformed_payloads_get_422_naming_the_field(sample, body: str, field: str | None, message: str) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates",
        content=body,
        headers=auth(token_for("HND_TINH")) | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    payload = answer.json()
    assert message in payload["message"]
    if field:
        assert any(d["loc"][-1] == field for d in payload["detail"])
    assert updates_of(hnd) == []


def test_text_the_database_cannot_store_is_refused_with_422(sample) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates",
        json={"status": "done", "note": "a\u0000b"},
        headers=auth(token_for("HND_TINH")),
    )
    assert (
        answer.status_code == 422 and answer.json()["detail"] == "Nội dung báo cáo chứa ký tự điều khiển không hợp lệ"
    )


def test_an_oversized_payload_gets_413(sample) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates",
        json={"status": "done", "note": "x" * 40_000},
        headers=auth(token_for("HND_TINH")),
    )
    assert answer.status_code == 413 and "quá lớn" in answer.json()["detail"]
    assert updates_of(hnd) == []


def test_the_rate_limit_holds_per_token(sample, monkeypatch: pytest.MonkeyPatch) -> None:
    use_intake(monkeypatch, intake_api_burst="3", intake_api_rate_per_minute="1")
    http = client()
    busy, quiet = token_for("HND_TINH"), token_for("SO_CT")
    codes = [http.get("/api/v1/assignments", headers=auth(busy)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = http.get("/api/v1/assignments", headers=auth(busy))
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "giới hạn" in limited.json()["detail"]
    assert http.get("/api/v1/assignments", headers=auth(quiet)).status_code == 200  # another token has its own bucket


def test_an_extension_request_through_the_api(sample) -> None:
    hnd = assignment_id("HND_TINH", "2.6")
    started: list[dict] = []
    http = client(start_review=lambda p: started.append(p) or ("id-1", "gia-han-1"))
    token = token_for("HND_TINH")
    answer = http.post(
        f"/api/v1/assignments/{hnd}/extension-requests",
        json={"until": "2022-10-14", "reason": "Chờ ý kiến"},
        headers=auth(token),
    )
    assert answer.status_code == 202 and answer.json()["run_name"] == "gia-han-1"
    assert started[0]["until"] == "2022-10-14" and started[0]["requested_by"] == "Hội Nông dân tỉnh"
    again = http.post(
        f"/api/v1/assignments/{hnd}/extension-requests",
        json={"until": "2022-10-20", "reason": "Lại"},
        headers=auth(token),
    )
    assert again.status_code == 409 and "đang chờ phê duyệt" in again.json()["detail"]
    shown = http.get(f"/api/v1/assignments/{hnd}", headers=auth(token)).json()
    assert shown["pending_extension_until"] == "2022-10-14"


def test_a_withdrawn_assignment_refuses_reports_with_409(sample) -> None:
    from sqlalchemy import update

    from models import Assignment

    hnd = assignment_id("HND_TINH", "2.6")
    with Session(get_engine()) as session:
        session.exec(update(Assignment).where(Assignment.id == hnd).values(status="withdrawn"))
        session.commit()
    answer = client().post(
        f"/api/v1/assignments/{hnd}/updates", json={"status": "done"}, headers=auth(token_for("HND_TINH"))
    )
    assert answer.status_code == 409 and "thu hồi" in answer.json()["detail"]


def test_the_openapi_spec_describes_bearer_auth_and_every_operation(sample) -> None:
    spec = client().get("/api/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert set(spec["paths"]) == {
        "/api/v1/assignments",
        "/api/v1/assignments/{assignment_id}",
        "/api/v1/assignments/{assignment_id}/updates",
        "/api/v1/assignments/{assignment_id}/extension-requests",
    }
    post = spec["paths"]["/api/v1/assignments/{assignment_id}/updates"]["post"]
    assert {"201", "401", "404", "413", "422", "429"} <= set(post["responses"])
    missing = client().get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"detail": "Không tìm thấy."}


def test_revoking_by_prefix(sample) -> None:
    with session_scope() as session:
        info, token = create_token("HND_TINH", label=None, created_by="t", session=session)
    with session_scope() as session:
        assert revoke_token(info.prefix, revoked_by="t", session=session).revoked_at is not None
    assert client().get("/api/v1/assignments", headers=auth(token)).status_code == 401
