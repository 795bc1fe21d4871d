"""nhap-thong-bao: a pasted notice is drafted, reviewed in a pause form resumed through the API, then imported."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowFilter, FlowFilterName
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from sqlmodel import Session, select

from config.agencies import load_agencies
from config.settings import PACKAGED_CONFIG_DIR
from domain.labels import ROLE_VI
from domain.workdays import format_date_vi, weekday_vi
from flows.notice_intake import notice_intake
from models import Agency, Assignment, AuditEvent, Directive, Notice, Notification, get_engine

NOTICE_TEXT = """TỈNH ỦY BẮC GIANG
Số 1234-TB/TU
Bắc Giang, ngày 15 tháng 3 năm 2023

THÔNG BÁO
KẾT LUẬN CỦA THƯỜNG TRỰC TỈNH ỦY
về phát triển thương mại điện tử nông sản

Ngày 10/3/2023, Thường trực Tỉnh ủy nghe báo cáo về thương mại điện tử nông sản. Thường trực Tỉnh ủy kết luận như sau:

1. Giao Sở Công Thương chủ trì, phối hợp với Sở Tài chính xây dựng kế hoạch đưa nông sản lên sàn thương mại điện tử, hoàn thành trước ngày 28/4/2023.

2. Giao Hội Nông dân tỉnh chủ trì tập huấn cho hội viên về bán hàng trực tuyến; báo cáo kết quả trước ngày 30/6/2023.

3. Giao Ban Dân vận Tỉnh ủy chủ trì, phối hợp với Văn phòng Tỉnh ủy theo dõi, đôn đốc việc thực hiện Thông báo này.

Nơi nhận:
- Như trên,
- Lưu VPTU.
"""
DEADLINE_S = 120.0  # generous: the server, the thread and the first follow-ups share two cores


def wait_for(what: str, probe: Callable[[], Any], timeout: float = DEADLINE_S) -> Any:
    """Poll probe until it returns something truthy; fail with what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"timed out waiting for {what}")


def known_runs() -> set[UUID]:
    """The nhap-thong-bao runs that exist already (runs of earlier tests share the server)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["nhap-thong-bao"])))
    return {r.id for r in runs}


def start_intake(text: str = NOTICE_TEXT, **kwargs: Any) -> tuple[threading.Thread, list, UUID]:
    """Start the intake in a thread (it blocks while paused); return it, its result holder and its paused run id."""
    seen = known_runs()
    result: list = []
    thread = threading.Thread(
        target=lambda: result.append(notice_intake(text, **kwargs, return_state=True)), daemon=True
    )
    thread.start()

    def paused_new_run() -> UUID | None:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["nhap-thong-bao"])))
        fresh = [r for r in runs if r.id not in seen and r.state is not None and r.state.type == StateType.PAUSED]
        return fresh[0].id if fresh else None

    return thread, result, wait_for("the intake run to pause for review", paused_new_run)


def pause_state_id(run_id: UUID) -> UUID | None:
    """The id of the run's current state if it is paused."""
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    return state.id if state is not None and state.type == StateType.PAUSED else None


def artifacts_of(run_id: UUID) -> dict[str, Any]:
    """The latest artifact of each key published by the run, by key."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    latest: dict[str, Any] = {}
    for artifact in sorted(found, key=lambda a: a.created or 0):
        latest[artifact.key or str(artifact.id)] = artifact
    return latest


def table_rows(run_id: UUID) -> list[dict[str, str]]:
    """The draft's table artifact as rows."""
    table = artifacts_of(run_id)["dondoc-nhap-1234-tb-tu"]
    data = json.loads(table.data) if isinstance(table.data, str) else table.data
    return list(data)


def imported_rows() -> list[dict[str, str]]:
    """What the database holds, written as the draft table writes it (its order: directive, then agency)."""
    names = {code: spec.display_name for code, spec in load_agencies(PACKAGED_CONFIG_DIR).by_code.items()}
    with Session(get_engine()) as session:
        rows = session.exec(
            select(Directive.number, Directive.position, Agency.code, Assignment.role, Assignment.due_date)
            .join(Assignment, Assignment.directive_id == Directive.id)
            .join(Agency, Agency.id == Assignment.agency_id)
            .order_by(Directive.position, Assignment.id)
        ).all()
    return [
        {
            "Mục": number,
            "Cơ quan": names[code],
            "Vai trò": ROLE_VI[role],
            "Hạn": f"{format_date_vi(due)} ({weekday_vi(due)})" if due else "thường xuyên",
        }
        for number, _, code, role, due in rows
    ]


