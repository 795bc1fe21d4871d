"""What every intake request handler depends on: the shared state, a database session, the API caller, error pages.

In the style of full-stack-fastapi-template's `deps.py`: handlers declare `StateDep`, `SessionDep`
and `CallerDep` and FastAPI provides them. The routers (`intake.web`, `intake.api`) import this
module and the app factory (`intake.app`) imports the routers, never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session
from starlette.types import Scope

from config.intake import IntakeSettings
from domain.workdays import WorkCalendar, format_date_vi
from intake.ratelimit import RateLimiter, retry_after
from intake.tokens import Caller, authenticate, touch_token
from models.db import session_scope
from tasks.extensions import StartReview
from tasks.rules import FollowUpRules

PACKAGE_DIR = Path(__file__).resolve().parent
API_PREFIX = "/api"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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
    """What every request handler shares: settings, clock, limiters, templates, the calendar, the review starter."""

    settings: IntakeSettings
    clock: Callable[[], datetime]
    start_review: StartReview | None
    templates: Environment
    calendar: WorkCalendar
    rules: FollowUpRules
    api_limiter: RateLimiter
    link_limiter: RateLimiter
    failure_limiter: RateLimiter
    sender_name: str
    report_contact: str


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


def get_state(request: Request) -> IntakeState:
    """The app's shared state."""
    state: IntakeState = request.app.state.intake
    return state


StateDep = Annotated[IntakeState, Depends(get_state)]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the handler returns, rolled back if it raises.

    Reads (GET) get a read-only session: on SQLite it takes no write lock, so the follow-up state
    (read in a session of its own, see `intake.queries.directive_state`) can be read beside it.
    """
    with session_scope(read_only=request.method in SAFE_METHODS) as session:
        yield session


# scope="function": the session commits before the response is sent, so "recorded" is never said of
# a write that could still fail.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def is_api(scope: Scope) -> bool:
    """Requests to the JSON API get JSON errors; everything else gets pages."""
    return str(scope.get("path", "")).startswith(API_PREFIX)


def error_page(
    state: IntakeState, request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """A Vietnamese error page, carrying the security headers itself (a 500 is sent outside every middleware)."""
    html = state.templates.get_template("error.html.j2").render(
        title=title,
        message=message,
        root=request.scope.get("root_path", ""),
        contact=state.report_contact,
        sender_name=state.sender_name,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS | (headers or {}))


def client_key(request: Request) -> str:
    """Rate-limit key of the client address (the proxy's address when behind one: limit there too)."""
    return f"ip:{request.client.host if request.client else 'unknown'}"


bearer = HTTPBearer(auto_error=False, description="Mã truy cập của cơ quan: `Authorization: Bearer dd_…`.")


def refuse_credentials(state: IntakeState, request: Request) -> float:
    """Count a refused credential against the client address; the seconds to wait when it is over its limit.

    Only refusals are counted per address, and a valid credential is never blocked by them: an
    office behind one NAT address keeps working while someone there mistypes. Guessing gains
    nothing from that: tokens and link MACs are 256-bit random values.
    """
    return state.failure_limiter.take(client_key(request))


def current_agency(
    request: Request,
    state: StateDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """The agency behind the bearer token, within the token's own rate limit."""
    found = authenticate(credentials.credentials, session=session) if credentials else None
    # End the read: on SQLite the handler's later reads must not queue behind this transaction.
    session.commit()
    if found is None:
        wait = refuse_credentials(state, request)
        if wait:
            raise HTTPException(429, "Quá nhiều lần xác thực sai; thử lại sau.", {"Retry-After": retry_after(wait)})
        message = (
            "Thiếu mã truy cập (Authorization: Bearer dd_…)."
            if credentials is None
            else "Mã truy cập không hợp lệ hoặc đã bị thu hồi."
        )
        raise HTTPException(401, message, {"WWW-Authenticate": "Bearer"})
    wait = state.api_limiter.take(f"token:{found.token_id}")
    if wait:
        raise HTTPException(
            429, "Vượt giới hạn số yêu cầu của mã truy cập; thử lại sau.", {"Retry-After": retry_after(wait)}
        )
    now = state.clock()
    if found.due_for_touch(now):
        # Its own short write: a GET request's session is read-only.
        with session_scope() as touch:
            touch_token(found.token_id, now, session=touch)
    return found


CallerDep = Annotated[Caller, Depends(current_agency)]
