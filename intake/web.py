"""The report page behind a signed link: the assignment, its history, and three forms (no JavaScript)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlmodel import Session

from config.intake import IntakeConfigError
from domain.safe_text import has_line_break, nfc
from domain.signed_links import LinkClaims, LinkRefused, verify_token
from intake import csrf
from intake.deps import IntakeState, SessionDep, StateDep, error_page, refuse_credentials
from intake.queries import AssignmentView, agency_by_code, assignment_view, latest_update, local_time_vi
from intake.ratelimit import retry_after
from models import Assignment
from tasks.directive_state import read_directive_state
from tasks.extensions import REASON_MAX, ExtensionUnavailable, request_extension
from tasks.report_links import links_revoked_before
from tasks.status_events import RecordedUpdate
from tasks.status_recording import (
    DOCUMENT_NUMBER_MAX,
    EVIDENCE_URL_MAX,
    NOTE_MAX,
    AssignmentNotFound,
    StatusChangeRefused,
    record_status_update,
)

router = APIRouter(include_in_schema=False)

NAME_MAX = 100
MAX_FIELDS = 16
FORM_TYPE = "application/x-www-form-urlencoded"
FLASH = {
    "ack": "Đã ghi nhận: cơ quan đã tiếp nhận nhiệm vụ.",
    "already": "Nhiệm vụ đã được tiếp nhận từ trước; không cần xác nhận lại.",
    "progress": "Đã ghi nhận báo cáo tiến độ. Xin cảm ơn.",
    "done": "Đã ghi nhận: nhiệm vụ đã hoàn thành. Hệ thống sẽ dừng nhắc việc này.",
    "repeat": "Báo cáo này đã được ghi nhận trước đó; không ghi thêm lần nữa.",
    "extension": "Đã gửi đề nghị gia hạn. Văn phòng sẽ xem xét và thông báo kết quả.",
}
PROGRESS_STATUSES = {"in_progress": "Đang thực hiện", "done": "Hoàn thành"}
# A form page's CSRF field is good for this long, so the same report posted again within it is a replay.
REPLAY_WINDOW: timedelta = csrf.MAX_AGE
_DMY = re.compile(r"^\s*([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})\s*$")
_PERCENT = re.compile(r"^[0-9]{1,3}$")
Form = dict[str, str]


class PageProblem(Exception):
    """Stop a request with a Vietnamese error page."""

    def __init__(self, status: int, title: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.headers = status, title, message, headers


@dataclass
class Granted:
    """A verified link: its claims, the agency it speaks for, and its assignment's directive."""

    token: str
    claims: LinkClaims
    agency_id: int
    agency_name: str
    directive_id: int


REFUSED_LINK = PageProblem(403, "Không mở được liên kết", LinkRefused.MESSAGES["unknown"])


def _check_link(state: IntakeState, token: str, session: Session) -> Granted:
    """Verify a link: form, MAC, issue time, expiry, revocation, and that the assignment is the agency's."""
    try:
        keys = state.settings.keys()
    except IntakeConfigError:
        raise PageProblem(
            503, "Chưa sẵn sàng", "Hệ thống chưa sẵn sàng nhận báo cáo qua liên kết. Đề nghị liên hệ Văn phòng."
        ) from None
    claims = verify_token(
        token,
        keys,
        state.clock(),
        max_lifetime=timedelta(days=state.settings.intake_link_days),
        clock_skew=timedelta(seconds=state.settings.intake_clock_skew_seconds),
    )
    agency = agency_by_code(claims.agency_code, session=session)
    if agency is None or agency.id is None:
        raise LinkRefused("unknown")
    revoked_before = links_revoked_before(agency.id, session=session)
    if revoked_before is not None and claims.issued_at < revoked_before:
        raise LinkRefused("revoked")
    assignment = session.get(Assignment, claims.assignment_id)
    if assignment is None or assignment.agency_id != agency.id:
        raise LinkRefused("unknown")  # a link whose assignment moved to another agency
    return Granted(token, claims, agency.id, agency.short_name or agency.name, assignment.directive_id)


