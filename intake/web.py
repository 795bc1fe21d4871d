"""The report page behind a signed link: the assignment, its history, and three forms (no JavaScript)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from intake import csrf
from intake.app import BodyTooLarge, IntakeState, error_page
from intake.links import LinkClaims, LinkRefused, verify_token
from intake.queries import AssignmentView, agency_by_code, assignment_view, links_revoked_before, local_time_vi
from intake.ratelimit import retry_after
from intake.settings import IntakeConfigError
from tasks.extensions import REASON_MAX, ExtensionUnavailable, request_extension
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
FORM_LIMITS = {"max_files": 0, "max_fields": 16, "max_part_size": 16_384}
FLASH = {
    "ack": "Đã ghi nhận: cơ quan đã tiếp nhận nhiệm vụ.",
    "already": "Nhiệm vụ đã được tiếp nhận từ trước; không cần xác nhận lại.",
    "progress": "Đã ghi nhận báo cáo tiến độ. Xin cảm ơn.",
    "done": "Đã ghi nhận: nhiệm vụ đã hoàn thành. Hệ thống sẽ dừng nhắc việc này.",
    "extension": "Đã gửi đề nghị gia hạn. Văn phòng sẽ xem xét và thông báo kết quả.",
}
PROGRESS_STATUSES = {"in_progress": "Đang thực hiện", "done": "Hoàn thành"}
_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


class PageProblem(Exception):
    """Stop a request with a Vietnamese error page."""

    def __init__(self, status: int, title: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.headers = status, title, message, headers


@dataclass
class Granted:
    """A verified link: its claims and the agency it speaks for."""

    token: str
    claims: LinkClaims
    agency_id: int
    agency_name: str


def _state(request: Request) -> IntakeState:
    """The app's shared state."""
    return request.app.state.intake


def client_key(request: Request) -> str:
    """Rate-limit key of the client address (the proxy's address when behind one: limit there too)."""
    return f"ip:{request.client.host if request.client else 'unknown'}"


def _authorize(state: IntakeState, token: str, client: str) -> Granted:
    """Verify a link (form, MAC, expiry, revocation, binding); count refusals per client."""
    wait = state.failure_limiter.blocked(client)
    if wait:
        raise PageProblem(
            429,
            "Quá nhiều lần thử",
            "Có quá nhiều liên kết không hợp lệ từ máy này. Đề nghị thử lại sau ít phút.",
            {"retry-after": retry_after(wait)},
        )
    try:
        keys = state.settings.keys()
    except IntakeConfigError:
        raise PageProblem(
            503, "Chưa sẵn sàng", "Hệ thống chưa sẵn sàng nhận báo cáo qua liên kết. Đề nghị liên hệ Văn phòng."
        ) from None
    now = state.clock()
    try:
        claims = verify_token(token, keys, now)
        agency = agency_by_code(claims.agency_code)
        if agency is None:
            raise LinkRefused("unknown")
        revoked_before = links_revoked_before(agency.id)  # type: ignore[arg-type]
        if revoked_before is not None and claims.issued_at < revoked_before:
            raise LinkRefused("revoked")
    except LinkRefused as refused:
        state.failure_limiter.take(client)
        status = 410 if refused.reason == "expired" else 403
        hint = " Đề nghị dùng liên kết trong tin nhắc việc mới nhất, hoặc liên hệ Văn phòng để nhận liên kết mới."
        raise PageProblem(status, "Không mở được liên kết", refused.message_vi + hint) from None
    wait = state.link_limiter.take(claims.rate_key)
    if wait:
        raise PageProblem(
            429,
            "Quá nhiều yêu cầu",
            "Liên kết này vừa được dùng quá nhiều lần. Đề nghị thử lại sau ít phút.",
            {"retry-after": retry_after(wait)},
        )
    return Granted(token, claims, agency.id, agency.short_name or agency.name)  # type: ignore[arg-type]


def _view(state: IntakeState, granted: Granted) -> AssignmentView:
    """The assignment the link is bound to; a link whose assignment moved to another agency is refused."""
    view = assignment_view(granted.claims.assignment_id, state.clock())
    if view is None or view.agency_id != granted.agency_id:
        raise PageProblem(403, "Không mở được liên kết", LinkRefused.MESSAGES["unknown"])
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
        sender_name=state.extra["sender_name"],
        contact=state.extra["report_contact"],
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
            samesite="lax",
            secure=secure,
        )
    return response


