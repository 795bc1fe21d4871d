"""The intake web application: the report page behind signed links, and the agency JSON API.

`create_app()` builds it; `intake.server` runs it with uvicorn (alone, or beside `dondoc serve`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from config.intake import IntakeSettings, check_startup, get_intake_settings
from config.notifications import load_notification_policy
from config.policy import load_calendar
from config.settings import get_settings
from intake import api, web, zalo_webhook
from intake.deps import API_PREFIX, PACKAGE_DIR, SECURITY_HEADERS, IntakeState, error_page, is_api, template_env
from intake.middleware import BodyLimit, BodyTooLarge, SecurityHeaders
from intake.ratelimit import RateLimiter, build_storage
from tasks.extensions import StartReview
from tasks.rules import load_follow_up_rules

logger = logging.getLogger("dondoc.intake")

# Pydantic error types an agency's developer will meet, in Vietnamese; any other type reads GENERIC_VI.
VALIDATION_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "json_invalid": "nội dung không phải JSON hợp lệ",
    "json_type": "nội dung phải là JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "model_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên (không đặt trong ngoặc kép, không phải true/false)",
    "int_from_float": "phải là số nguyên",
    "float_type": "phải là số",
    "float_parsing": "phải là số",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "string_type": "phải là chuỗi ký tự",
    "string_unicode": "phải là chuỗi ký tự Unicode hợp lệ",
    "string_too_long": "dài quá mức cho phép",
    "string_too_short": "không được để trống",
    "string_pattern_mismatch": "không đúng định dạng",
    "greater_than_equal": "giá trị quá nhỏ",
    "greater_than": "giá trị quá nhỏ",
    "less_than_equal": "giá trị quá lớn",
    "less_than": "giá trị quá lớn",
    "literal_error": "giá trị không hợp lệ",
    "enum": "giá trị không hợp lệ",
    "date_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_from_datetime_parsing": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_from_datetime_inexact": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "date_type": "ngày không hợp lệ (dạng đúng: YYYY-MM-DD)",
    "list_type": "phải là một danh sách",
    "value_error": "giá trị không hợp lệ",
    "one_line": "phải nằm trên một dòng (không được xuống dòng)",
}
GENERIC_VI = "giá trị không hợp lệ"


def _utcnow() -> datetime:
    """The wall clock, aware UTC."""
    return datetime.now(UTC)


def _validation_message(error: dict[str, Any]) -> str:
    """One validation error in Vietnamese (never pydantic's English text)."""
    kind = error.get("type", "")
    message = VALIDATION_VI.get(kind, GENERIC_VI)
    ctx = error.get("ctx") or {}
    if kind == "literal_error" and "expected" in ctx:
        message += f" (chọn: {str(ctx['expected']).replace(' or ', ' hoặc ')})"
    if kind == "string_too_long" and "max_length" in ctx:
        message += f" (tối đa {ctx['max_length']} ký tự)"
    if kind in ("greater_than_equal", "less_than_equal"):
        message += f" ({'tối thiểu' if kind == 'greater_than_equal' else 'tối đa'} {ctx.get('ge', ctx.get('le'))})"
    return message


def _field_name(loc: tuple[Any, ...]) -> str:
    """The failing field as `body.percent` → `percent`."""
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "nội dung"


def build_state(
    settings: IntakeSettings, clock: Callable[[], datetime] | None, start_review: StartReview | None
) -> IntakeState:
    """Everything the handlers share, from the settings and the policy files (read once, here)."""
    core = get_settings()
    config_dir = core.config_dir
    policy = load_notification_policy(config_dir)
    storage = build_storage(settings.redis_url, settings.intake_redis_prefix)
    return IntakeState(
        settings=settings,
        clock=clock or _utcnow,
        start_review=start_review,
        templates=template_env(),
        calendar=load_calendar(config_dir),
        rules=load_follow_up_rules(core),
        api_limiter=RateLimiter(storage, "api", settings.intake_api_burst, settings.intake_api_rate_per_minute),
        link_limiter=RateLimiter(storage, "link", settings.intake_form_burst, settings.intake_form_rate_per_minute),
        failure_limiter=RateLimiter(
            storage, "refused", settings.intake_auth_failure_burst, settings.intake_auth_failures_per_minute
        ),
        sender_name=policy.sender_name,
        report_contact=policy.report_contact,
    )


def create_app(
    *,
    settings: IntakeSettings | None = None,
    clock: Callable[[], datetime] | None = None,
    start_review: StartReview | None = None,
) -> FastAPI:
    """Build the intake app: report pages under /r/, the agency API under /api/v1, its spec at /api/openapi.json.

    Raises IntakeConfigError (the intake must not start) when the signing keys are unsafe.
    `clock` makes time injectable (tests, replays); `start_review` replaces starting the
    review-extension deployment (tests; the default calls run_deployment).
    """
    settings = settings or get_intake_settings()
    check_startup(settings)
    if not settings.links_enabled:
        logger.warning("Report links are off: set DONDOC_INTAKE_SECRET and DONDOC_PUBLIC_URL (the API still works).")
    state = build_state(settings, clock, start_review)
    app = FastAPI(
        title="dondoc — API báo cáo tiến độ",
        version="1",
        description=(
            "API cho các cơ quan được giao nhiệm vụ: xem các việc của cơ quan mình, báo cáo tiến độ, "
            "đề nghị gia hạn. Xác thực bằng mã truy cập riêng của cơ quan (`Authorization: Bearer dd_…`, "
            "cấp bằng `dondoc intake token create MÃ_CƠ_QUAN`). Mỗi mã truy cập bị giới hạn số yêu cầu mỗi phút "
            "(vượt quá: 429 kèm Retry-After). Một cơ quan chỉ xem và báo cáo được việc của chính mình. "
            'Kiểu dữ liệu được kiểm tra chặt: số phải là số (không phải chuỗi "50" hay true).'
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
        elif not any(ord(c) > 127 for c in detail):  # Starlette's own English reason phrases
            detail = "Không thực hiện được yêu cầu."
        if is_api(request.scope):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
        return error_page(state, request, exc.status_code, "Không thực hiện được", detail, headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        """Anything unforeseen: a Vietnamese 500 with the security headers, and the traceback in the log."""
        logger.error("Intake request failed: %s %s", request.method, request.url.path, exc_info=exc)
        message = (
            "Hệ thống gặp lỗi khi xử lý yêu cầu; chưa có gì được ghi nhận. Đề nghị thử lại sau hoặc liên hệ Văn phòng."
        )
        if is_api(request.scope):
            return JSONResponse({"detail": message}, status_code=500, headers=SECURITY_HEADERS)
        return error_page(state, request, 500, "Lỗi hệ thống", message)

    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.include_router(web.router)
    app.include_router(api.router)
    app.include_router(zalo_webhook.router)
    app.add_middleware(BodyLimit, max_bytes=settings.intake_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
