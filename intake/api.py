"""The agency API: JSON, one token per agency, each agency sees and reports only its own assignments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from intake.app import IntakeState
from intake.queries import AssignmentView, HistoryEntry, agency_assignment_ids, assignment_view
from intake.ratelimit import retry_after
from intake.tokens import Caller, authenticate
from tasks.extensions import REASON_MAX, ExtensionUnavailable, request_extension
from tasks.status_recording import (
    DOCUMENT_NUMBER_MAX,
    EVIDENCE_URL_MAX,
    NOTE_MAX,
    AssignmentNotFound,
    StatusChangeRefused,
    StatusConflict,
    record_status_update,
)

router = APIRouter(prefix="/api/v1", tags=["Báo cáo tiến độ"])
bearer = HTTPBearer(auto_error=False, description="Mã truy cập của cơ quan: `Authorization: Bearer dd_…`.")

AssignmentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Mã việc.")]
NAME_MAX = 100


class ErrorOut(BaseModel):
    """An error, explained in Vietnamese."""

    detail: str


class ProblemItem(BaseModel):
    """One invalid field."""

    loc: list[str | int]
    msg: str
    type: str


class UnprocessableOut(BaseModel):
    """Invalid input: every problem (malformed data), or one refusal (a rule, e.g. a date too early)."""

    detail: str | list[ProblemItem]
    message: str | None = None


class UpdateOut(BaseModel):
    """One progress report, as stored (append-only)."""

    id: int
    reported_at: datetime
    reported_by: str
    source: str = Field(description="web, api, xlsx, poll, cli")
    status: str
    status_vi: str
    percent: int | None
    note: str | None
    document_number: str | None
    evidence_url: str | None


class AssignmentOut(BaseModel):
    """One assignment of the calling agency."""

    id: int
    notice_number: str
    notice_title: str
    directive_number: str
    directive_text: str
    agency_code: str
    agency_name: str
    role: Literal["lead", "support"]
    role_vi: str
    status: str
    status_vi: str
    percent: int
    due_date: date | None = Field(description="Hạn hiện hành (việc thường xuyên: hạn báo cáo kỳ tới).")
    due_explanation: str | None
    extended: bool
    category: str | None = Field(description="on_time, late, in_progress, overdue (null: đã thu hồi).")
    category_vi: str
    days_overdue: int
    pending_extension_until: date | None


class ReportIn(BaseModel):
    """A progress report. `done` sets the percent to 100."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "in_progress",
                    "percent": 60,
                    "note": "Đã hoàn thành dự thảo, đang lấy ý kiến.",
                    "document_number": "123/BC-HND",
                },
            ]
        },
    )

    status: Literal["acknowledged", "in_progress", "done"]
    percent: int | None = Field(default=None, ge=0, le=100)
    note: str | None = Field(default=None, max_length=NOTE_MAX)
    document_number: str | None = Field(default=None, max_length=DOCUMENT_NUMBER_MAX)
    evidence_url: str | None = Field(default=None, max_length=EVIDENCE_URL_MAX, pattern=r"^https?://\S+$")
    reported_by: str | None = Field(
        default=None, max_length=NAME_MAX, description="Họ tên người báo cáo (không bắt buộc)."
    )


class ExtensionIn(BaseModel):
    """An extension request: the proposed new deadline and why."""

    model_config = ConfigDict(extra="forbid")

    until: date
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    reported_by: str | None = Field(
        default=None, max_length=NAME_MAX, description="Họ tên người đề nghị (không bắt buộc)."
    )


class ExtensionOut(BaseModel):
    """A started review: a coordinator decides in the Prefect UI; the agency is told the outcome."""

    assignment_id: int
    until: date
    run_name: str
    message: str


