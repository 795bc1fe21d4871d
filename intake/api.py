"""The agency API: JSON, one token per agency, each agency sees and reports only its own assignments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from domain.labels import STATUS_VI
from domain.safe_text import has_line_break, nfc
from intake.deps import CallerDep, IntakeState, SessionDep, StateDep
from intake.queries import AssignmentView, agency_assignment_ids, assignment_view, directive_state, updates_of
from intake.tokens import Caller
from models import StatusUpdate
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

AssignmentId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Mã việc.")]
NAME_MAX = 100


def _one_line(value: str | None) -> str | None:
    """NFC, and no line break: a document number or a name is one line."""
    if value is None:
        return None
    if has_line_break(value):
        raise PydanticCustomError("one_line", "must be one line")
    return nfc(value)


def _nfc(value: str | None) -> str | None:
    """Free text in NFC, the form dondoc stores and compares."""
    return nfc(value) if value is not None else None


def _date_text(value: object) -> object:
    """A date in JSON is an ISO string: a number is not a date (pydantic would read it as a timestamp)."""
    if not isinstance(value, str | date):
        raise PydanticCustomError("date_type", "must be an ISO date string")
    return value


# Strict types where pydantic would coerce: `true` is not 1, "50" is not 50, 1665705600 is not a date.
OneLine = Annotated[str | None, AfterValidator(_one_line)]
IsoDate = Annotated[date, BeforeValidator(_date_text)]
FreeText = Annotated[str | None, AfterValidator(_nfc)]


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
    percent: StrictInt | None = Field(default=None, ge=0, le=100)
    note: FreeText = Field(default=None, max_length=NOTE_MAX)
    document_number: OneLine = Field(default=None, max_length=DOCUMENT_NUMBER_MAX)
    evidence_url: str | None = Field(default=None, max_length=EVIDENCE_URL_MAX, pattern=r"^https?://\S+$")
    reported_by: OneLine = Field(
        default=None, max_length=NAME_MAX, description="Họ tên người báo cáo (không bắt buộc)."
    )


class ExtensionIn(BaseModel):
    """An extension request: the proposed new deadline and why."""

    model_config = ConfigDict(extra="forbid")

    until: IsoDate
    reason: str = Field(min_length=1, max_length=REASON_MAX)
    reported_by: OneLine = Field(
        default=None, max_length=NAME_MAX, description="Họ tên người đề nghị (không bắt buộc)."
    )


class ExtensionOut(BaseModel):
    """A started review: a coordinator decides in the Prefect UI; the agency is told the outcome."""

    assignment_id: int
    until: date
    run_name: str
    message: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
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
        role=view.role,  # type: ignore[arg-type]  # a CHECK constraint keeps role to the Literal's values
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


def _update_out(row: StatusUpdate) -> UpdateOut:
    """The API form of a progress report."""
    return UpdateOut(
        id=row.id,  # type: ignore[arg-type]  # stored: id set
        reported_at=row.reported_at,
        reported_by=row.reported_by,
        source=row.source,
        status=row.status,
        status_vi=STATUS_VI.get(row.status, row.status),
        percent=row.percent,
        note=row.note,
        document_number=row.document_number,
        evidence_url=row.evidence_url,
    )


def _own(
    state: IntakeState, who: Caller, assignment_id: int, session: Session, with_history: bool = False
) -> AssignmentView:
    """The caller's assignment, or 404 (another agency's reads exactly like a missing one)."""
    now = state.clock()
    followed = directive_state(assignment_id, now, session=session, rules=state.rules)
    view = (
        assignment_view(
            followed, assignment_id, now, calendar=state.calendar, session=session, with_history=with_history
        )
        if followed
        else None
    )
    if view is None or view.agency_id != who.agency_id:
        raise HTTPException(404, f"Không có việc số {assignment_id}.")
    return view


def _reporter(name: str | None, who: Caller) -> str:
    """Who reports: the name given (optional) and the agency the token speaks for."""
    return f"{name.strip()} – {who.agency_name}" if name and name.strip() else who.agency_name


@router.get(
    "/assignments", response_model=list[AssignmentOut], responses=_errors(401, 429), summary="Các việc của cơ quan"
)
def list_assignments(state: StateDep, session: SessionDep, who: CallerDep) -> list[AssignmentOut]:
    """Every assignment of the calling agency, with its deadline, status and timeliness category."""
    return [_out(_own(state, who, i, session)) for i in agency_assignment_ids(who.agency_id, session=session)]


@router.get(
    "/assignments/{assignment_id}",
    response_model=AssignmentOut,
    responses=_errors(401, 404, 422, 429),
    summary="Một việc của cơ quan",
)
def get_assignment(state: StateDep, session: SessionDep, who: CallerDep, assignment_id: AssignmentId) -> AssignmentOut:
    """One assignment of the calling agency."""
    return _out(_own(state, who, assignment_id, session))


@router.get(
    "/assignments/{assignment_id}/updates",
    response_model=list[UpdateOut],
    responses=_errors(401, 404, 422, 429),
    summary="Lịch sử báo cáo",
)
def list_updates(state: StateDep, session: SessionDep, who: CallerDep, assignment_id: AssignmentId) -> list[UpdateOut]:
    """Every progress report of one assignment, newest first."""
    _own(state, who, assignment_id, session)
    return [_update_out(row) for row in updates_of(assignment_id, session=session)]


@router.post(
    "/assignments/{assignment_id}/updates",
    response_model=UpdateOut,
    status_code=201,
    responses=_errors(400, 401, 404, 409, 413, 422, 429),
    summary="Báo cáo tiến độ",
)
def post_update(
    state: StateDep, session: SessionDep, who: CallerDep, assignment_id: AssignmentId, report: ReportIn
) -> UpdateOut:
    """Record a progress report for one of the agency's assignments (appended; earlier reports stay)."""
    try:
        result = record_status_update(
            assignment_id,
            session=session,
            status=report.status,
            percent=report.percent,
            note=report.note,
            document_number=report.document_number,
            evidence_url=report.evidence_url,
            reported_by=_reporter(report.reported_by, who),
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
    row = session.get(StatusUpdate, result.update_id)
    assert row is not None
    answer = _update_out(row)
    session.commit()  # recorded before it is announced and answered
    return answer


@router.post(
    "/assignments/{assignment_id}/extension-requests",
    response_model=ExtensionOut,
    status_code=202,
    responses=_errors(400, 401, 404, 409, 413, 422, 429, 503),
    summary="Đề nghị gia hạn",
)
def post_extension(
    state: StateDep, session: SessionDep, who: CallerDep, assignment_id: AssignmentId, body: ExtensionIn
) -> ExtensionOut:
    """Ask for a later deadline; a coordinator approves or rejects it, and the agency is told."""
    try:
        started = request_extension(
            assignment_id,
            session=session,
            until=body.until,
            reason=nfc(body.reason),
            requested_by=_reporter(body.reported_by, who),
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