def authorize(state: IntakeState, request: Request, token: str, session: Session) -> Granted:
    """A verified link within its rate limit; refusals count against the client address (never a good link)."""
    try:
        granted = _check_link(state, token, session)
    except LinkRefused as refused:
        wait = refuse_credentials(state, request)
        if wait:
            raise PageProblem(
                429,
                "Quá nhiều lần thử",
                "Có quá nhiều liên kết không hợp lệ từ máy này. Đề nghị thử lại sau ít phút.",
                {"retry-after": retry_after(wait)},
            ) from None
        status = 410 if refused.reason == "expired" else 403
        hint = " Đề nghị dùng liên kết trong tin nhắc việc mới nhất, hoặc liên hệ Văn phòng để nhận liên kết mới."
        raise PageProblem(status, "Không mở được liên kết", refused.message_vi + hint) from None
    finally:
        # End the read: read_directive_state (its own session) must not wait for this one's SQLite lock.
        session.commit()
    wait = state.link_limiter.take(granted.claims.rate_key)
    if wait:
        raise PageProblem(
            429,
            "Quá nhiều yêu cầu",
            "Liên kết này vừa được dùng quá nhiều lần. Đề nghị thử lại sau ít phút.",
            {"retry-after": retry_after(wait)},
        )
    return granted


def _view(state: IntakeState, granted: Granted, session: Session) -> AssignmentView:
    """The assignment the link is bound to, as its agency sees it now.

    The directive's follow-up state is read on this request's session, with the follow-up's rules.
    """
    now = state.clock()
    followed = read_directive_state(granted.directive_id, now, session=session, rules=state.rules)
    view = assignment_view(followed, granted.claims.assignment_id, now, calendar=state.calendar, session=session)
    if view.agency_id != granted.agency_id:
        raise REFUSED_LINK
    return view