def _nonce(request: Request) -> str:
    """This browser's CSRF cookie, or a new one."""
    current = request.cookies.get(csrf.COOKIE_NAME)
    return current if csrf.valid_nonce(current) else csrf.new_nonce()


def _problem_page(state: IntakeState, request: Request, problem: PageProblem) -> HTMLResponse:
    """Turn a PageProblem into its page."""
    return error_page(state, request, problem.status, problem.title, problem.message, problem.headers)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """A plain landing page: nothing here without a link."""
    state = _state(request)
    html = state.templates.get_template("home.html.j2").render(
        root=request.scope.get("root_path", ""),
        sender_name=state.extra["sender_name"],
        contact=state.extra["report_contact"],
    )
    return HTMLResponse(html)


@router.get("/healthz")
def healthz() -> JSONResponse:
    """Liveness for a load balancer."""
    return JSONResponse({"status": "ok"})


@router.get("/r/{token}", response_class=HTMLResponse)
def report_page(token: str, request: Request, ok: str | None = None) -> Response:
    """The assignment, its deadline, category and history, and the forms."""
    state = _state(request)
    try:
        granted = _authorize(state, token, client_key(request))
        view = _view(state, granted)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _render(state, request, granted, view, nonce=_nonce(request), flash=FLASH.get(ok or ""))


async def _form(request: Request) -> FormData:
    """Read the posted form within the field and size limits."""
    try:
        return await request.form(**FORM_LIMITS)
    except BodyTooLarge:
        raise
    except Exception:  # noqa: BLE001  (multipart and urlencoded parsers raise several types)
        raise PageProblem(
            400, "Dữ liệu gửi lên không hợp lệ", "Không đọc được biểu mẫu gửi lên. Đề nghị tải lại trang và gửi lại."
        ) from None


def _text(form: FormData, name: str) -> str:
    """A text field, stripped ("" when absent or a file)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _post_context(request: Request, token: str) -> tuple[IntakeState, Granted, FormData, str]:
    """Common to every form: verify the link, read the form, check CSRF."""
    state = _state(request)
    granted = await run_in_threadpool(_authorize, state, token, client_key(request))
    form = await _form(request)
    nonce = request.cookies.get(csrf.COOKIE_NAME)
    if not csrf.check(state.settings.keys(), nonce, token, _text(form, csrf.FIELD_NAME) or None, state.clock()):
        raise PageProblem(
            403,
            "Phiên làm việc không hợp lệ",
            "Biểu mẫu đã hết hạn hoặc không được gửi từ trang báo cáo. Đề nghị mở lại liên kết, điền và gửi lại.",
        )
    return state, granted, form, nonce  # type: ignore[return-value]


def _reporter(form: FormData, granted: Granted, errors: dict[str, str]) -> str:
    """Who reports: the name typed in (optional) and the agency the link speaks for."""
    name = _text(form, "reporter")
    if len(name) > NAME_MAX:
        errors["reporter"] = f"Họ tên dài quá {NAME_MAX} ký tự."
    return f"{name} – {granted.agency_name}" if name else granted.agency_name


def _redirect(request: Request, token: str, flash: str) -> RedirectResponse:
    """Post/redirect/get: a reload does not post twice."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/r/{token}?ok={flash}", status_code=303)


async def _rerender(
    request: Request,
    state: IntakeState,
    granted: Granted,
    nonce: str,
    status: int,
    errors: dict[str, str],
    values: dict[str, str],
) -> HTMLResponse:
    """Show the page again with the problems and what was typed."""
    view = await run_in_threadpool(_view, state, granted)
    return _render(state, request, granted, view, nonce=nonce, status=status, errors=errors, values=values)


