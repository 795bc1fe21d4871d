"""The intake web application: the report page behind signed links, and the agency JSON API.

`create_app()` builds it; `intake.server` runs it with uvicorn (alone, or beside `dondoc serve`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.workdays import format_date_vi
from intake.ratelimit import RateLimiter
from intake.settings import IntakeSettings, get_intake_settings
from tasks.extensions import StartReview

PACKAGE_DIR = Path(__file__).resolve().parent
API_PREFIX = "/api"

# Pydantic error types an agency's developer will meet, in Vietnamese.
VALIDATION_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "json_type": "nội dung phải là JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "string_type": "phải là chuỗi ký tự",
    "string_too_long": "dài quá mức cho phép",
    "string_too_short": "không được để trống",
    "string_pattern_mismatch": "không đúng định dạng",
    "greater_than_equal": "giá trị quá nhỏ",
    "less_than_equal": "giá trị quá lớn",
    "literal_error": "giá trị không hợp lệ",
    "enum": "giá trị không hợp lệ",
    "date_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_from_datetime_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_type": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "bool_parsing": "phải là true hoặc false",
}

SECURITY_HEADERS = {
    # No script at all; forms post only to this site; never framed; tokens never leak as a Referer.
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@dataclass
class IntakeState:
    """What every request handler shares: settings, clock, limiters, templates, the review starter."""

    settings: IntakeSettings
    clock: Callable[[], datetime]
    start_review: StartReview | None
    templates: Environment
    api_limiter: RateLimiter
    link_limiter: RateLimiter
    failure_limiter: RateLimiter
    extra: dict[str, Any] = field(default_factory=dict)


def _utcnow() -> datetime:
    """The wall clock, aware UTC."""
    return datetime.now(UTC)


def template_env() -> Environment:
    """Jinja2 with autoescaping on for every template: everything from users is escaped."""
    env = Environment(
        loader=FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vi_date"] = lambda iso: format_date_vi(date.fromisoformat(str(iso)))
    return env


def is_api(scope: Scope) -> bool:
    """Requests to the JSON API get JSON errors; everything else gets pages."""
    return str(scope.get("path", "")).startswith(API_PREFIX)


def error_page(
    state: IntakeState, request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """A Vietnamese error page."""
    html = state.templates.get_template("error.html.j2").render(
        title=title,
        message=message,
        root=request.scope.get("root_path", ""),
        contact=state.extra["report_contact"],
        sender_name=state.extra["sender_name"],
    )
    return HTMLResponse(html, status_code=status, headers=headers)


class BodyLimit:
    """Refuse request bodies over max_bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, send: Send) -> None:
        """Send the 413 in the form the client expects."""
        message = f"Nội dung gửi lên quá lớn (tối đa {self.max_bytes // 1024} KB)."
        if is_api(scope):
            body = json.dumps({"detail": message}, ensure_ascii=False).encode()
            content_type = b"application/json"
        else:
            body = (
                f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Quá lớn</title></head>'
                f"<body><h1>Không gửi được</h1><p>{message}</p></body></html>"
            ).encode()
            content_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, send)


class BodyTooLarge(Exception):
    """Raised inside a request whose streamed body passed the limit."""