def finish(thread: threading.Thread, result: list) -> Any:
    """Wait for the run to end and return its final state."""
    thread.join(timeout=DEADLINE_S)
    assert result, "the intake run did not finish"
    return result[0]


def test_approving_the_draft_imports_exactly_what_its_table_showed(prefect_server, db) -> None:
    thread, result, run_id = start_intake()
    shown = table_rows(run_id)
    # Every flagged item is marked: directive 3 names no deadline, on both of its rows.
    assert [r["Kiểm tra"] for r in shown if r["Mục"] == "3"] == ["⚠ KIỂM TRA: văn bản không nêu thời hạn"] * 2
    assert not [r for r in shown if r["Mục"] != "3" and r["Kiểm tra"]]
    yaml_artifact = artifacts_of(run_id)["dondoc-nhap-1234-tb-tu-yaml"]
    assert 'number: "1234-TB/TU"' in yaml_artifact.data and "```yaml" in yaml_artifact.data

    resume_flow_run(run_id, run_input={"approve": True, "approver": "Chánh Văn phòng Tỉnh ủy"})
    final = finish(thread, result)

    assert final.is_completed() and final.name == "Đã nhập", final.message
    assert "Đã nhập thông báo 1234-TB/TU: 3 mục, 5 lượt giao việc" in final.message
    assert imported_rows() == [{k: v for k, v in r.items() if k != "Kiểm tra"} for r in shown]
    with Session(get_engine()) as session:
        notice = session.exec(select(Notice)).one()
        created = session.exec(select(AuditEvent).where(AuditEvent.action == "notice.created")).one()
        directives = session.exec(select(Directive)).all()
        assigned = session.exec(select(Notification).where(Notification.kind == "assigned")).all()
    assert notice.source_text is not None and "thương mại điện tử" in notice.source_text
    assert created.actor == "prefect:Chánh Văn phòng Tỉnh ủy" and created.details["file"].endswith("ban-nhap.yaml")
    # The first follow-up of every directive ran: each was reconciled and its agencies were told.
    assert all(d.last_followed_up_at is not None for d in directives)
    assert {n.assignment_id for n in assigned} == set(session_ids_of_assignments())


def session_ids_of_assignments() -> list[int]:
    """Every assignment id."""
    with Session(get_engine()) as session:
        return [i for i in session.exec(select(Assignment.id)).all() if i is not None]


def corrected(draft_yaml: str) -> str:
    """The draft with directive 1's support agency changed and directive 3 given a date."""
    assert "- {agency: SO_TC, role: support}" in draft_yaml
    text = draft_yaml.replace("- {agency: SO_TC, role: support}", "- {agency: SO_NNPTNT, role: support}")
    return text.replace(
        "      phrase: null\n      rule: {kind: ongoing}",
        '      phrase: "trước ngày 31/5/2023"\n      rule: {kind: fixed_date, date: 2023-05-31}',
    )


def draft_yaml_of(run_id: UUID) -> str:
    """The YAML inside the draft's markdown artifact."""
    markdown = artifacts_of(run_id)["dondoc-nhap-1234-tb-tu-yaml"].data
    return markdown.split("```yaml\n", 1)[1].rsplit("\n```", 1)[0] + "\n"


def test_a_corrected_notice_file_is_imported_instead_of_the_draft(prefect_server, db) -> None:
    thread, result, run_id = start_intake()
    fixed = corrected(draft_yaml_of(run_id))
    resume_flow_run(run_id, run_input={"approve": True, "approver": "Chánh Văn phòng", "notice_yaml": fixed})
    final = finish(thread, result)
    assert final.is_completed() and final.name == "Đã nhập", final.message
    rows = imported_rows()
    agencies_of_1 = [r["Cơ quan"] for r in rows if r["Mục"] == "1"]
    assert "Sở Tài chính" not in agencies_of_1 and len(agencies_of_1) == 2
    assert {r["Hạn"] for r in rows if r["Mục"] == "3"} == {"31/05/2023 (thứ Tư)"}
    with Session(get_engine()) as session:
        created = session.exec(select(AuditEvent).where(AuditEvent.action == "notice.created")).one()
    assert created.details["file"].endswith("ban-sua-1.yaml")


def test_rejecting_the_draft_writes_nothing(prefect_server, db) -> None:
    thread, result, run_id = start_intake()
    resume_flow_run(run_id, run_input={"approve": False, "approver": "Chánh Văn phòng"})
    final = finish(thread, result)
    assert final.is_completed() and final.name == "Đã từ chối", final.message
    with Session(get_engine()) as session:
        assert session.exec(select(Notice)).all() == []
        assert session.exec(select(Directive)).all() == []
        assert session.exec(select(Agency)).all() == []  # not even the directory sync of an import
        assert session.exec(select(AuditEvent)).all() == []