@router.post("/r/{token}/acknowledge", response_class=HTMLResponse)
async def acknowledge(token: str, request: Request) -> Response:
    """The agency confirms it received the assignment (đã tiếp nhận)."""
    state = _state(request)
    try:
        state, granted, form, nonce = await _post_context(request, token)
        errors: dict[str, str] = {}
        reporter = _reporter(form, granted, errors)
        if errors:
            return await _rerender(request, state, granted, nonce, 422, errors, {"reporter": _text(form, "reporter")})
        view = await run_in_threadpool(_view, state, granted)
        if view.status != "assigned":
            return _redirect(request, token, "already")
        await run_in_threadpool(
            lambda: record_status_update(
                view.id,
                status="acknowledged",
                reported_by=reporter,
                source="web",
                at=state.clock(),
                agency_id=granted.agency_id,
            )
        )
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    except AssignmentNotFound:
        return _problem_page(
            state, request, PageProblem(403, "Không mở được liên kết", LinkRefused.MESSAGES["unknown"])
        )
    except StatusChangeRefused as exc:
        return _problem_page(state, request, PageProblem(409, "Không ghi nhận được", _sentence(str(exc))))
    return _redirect(request, token, "ack")


def _percent(raw: str, errors: dict[str, str]) -> int | None:
    """The percent field: empty, or a whole number 0–100 (a trailing % is fine)."""
    raw = raw.removesuffix("%").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 100:
        errors["percent"] = "Tỷ lệ hoàn thành phải là số nguyên từ 0 đến 100."
        return None
    return int(raw)


def _sentence(message: str) -> str:
    """A refusal message as a sentence."""
    message = message.strip()
    return (message[:1].upper() + message[1:]).rstrip(".") + "."


@router.post("/r/{token}/progress", response_class=HTMLResponse)
async def progress(token: str, request: Request) -> Response:
    """A progress report: status (in progress or done), percent, note, document number, evidence link."""
    state = _state(request)
    try:
        state, granted, form, nonce = await _post_context(request, token)
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
        if len(values["document_number"]) > DOCUMENT_NUMBER_MAX:
            errors["document_number"] = f"Số văn bản dài quá {DOCUMENT_NUMBER_MAX} ký tự."
        url = values["evidence_url"]
        if url and (len(url) > EVIDENCE_URL_MAX or not url.lower().startswith(("http://", "https://"))):
            errors["evidence_url"] = "Liên kết minh chứng phải là địa chỉ web bắt đầu bằng http:// hoặc https://."
        if errors:
            return await _rerender(request, state, granted, nonce, 422, errors, values)
        try:
            await run_in_threadpool(
                lambda: record_status_update(
                    granted.claims.assignment_id,
                    status=status,
                    percent=percent,
                    note=values["note"] or None,
                    document_number=values["document_number"] or None,
                    evidence_url=url or None,
                    reported_by=reporter,
                    source="web",
                    at=state.clock(),
                    agency_id=granted.agency_id,
                )
            )
        except AssignmentNotFound:
            raise PageProblem(403, "Không mở được liên kết", LinkRefused.MESSAGES["unknown"]) from None
        except StatusChangeRefused as exc:
            return await _rerender(request, state, granted, nonce, 422, {"form": _sentence(str(exc))}, values)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _redirect(request, token, "done" if status == "done" else "progress")


def parse_day(raw: str) -> date | None:
    """A date typed as YYYY-MM-DD (the date picker) or dd/mm/yyyy (by hand); None if neither."""
    raw = raw.strip()
    found = _DMY.match(raw)
    try:
        if found:
            return date(int(found[3]), int(found[2]), int(found[1]))
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


@router.post("/r/{token}/extension", response_class=HTMLResponse)
async def extension(token: str, request: Request) -> Response:
    """An extension request: a proposed date and a reason; starts the review flow in Prefect."""
    state = _state(request)
    try:
        state, granted, form, nonce = await _post_context(request, token)
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
        if errors:
            return await _rerender(request, state, granted, nonce, 422, errors, values)
        try:
            await run_in_threadpool(
                lambda: request_extension(
                    granted.claims.assignment_id,
                    until=until,
                    reason=values["reason"],
                    requested_by=reporter,  # type: ignore[arg-type]
                    agency_id=granted.agency_id,
                    start=state.start_review,
                )
            )
        except AssignmentNotFound:
            raise PageProblem(403, "Không mở được liên kết", LinkRefused.MESSAGES["unknown"]) from None
        except StatusChangeRefused as exc:
            return await _rerender(request, state, granted, nonce, 422, {"extension": _sentence(str(exc))}, values)
        except ExtensionUnavailable as exc:
            return await _rerender(request, state, granted, nonce, 503, {"extension": _sentence(str(exc))}, values)
    except PageProblem as problem:
        return _problem_page(state, request, problem)
    return _redirect(request, token, "extension")