# The interactive API docs page (Swagger UI) loads its script and style from FastAPI's default CDN.
DOCS_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; style-src https://cdn.jsdelivr.net; "
    "img-src https://fastapi.tiangolo.com data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SecurityHeaders:
    """Add the security headers to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(SECURITY_HEADERS)
        if scope.get("path") == f"{API_PREFIX}/docs":
            headers["content-security-policy"] = DOCS_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in headers.items() if k.encode() not in present]
                message = dict(message) | {"headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, with_headers)


def _validation_message(error: dict[str, Any]) -> str:
    """One validation error in Vietnamese."""
    message = VALIDATION_VI.get(error.get("type", ""), error.get("msg", "không hợp lệ"))
    ctx = error.get("ctx") or {}
    if error.get("type") == "literal_error" and "expected" in ctx:
        message += f" (chọn: {ctx['expected']})"
    if error.get("type") == "string_too_long" and "max_length" in ctx:
        message += f" (tối đa {ctx['max_length']} ký tự)"
    if error.get("type") in ("greater_than_equal", "less_than_equal"):
        message += (
            f" ({'tối thiểu' if error['type'] == 'greater_than_equal' else 'tối đa'} {ctx.get('ge', ctx.get('le'))})"
        )
    return message


def _field_name(loc: tuple[Any, ...]) -> str:
    """The failing field as `body.percent` → `percent`."""
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "nội dung"


def create_app(
    *,
    settings: IntakeSettings | None = None,
    clock: Callable[[], datetime] | None = None,
    start_review: StartReview | None = None,
) -> FastAPI:
    """Build the intake app: report pages under /r/, the agency API under /api/v1, its spec at /api/openapi.json.

    `clock` makes time injectable (tests, replays); `start_review` replaces starting the
    review-extension deployment (tests; the default calls run_deployment).
    """
    from config.settings import get_settings
    from intake import api, web, zalo_webhook
    from config.notifications import load_notification_policy

    settings = settings or get_intake_settings()
    policy = load_notification_policy(get_settings().config_dir)
    state = IntakeState(
        settings=settings,
        clock=clock or _utcnow,
        start_review=start_review,
        templates=template_env(),
        api_limiter=RateLimiter(settings.intake_api_burst, settings.intake_api_rate_per_minute),
        link_limiter=RateLimiter(settings.intake_form_burst, settings.intake_form_rate_per_minute),
        failure_limiter=RateLimiter(settings.intake_auth_failure_burst, settings.intake_auth_failures_per_minute),
        extra={"sender_name": policy.sender_name, "report_contact": policy.report_contact},
    )
    app = FastAPI(
        title="dondoc — API báo cáo tiến độ",
        version="1",
        description=(
            "API cho các cơ quan được giao nhiệm vụ: xem các việc của cơ quan mình, báo cáo tiến độ, "
            "đề nghị gia hạn. Xác thực bằng mã truy cập riêng của cơ quan (`Authorization: Bearer dd_…`, "
            "cấp bằng `dondoc intake token create MÃ_CƠ_QUAN`). Mỗi mã truy cập bị giới hạn số yêu cầu mỗi phút "
            "(vượt quá: 429 kèm Retry-After). Một cơ quan chỉ xem và báo cáo được việc của chính mình."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.intake = state

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        """Malformed input: 422 with every problem named, in Vietnamese."""
        details = [
            {"loc": list(e.get("loc", ())), "msg": _validation_message(e), "type": e.get("type", "value_error")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{_field_name(tuple(d['loc']))}: {d['msg']}" for d in details)
        if is_api(request.scope):
            return JSONResponse({"detail": details, "message": f"Dữ liệu không hợp lệ — {summary}"}, status_code=422)
        return error_page(state, request, 422, "Dữ liệu không hợp lệ", summary)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """HTTP errors: JSON {"detail": …} for the API, a Vietnamese page otherwise."""
        headers = dict(exc.headers or {})
        detail = exc.detail if isinstance(exc.detail, str) else "Lỗi"
        if isinstance(exc.__cause__, BodyTooLarge):  # FastAPI wraps errors raised while reading a JSON body
            exc = StarletteHTTPException(413)
            detail = f"Nội dung gửi lên quá lớn (tối đa {settings.intake_max_body_bytes // 1024} KB)."
        elif exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "Không đọc được nội dung gửi lên."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "Không tìm thấy."
        elif exc.status_code == 405:
            detail = "Phương thức không được hỗ trợ."
        if is_api(request.scope):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
        return error_page(state, request, exc.status_code, "Không thực hiện được", detail, headers)

    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.include_router(web.router)
    app.include_router(api.router)
    app.include_router(zalo_webhook.router)
    app.add_middleware(BodyLimit, max_bytes=settings.intake_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