def test_a_corrected_file_with_an_error_is_refused_with_its_line_and_the_run_waits_again(prefect_server, db) -> None:
    thread, result, run_id = start_intake()
    draft_yaml = draft_yaml_of(run_id)
    broken = draft_yaml.replace("- {agency: SO_TC, role: support}", "- {agency: Sở Không Có, role: support}")
    line = broken.splitlines().index("      - {agency: Sở Không Có, role: support}") + 1
    first_pause = pause_state_id(run_id)
    assert first_pause is not None

    resume_flow_run(run_id, run_input={"approve": True, "approver": "Chánh Văn phòng", "notice_yaml": broken})
    second_pause = wait_for(
        "the run to pause again", lambda: (p := pause_state_id(run_id)) is not None and p != first_pause and p
    )
    refusal = wait_for("the refusal artifact", lambda: artifacts_of(run_id).get("dondoc-nhap-1234-tb-tu-loi"))
    assert f"dòng {line}" in refusal.data and "Sở Không Có" in refusal.data
    with Session(get_engine()) as session:
        assert session.exec(select(Notice)).all() == []  # refused: nothing half-written

    resume_flow_run(run_id, run_input={"approve": True, "approver": "Chánh Văn phòng", "notice_yaml": draft_yaml})
    final = finish(thread, result)
    assert second_pause != first_pause
    assert final.is_completed() and final.name == "Đã nhập", final.message
    assert len(imported_rows()) == 5


def test_the_date_and_issuer_typed_in_the_form_fill_what_the_text_does_not_say(prefect_server, db) -> None:
    headless = (
        NOTICE_TEXT.replace("TỈNH ỦY BẮC GIANG\n", "")
        .replace("Bắc Giang, ngày 15 tháng 3 năm 2023\n", "")
        .replace("KẾT LUẬN CỦA THƯỜNG TRỰC TỈNH ỦY\n", "KẾT LUẬN\n")
        .replace("Ngày 10/3/2023, Thường trực Tỉnh ủy nghe", "Sau khi nghe")
        .replace(". Thường trực Tỉnh ủy kết luận", ", hội nghị kết luận")
    )
    thread, result, run_id = start_intake(headless, issued_on=date(2023, 3, 15), issuer="Thường trực Tỉnh ủy")
    draft_yaml = draft_yaml_of(run_id)
    assert "date: 2023-03-15" in draft_yaml and "issuer: TTTU" in draft_yaml
    resume_flow_run(run_id, run_input={"approve": False, "approver": "Chánh Văn phòng"})
    assert finish(thread, result).name == "Đã từ chối"


def test_an_issuer_outside_the_directory_fails_the_run_with_a_vietnamese_reason(prefect_server, db) -> None:
    headless = NOTICE_TEXT.replace("KẾT LUẬN CỦA THƯỜNG TRỰC TỈNH ỦY\n", "KẾT LUẬN\n")
    final = notice_intake(headless.replace("TỈNH ỦY BẮC GIANG\n", ""), issuer="Bộ Ngoại giao", return_state=True)
    assert final.is_failed()
    assert "cơ quan ban hành «Bộ Ngoại giao» không có trong danh mục" in final.message


def test_outside_text_in_the_draft_artifact_cannot_break_out_of_its_place() -> None:
    from tasks.notice_drafts import NoticeIntakeDraft, draft_markdown

    yaml_text = 'notice:\n  title: "```\\n<script>alert(1)</script>"\n  # ````` closes nothing\n'
    draft = NoticeIntakeDraft(
        folder="/tmp/x",
        yaml_path="/tmp/x/ban-nhap.yaml",
        yaml_text=yaml_text,
        number="<b>1</b>",
        summary="Đã đọc «<img src=x onerror=alert(1)>».",
        rows=[],
        problems=["dòng 3, notice.issuer: cơ quan ban hành không hợp lệ: «*[x](javascript:alert(1))*»"],
    )
    markdown = draft_markdown(draft)
    fence = "`" * 6  # one longer than the longest backtick run inside
    assert f"{fence}yaml\n{yaml_text.rstrip()}\n{fence}" in markdown
    outside = markdown.split(f"{fence}yaml", 1)[0]
    assert "<img" not in outside and "<b>" not in outside and "](javascript" not in outside
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in outside