def _errors(*codes: int) -> dict[int | str, dict]:
    """OpenAPI entries for the error responses an endpoint can give."""
    described = {
        400: "Không đọc được nội dung gửi lên (không phải văn bản UTF-8).",
        401: "Thiếu hoặc sai mã truy cập.",
        404: "Không có việc này (hoặc không phải việc của cơ quan).",
        409: "Trạng thái việc không cho phép thao tác này.",
        413: "Nội dung gửi lên quá lớn.",
        422: "Dữ liệu không hợp lệ.",
        429: "Vượt giới hạn số yêu cầu; xem Retry-After.",
        503: "Chức năng tạm thời chưa sẵn sàng.",
    }
    return {
        code: {"model": UnprocessableOut if code == 422 else ErrorOut, "description": described[code]} for code in codes
    }


def _state(request: Request) -> IntakeState:
    """The app's shared state."""
    return request.app.state.intake


def caller(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    """The agency behind the bearer token, within its rate limit."""
    state = _state(request)
    client = f"ip:{request.client.host if request.client else 'unknown'}"
    wait = state.failure_limiter.blocked(client)
    if wait:
        raise HTTPException(429, "Quá nhiều lần xác thực sai; thử lại sau.", {"Retry-After": retry_after(wait)})
    if credentials is None:
        state.failure_limiter.take(client)
        raise HTTPException(401, "Thiếu mã truy cập (Authorization: Bearer dd_…).", {"WWW-Authenticate": "Bearer"})
    found = authenticate(credentials.credentials, state.clock())
    if found is None:
        state.failure_limiter.take(client)
        raise HTTPException(401, "Mã truy cập không hợp lệ hoặc đã bị thu hồi.", {"WWW-Authenticate": "Bearer"})
    wait = state.api_limiter.take(f"token:{found.token_id}")
    if wait:
        raise HTTPException(
            429, "Vượt giới hạn số yêu cầu của mã truy cập; thử lại sau.", {"Retry-After": retry_after(wait)}
        )
    return found


Authorized = Annotated[Caller, Depends(caller)]


def _out(view: AssignmentView) -> AssignmentOut:
    """The API form of an assignment."""
    waiting = view.pending_extension
    return AssignmentOut(
        id=view.id,
        notice_number=view.notice_number,
        notice_title=view.notice_title,
        directive_number=view.directive_number,
        directive_text=view.directive_text,
        agency_code=view.agency_code,
        agency_name=view.agency_name,
        role=view.role,  # type: ignore[arg-type]
        role_vi=view.role_vi,
        status=view.status,
        status_vi=view.status_vi,
        percent=view.percent,
        due_date=view.due_date,
        due_explanation=view.due_explanation,
        extended=view.extended,
        category=view.category,
        category_vi=view.category_vi,
        days_overdue=view.days_overdue,
        pending_extension_until=date.fromisoformat(waiting["until"]) if waiting else None,
    )


def _update_out(entry: HistoryEntry) -> UpdateOut:
    """The API form of a progress report."""
    return UpdateOut(
        id=entry.id,
        reported_at=entry.reported_at,
        reported_by=entry.reported_by,
        source=entry.source,
        status=entry.status,
        status_vi=entry.status_vi,
        percent=entry.percent,
        note=entry.note,
        document_number=entry.document_number,
        evidence_url=entry.evidence_url,
    )


def _own(state: IntakeState, who: Caller, assignment_id: int, with_history: bool = False) -> AssignmentView:
    """The caller's assignment, or 404 (another agency's reads exactly like a missing one)."""
    view = assignment_view(assignment_id, state.clock(), with_history=with_history)
    if view is None or view.agency_id != who.agency_id:
        raise HTTPException(404, f"Không có việc số {assignment_id}.")
    return view


@router.get(
    "/assignments", response_model=list[AssignmentOut], responses=_errors(401, 429), summary="Các việc của cơ quan"
)
def list_assignments(request: Request, who: Authorized) -> list[AssignmentOut]:
    """Every assignment of the calling agency, with its deadline, status and timeliness category."""
    state = _state(request)
    views = [assignment_view(i, state.clock(), with_history=False) for i in agency_assignment_ids(who.agency_id)]
    return [_out(v) for v in views if v is not None]


@router.get(
    "/assignments/{assignment_id}",
    response_model=AssignmentOut,
    responses=_errors(401, 404, 422, 429),
    summary="Một việc của cơ quan",
)
def get_assignment(request: Request, who: Authorized, assignment_id: AssignmentId) -> AssignmentOut:
    """One assignment of the calling agency."""
    return _out(_own(_state(request), who, assignment_id))


@router.get(
    "/assignments/{assignment_id}/updates",
    response_model=list[UpdateOut],
    responses=_errors(401, 404, 422, 429),
    summary="Lịch sử báo cáo",
)
def list_updates(request: Request, who: Authorized, assignment_id: AssignmentId) -> list[UpdateOut]:
    """Every progress report of one assignment, newest first."""
    return [_update_out(e) for e in _own(_state(request), who, assignment_id, with_history=True).history]


@router.post(
    "/assignments/{assignment_id}/updates",
    response_model=UpdateOut,
    status_code=201,
    responses=_errors(400, 401, 404, 409, 413, 422, 429),
    summary="Báo cáo tiến độ",
)
def post_update(request: Request, who: Authorized, assignment_id: AssignmentId, report: ReportIn) -> UpdateOut:
    """Record a progress report for one of the agency's assignments (appended; earlier reports stay)."""
    state = _state(request)
    reporter = (
        f"{report.reported_by.strip()} – {who.agency_name}"
        if report.reported_by and report.reported_by.strip()
        else who.agency_name
    )
    try:
        result = record_status_update(
            assignment_id,
            status=report.status,
            percent=report.percent,
            note=report.note,
            document_number=report.document_number,
            evidence_url=report.evidence_url,
            reported_by=reporter,
            source="api",
            at=state.clock(),
            agency_id=who.agency_id,
        )
    except AssignmentNotFound:
        raise HTTPException(404, f"Không có việc số {assignment_id}.") from None
    except StatusConflict as exc:
        raise HTTPException(409, _capital(str(exc))) from None
    except StatusChangeRefused as exc:
        raise HTTPException(422, _capital(str(exc))) from None
    entry = next(e for e in _own(state, who, assignment_id, with_history=True).history if e.id == result.update_id)
    return _update_out(entry)


@router.post(
    "/assignments/{assignment_id}/extension-requests",
    response_model=ExtensionOut,
    status_code=202,
    responses=_errors(400, 401, 404, 409, 413, 422, 429, 503),
    summary="Đề nghị gia hạn",
)
def post_extension(request: Request, who: Authorized, assignment_id: AssignmentId, body: ExtensionIn) -> ExtensionOut:
    """Ask for a later deadline; a coordinator approves or rejects it, and the agency is told."""
    state = _state(request)
    reporter = (
        f"{body.reported_by.strip()} – {who.agency_name}"
        if body.reported_by and body.reported_by.strip()
        else who.agency_name
    )
    try:
        started = request_extension(
            assignment_id,
            until=body.until,
            reason=body.reason,
            requested_by=reporter,
            agency_id=who.agency_id,
            start=state.start_review,
        )
    except AssignmentNotFound:
        raise HTTPException(404, f"Không có việc số {assignment_id}.") from None
    except StatusConflict as exc:
        raise HTTPException(409, _capital(str(exc))) from None
    except StatusChangeRefused as exc:
        raise HTTPException(422, _capital(str(exc))) from None
    except ExtensionUnavailable as exc:
        raise HTTPException(503, _capital(str(exc))) from None
    return ExtensionOut(
        assignment_id=assignment_id,
        until=started.until,
        run_name=started.run_name,
        message="Đã gửi đề nghị gia hạn; Văn phòng sẽ xem xét và thông báo kết quả.",
    )


def _capital(message: str) -> str:
    """A refusal as a sentence."""
    return message[:1].upper() + message[1:]