def _render(
    state: IntakeState,
    request: Request,
    granted: Granted,
    view: AssignmentView,
    *,
    nonce: str,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    """The page, with a CSRF field bound to this browser's cookie and this link."""
    key = state.settings.keys()[0]
    html = state.templates.get_template("page.html.j2").render(
        v=view,
        token=granted.token,
        root=request.scope.get("root_path", ""),
        csrf_field=csrf.FIELD_NAME,
        csrf_token=csrf.form_token(key, nonce, granted.token, state.clock()),
        errors=errors or {},
        values=values or {},
        flash=flash,
        statuses=PROGRESS_STATUSES,
        expires_vi=local_time_vi(granted.claims.expires_at),
        sender_name=state.sender_name,
        contact=state.report_contact,
        limits={
            "note": NOTE_MAX,
            "doc": DOCUMENT_NUMBER_MAX,
            "url": EVIDENCE_URL_MAX,
            "reason": REASON_MAX,
            "name": NAME_MAX,
        },
        today=state.clock().date().isoformat(),
    )
    response = HTMLResponse(html, status_code=status)
    if request.cookies.get(csrf.COOKIE_NAME) != nonce:
        secure = (state.settings.public_url or "").startswith("https://")
        response.set_cookie(
            csrf.COOKIE_NAME,
            nonce,
            max_age=int(csrf.MAX_AGE.total_seconds()),
            path="/r/",
            httponly=True,
            samesite=csrf.SAME_SITE,
            secure=secure,
        )
    return response


def _nonce(request: Request) -> str:
    """This browser's CSRF cookie, or a new one."""
    current = request.cookies.get(csrf.COOKIE_NAME)
    return current if current and csrf.valid_nonce(current) else csrf.new_nonce()


def _problem_page(state: IntakeState, request: Request, problem: PageProblem) -> HTMLResponse:
    """Turn a PageProblem into its page."""
    return error_page(state, request, problem.status, problem.title, problem.message, problem.headers)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, state: StateDep) -> HTMLResponse:
    """A plain landing page: nothing here without a link."""
    html = state.templates.get_template("home.html.j2").render(
        root=request.scope.get("root_path", ""),
        sender_name=state.sender_name,
        contact=state.report_contact,
    )
    return HTMLResponse(html)


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Liveness for a load balancer."""
    return JSONResponse({"status": "ok"})


@router.get("/r/{token}", response_class=HTMLResponse)
def report_page(token: str, request: Request, state: StateDep, session: SessionDep, ok: str | None = None) -> Response:
    """The assignment, its deadline, category and history, and the forms."""
    try:
        granted = authorize(state, request, token, session)
        view = _view(state, granted, session)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _render(state, request, granted, view, nonce=_nonce(request), flash=FLASH.get(ok or ""))


BAD_FORM = PageProblem(
    400, "Dữ liệu gửi lên không hợp lệ", "Không đọc được biểu mẫu gửi lên. Đề nghị tải lại trang và gửi lại."
)


async def _form(request: Request) -> Form:
    """Read the posted form: URL-encoded UTF-8 only, within the field and size limits.

    Starlette would decode bytes that are not UTF-8 with replacement characters and store
    mojibake; a form from the page is always URL-encoded UTF-8, so anything else is refused.
    """
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media_type.strip().lower() != FORM_TYPE or charset not in ("utf-8", "utf8"):
        raise PageProblem(
            415,
            "Dữ liệu gửi lên không hợp lệ",
            "Biểu mẫu phải được gửi từ trang báo cáo (dạng mã hóa UTF-8). Đề nghị tải lại trang và gửi lại.",
        )
    body = await request.body()  # BodyTooLarge propagates: the 413 middleware answers it
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS
        )
    except UnicodeDecodeError:
        raise PageProblem(
            400,
            "Dữ liệu gửi lên không hợp lệ",
            "Nội dung gửi lên không phải văn bản UTF-8 hợp lệ, nên chưa được ghi nhận. Đề nghị tải lại trang và gửi lại.",
        ) from None
    except ValueError:  # more fields than any form of the page has
        raise BAD_FORM from None
    form: Form = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _text(form: Form, name: str) -> str:
    """A text field in NFC, stripped ("" when absent)."""
    return nfc(form.get(name, "")).strip()


async def _post_context(
    request: Request, token: str, state: IntakeState, session: Session
) -> tuple[Granted, Form, str]:
    """Common to every form: verify the link, read the form, check CSRF."""
    granted = await run_in_threadpool(authorize, state, request, token, session)
    form = await _form(request)
    nonce = request.cookies.get(csrf.COOKIE_NAME)
    if not nonce or not csrf.check(
        state.settings.keys(), nonce, token, _text(form, csrf.FIELD_NAME) or None, state.clock()
    ):
        raise PageProblem(
            403,
            "Phiên làm việc không hợp lệ",
            "Biểu mẫu đã hết hạn hoặc không được gửi từ trang báo cáo. Đề nghị mở lại liên kết, điền và gửi lại.",
        )
    return granted, form, nonce


def _one_line(form: Form, name: str, label: str, limit: int, errors: dict[str, str]) -> str:
    """A one-line field: no line break, at most limit characters."""
    value = _text(form, name)
    if has_line_break(value):
        errors[name] = f"{label} chỉ được viết trên một dòng (không xuống dòng)."
    elif len(value) > limit:
        errors[name] = f"{label} dài quá {limit} ký tự."
    return value


def _reporter(form: Form, granted: Granted, errors: dict[str, str]) -> str:
    """Who reports: the name typed in (optional) and the agency the link speaks for."""
    name = _one_line(form, "reporter", "Họ tên", NAME_MAX, errors)
    return f"{name} – {granted.agency_name}" if name else granted.agency_name


def _redirect(request: Request, token: str, flash: str) -> RedirectResponse:
    """Post/redirect/get: a reload does not post twice."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/r/{token}?ok={flash}", status_code=303)


