"""A new notice from the Prefect UI: paste its text, review the draft in a pause form, approve or correct it."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Completed
from pydantic import Field

from domain.safe_text import markdown_text
from domain.workdays import VN_TZ
from flows.follow_up import follow_up_directive
from flows.forms import form_with_defaults
from tasks.notice_drafts import (
    NoticeIntakeDraft,
    draft_notice,
    import_approved,
    problems_markdown,
    publish_draft,
    publish_refusal,
    save_corrected,
)

REVIEW_TIMEOUT_S = 14 * 24 * 3600  # two weeks for a coordinator to decide


class NoticeReview(RunInput):
    """The review form: approve the draft as it is, approve a corrected notice file, or reject."""

    approve: bool = Field(
        title="Đồng ý nhập thông báo?", description="Chọn để nhập; bỏ chọn để từ chối (không ghi gì vào cơ sở dữ liệu)."
    )
    approver: str = Field(title="Người duyệt", min_length=1, description="Họ tên, chức vụ người duyệt.")
    notice_yaml: str = Field(
        default="",
        title="Tệp thông báo (YAML) sẽ nhập",
        description="Bản nháp ở đây; sửa trực tiếp nếu cần (kéo góc ô để mở rộng). Để trống: nhập đúng bản nháp.",
    )


def review_description(draft: NoticeIntakeDraft, refused: list[str], attempt: int) -> str:
    """What the pause form says above its fields: the summary, and why the last version was refused."""
    summary = "  \n".join(markdown_text(line) for line in draft.summary.splitlines())
    parts = [f"**Nhập thông báo mới {markdown_text(draft.number)}**", "", summary, ""]
    if refused:
        parts += [f"**Bản lần {attempt} chưa nhập được** (sửa rồi bấm Resume lại):", "", problems_markdown(refused), ""]
    parts.append(
        "Xem bảng «Bản nháp» và tệp YAML ở mục Artifacts. Chọn «Đồng ý» để nhập (sửa YAML trong ô dưới nếu cần), "
        "hoặc bỏ chọn để từ chối; rồi bấm Resume."
    )
    return "\n".join(parts)


def _run_name() -> str:
    """Name the run after when it was started, Vietnam time, e.g. "Nhập thông báo 13/09/2022 08:05"."""
    return f"Nhập thông báo {datetime.now(VN_TZ):%d/%m/%Y %H:%M}"


@flow(name="nhap-thong-bao", flow_run_name=_run_name, persist_result=False)
def notice_intake(text: str, issued_on: date | None = None, issuer: str = "") -> State:
    """Draft a notice from its text, wait for a coordinator's review, then import it and follow up every directive.

    Args:
        text: Toàn văn Thông báo kết luận (dán từ Word hoặc PDF; giữ nguyên các dòng).
        issued_on: Ngày ban hành, nếu văn bản không ghi.
        issuer: Cơ quan ban hành (mã, tên hoặc tên viết tắt trong danh mục), nếu văn bản không ghi.
    """
    logger = get_run_logger()
    run_id = str(flow_run.id)
    draft = draft_notice(text, issued_on, issuer, run_id)
    publish_draft(draft)
    logger.info("Bản nháp thông báo %s: %d lượt giao việc; %s", draft.number, len(draft.rows), draft.summary)
    refused = list(draft.problems)
    current = draft.yaml_text
    attempt = 0
    while True:
        form = form_with_defaults(
            NoticeReview, review_description(draft, refused, attempt), approve=True, approver="", notice_yaml=current
        )
        decision = pause_flow_run(wait_for_input=form, timeout=REVIEW_TIMEOUT_S, poll_interval=2)
        if not decision.approve:
            logger.info("Từ chối bản nháp thông báo %s (%s); không ghi gì.", draft.number, decision.approver)
            return Completed(name="Đã từ chối", message=f"Đã từ chối bản nháp ({decision.approver}); không ghi gì.")
        attempt += 1
        current = decision.notice_yaml if decision.notice_yaml.strip() else draft.yaml_text
        path = draft.yaml_path if current == draft.yaml_text else save_corrected(draft.folder, current, attempt)
        outcome = import_approved(path, decision.approver)
        if outcome.imported:
            break
        refused = outcome.problems
        logger.warning("Bản lần %d chưa nhập được: %s", attempt, "; ".join(refused))
        publish_refusal(draft.number, refused, attempt)
    logger.info(
        "Đã nhập thông báo %s (%s); đôn đốc lần đầu %d mục", outcome.number, outcome.action, len(outcome.directive_ids)
    )
    for directive_id in outcome.directive_ids:
        follow_up_directive(directive_id)
    return Completed(
        name="Đã nhập",
        message=(
            f"Đã nhập thông báo {outcome.number}: {len(outcome.directive_ids)} mục, {outcome.assignments} lượt giao việc "
            f"({decision.approver}); đã đôn đốc lần đầu từng mục."
        ),
    )