async def _rerender(
    request: Request,
    state: IntakeState,
    session: Session,
    granted: Granted,
    nonce: str,
    status: int,
    errors: dict[str, str],
    values: dict[str, str],
) -> HTMLResponse:
    """Show the page again with the problems and what was typed; nothing of the refused form is kept."""
    session.rollback()  # ends any write transaction: nothing was recorded, and _view reads beside it
    view = await run_in_threadpool(_view, state, granted, session)
    return _render(state, request, granted, view, nonce=nonce, status=status, errors=errors, values=values)


def _commit_and_announce(session: Session, result: RecordedUpdate) -> None:
    """Commit the report before the official is told it is recorded; its event goes out on commit."""
    session.commit()


def _acknowledge(state: IntakeState, session: Session, granted: Granted, reporter: str) -> str:
    """Record the acknowledgement unless the assignment is past that already; the flash to show."""
    assignment = session.get(Assignment, granted.claims.assignment_id, with_for_update=True)
    if assignment is None:
        raise AssignmentNotFound(str(granted.claims.assignment_id))
    if assignment.status != "assigned":
        return "already"
    result = record_status_update(
        granted.claims.assignment_id,
        session=session,
        status="acknowledged",
        reported_by=reporter,
        source="web",
        at=state.clock(),
        agency_id=granted.agency_id,
    )
    _commit_and_announce(session, result)
    return "ack"


@router.post("/r/{token}/acknowledge", response_class=HTMLResponse)
async def acknowledge(token: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    """The agency confirms it received the assignment (đã tiếp nhận)."""
    try:
        granted, form, nonce = await _post_context(request, token, state, session)
        errors: dict[str, str] = {}
        reporter = _reporter(form, granted, errors)
        if errors:
            values = {"reporter": _text(form, "reporter")}
            return await _rerender(request, state, session, granted, nonce, 422, errors, values)
        flash = await run_in_threadpool(_acknowledge, state, session, granted, reporter)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    except AssignmentNotFound:
        return _problem_page(state, request, REFUSED_LINK)
    except StatusChangeRefused as exc:
        return _problem_page(state, request, PageProblem(409, "Không ghi nhận được", _sentence(str(exc))))
    return _redirect(request, token, flash)


def _percent(raw: str, errors: dict[str, str]) -> int | None:
    """The percent field: empty, or a whole number 0–100 in ASCII digits (a trailing % is fine)."""
    raw = raw.removesuffix("%").strip()
    if not raw:
        return None
    if not _PERCENT.match(raw) or not 0 <= int(raw) <= 100:
        errors["percent"] = "Tỷ lệ hoàn thành phải là số nguyên từ 0 đến 100."
        return None
    return int(raw)


def _sentence(message: str) -> str:
    """A refusal message as a sentence."""
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


@dataclass(frozen=True)
class ProgressReport:
    """A checked progress form."""

    status: str
    percent: int | None
    note: str | None
    document_number: str | None
    evidence_url: str | None
    reported_by: str


def _is_replay(report: ProgressReport, assignment_id: int, state: IntakeState, session: Session) -> bool:
    """The latest report is this same web report, made within a form's lifetime: a resubmitted or replayed form."""
    last = latest_update(assignment_id, session=session)
    if last is None or last.source != "web" or state.clock() - last.reported_at > REPLAY_WINDOW:
        return False
    percent = 100 if report.status == "done" else report.percent
    return (last.status, last.percent, last.note, last.document_number, last.evidence_url, last.reported_by) == (
        report.status,
        percent,
        report.note,
        report.document_number,
        report.evidence_url,
        report.reported_by,
    )


def _record_progress(state: IntakeState, session: Session, granted: Granted, report: ProgressReport) -> str:
    """Record the report unless it repeats the latest one (checked under the row lock); the flash to show."""
    aid = granted.claims.assignment_id
    if session.get(Assignment, aid, with_for_update=True) is None:  # serialises concurrent replays
        raise AssignmentNotFound(str(aid))
    if _is_replay(report, aid, state, session):
        return "repeat"
    result = record_status_update(
        aid,
        session=session,
        status=report.status,
        percent=report.percent,
        note=report.note,
        document_number=report.document_number,
        evidence_url=report.evidence_url,
        reported_by=report.reported_by,
        source="web",
        at=state.clock(),
        agency_id=granted.agency_id,
    )
    _commit_and_announce(session, result)
    return "done" if report.status == "done" else "progress"


@router.post("/r/{token}/progress", response_class=HTMLResponse)
async def progress(token: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    """A progress report: status (in progress or done), percent, note, document number, evidence link."""
    try:
        granted, form, nonce = await _post_context(request, token, state, session)
        errors: dict[str, str] = {}
        values = {
            name: _text(form, name)
            for name in ("status", "percent", "note", "document_number", "evidence_url", "reporter")
        }
        reporter = _reporter(form, granted, errors)
        status = values["status"]
        if status not in PROGRESS_STATUSES:
            errors["status"] = "Chọn trạng thái: Đang thực hiện hoặc Hoàn thành."
        percent = _percent(values["percent"], errors)
        if len(values["note"]) > NOTE_MAX:
            errors["note"] = f"Nội dung dài quá {NOTE_MAX} ký tự ({len(values['note'])} ký tự)."
        _one_line(form, "document_number", "Số văn bản", DOCUMENT_NUMBER_MAX, errors)
        url = values["evidence_url"]
        if url and (len(url) > EVIDENCE_URL_MAX or not url.lower().startswith(("http://", "https://"))):
            errors["evidence_url"] = "Liên kết minh chứng phải là địa chỉ web bắt đầu bằng http:// hoặc https://."
        if errors:
            return await _rerender(request, state, session, granted, nonce, 422, errors, values)
        report = ProgressReport(
            status, percent, values["note"] or None, values["document_number"] or None, url or None, reporter
        )
        try:
            flash = await run_in_threadpool(_record_progress, state, session, granted, report)
        except AssignmentNotFound:
            raise REFUSED_LINK from None
        except StatusChangeRefused as exc:
            return await _rerender(request, state, session, granted, nonce, 422, {"form": _sentence(str(exc))}, values)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _redirect(request, token, flash)


def parse_day(raw: str) -> date | None:
    """A date typed as YYYY-MM-DD (the date picker) or dd/mm/yyyy (by hand), ASCII digits; None if neither."""
    raw = raw.strip()
    found = _DMY.match(raw)
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        return date.fromisoformat(raw) if len(raw) == 10 and raw.isascii() else None
    except ValueError:
        return None


@router.post("/r/{token}/extension", response_class=HTMLResponse)
async def extension(token: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    """An extension request: a proposed date and a reason; starts the review flow in Prefect."""
    try:
        granted, form, nonce = await _post_context(request, token, state, session)
        errors: dict[str, str] = {}
        values = {name: _text(form, name) for name in ("until", "reason", "reporter")}
        reporter = _reporter(form, granted, errors)
        until = parse_day(values["until"])
        if until is None:
            errors["until"] = "Ngày đề nghị không hợp lệ (ví dụ: 14/10/2022)."
        if not values["reason"]:
            errors["reason"] = "Cần nêu lý do đề nghị gia hạn."
        elif len(values["reason"]) > REASON_MAX:
            errors["reason"] = f"Lý do dài quá {REASON_MAX} ký tự."
        if errors or until is None:
            return await _rerender(request, state, session, granted, nonce, 422, errors, values)
        try:
            # request_extension commits this session itself: once the request is pending, then with its run.
            await run_in_threadpool(
                lambda: request_extension(
                    granted.claims.assignment_id,
                    session=session,
                    until=until,
                    reason=values["reason"],
                    requested_by=reporter,
                    agency_id=granted.agency_id,
                    start=state.start_review,
                )
            )
        except AssignmentNotFound:
            raise REFUSED_LINK from None
        except StatusChangeRefused as exc:
            return await _rerender(
                request, state, session, granted, nonce, 422, {"extension": _sentence(str(exc))}, values
            )
        except ExtensionUnavailable as exc:
            return await _rerender(
                request, state, session, granted, nonce, 503, {"extension": _sentence(str(exc))}, values
            )
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _redirect(request, token, "extension")
