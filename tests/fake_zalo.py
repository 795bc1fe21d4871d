"""A local fake of the three Zalo endpoints dondoc uses, answering in Zalo's documented shapes.

- POST /v3.0/oa/message/cs        (header access_token; JSON {"recipient":{"user_id"},"message":{"text"}})
- POST /message/template          (header access_token; JSON {"phone","template_id","template_data","tracking_id"})
- POST /v4/oa/access_token        (header secret_key; form refresh_token, app_id, grant_type=refresh_token)

Like Zalo, every application-level failure is HTTP 200 with a non-zero "error". By default the
fake validates tokens itself: an unknown access token gets −216, an expired one −220, and a
refresh token works exactly once (the answer rotates it). Tests can also queue scripted answers
per endpoint (`script("oa", {...})`, or `(http_status, body)`), which take precedence.
Every request is recorded with its path, headers and parsed body.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

OA_PATH = "/v3.0/oa/message/cs"
ZNS_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"
_ENDPOINTS = {OA_PATH: "oa", ZNS_PATH: "zns", OAUTH_PATH: "oauth"}

INVALID_TOKEN = {"error": -216, "message": "Access token is invalid"}
EXPIRED_TOKEN = {"error": -220, "message": "Access token has expired"}
NOT_FOLLOWER = {"error": -213, "message": "User has not followed OA"}
NO_INTERACTION = {"error": -230, "message": "User has not interacted with the OA in the last 7 days"}
RATE_LIMITED = {"error": -32, "message": "The request has exceeded the rate limit"}
OUT_OF_QUOTA = {"error": -211, "message": "Out of quota"}
UNKNOWN_ERROR = {"error": -100, "message": "Unknown error"}
BAD_PHONE = {"error": -108, "message": "Phone number invalid"}
# Modelled on Zalo's v4 OAuth error answers (error / error_name / error_description).
BAD_REFRESH = {
    "error": -14014,
    "error_name": "Invalid refresh token",
    "error_reason": "Refresh token is invalid or has already been used",
    "error_description": "Invalid refresh token",
}
BAD_SECRET = {"error": -14002, "error_name": "Invalid secret key", "error_description": "Invalid secret key"}


@dataclass
class Recorded:
    """One request as the fake received it."""

    endpoint: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


class FakeZalo:
    """Threaded HTTP server on 127.0.0.1 (random port) playing Zalo OA, ZNS and OAuth."""

    def __init__(self, app_id: str = "1234567890", app_secret: str = "app-secret-XYZ") -> None:
        """Prepare state; call start() or use as a context manager."""
        self.app_id = app_id
        self.app_secret = app_secret
        self.requests: list[Recorded] = []
        self.valid_access: set[str] = set()
        self.expired_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.used_refresh: set[str] = set()
        self._scripts: dict[str, deque[tuple[int, Any]]] = {"oa": deque(), "zns": deque(), "oauth": deque()}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.oauth_delay = 0.0  # seconds the OAuth answer waits (to widen race windows in tests)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control --------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT of the running server."""
        assert self._server is not None, "fake Zalo not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def issue_tokens(self) -> tuple[str, str]:
        """Mint a valid (access_token, refresh_token) pair, as an OAuth grant would."""
        n = next(self._counter)
        access, refresh = f"AT-{n:04d}-access-token-value", f"RT-{n:04d}-refresh-token-value"
        with self._lock:
            self.valid_access.add(access)
            self.valid_refresh.add(refresh)
        return access, refresh

    def expire(self, access_token: str) -> None:
        """Make Zalo answer −220 for this access token from now on."""
        with self._lock:
            self.valid_access.discard(access_token)
            self.expired_access.add(access_token)

    def script(self, endpoint: str, *answers: Any) -> None:
        """Queue answers for 'oa', 'zns' or 'oauth': a JSON body, or (http_status, body)."""
        with self._lock:
            for answer in answers:
                self._scripts[endpoint].append(answer if isinstance(answer, tuple) else (200, answer))

    def calls(self, endpoint: str) -> list[Recorded]:
        """Recorded requests to one endpoint, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def start(self) -> FakeZalo:
        """Start serving in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-zalo", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and join its thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeZalo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- behaviour ------------------------------------------------------------------
    def _answer(self, recorded: Recorded) -> tuple[int, Any]:
        """Scripted answer if any, else the default Zalo behaviour."""
        with self._lock:
            self.requests.append(recorded)
            queue = self._scripts.get(recorded.endpoint)
            if queue:
                return queue.popleft()
        if recorded.endpoint == "oauth":
            return 200, self._oauth(recorded)
        token = recorded.headers.get("access_token", "")
        with self._lock:
            if token in self.expired_access:
                return 200, EXPIRED_TOKEN
            if token not in self.valid_access:
                return 200, INVALID_TOKEN
        n = next(self._counter)
        if recorded.endpoint == "oa":
            user_id = (recorded.json or {}).get("recipient", {}).get("user_id")
            return 200, {"error": 0, "message": "Success", "data": {"message_id": f"oa-msg-{n}", "user_id": user_id}}
        return 200, {
            "error": 0,
            "message": "Success",
            "data": {
                "msg_id": f"zns-msg-{n}",
                "sent_time": str(int(time.time() * 1000)),
                "quota": {"dailyQuota": "500", "remainingQuota": "499"},
            },
        }

    def _oauth(self, recorded: Recorded) -> dict[str, Any]:
        """Single-use refresh: answer new tokens and retire the used refresh token."""
        if self.oauth_delay:
            time.sleep(self.oauth_delay)
        form = recorded.form
        if recorded.headers.get("secret_key") != self.app_secret:
            return BAD_SECRET
        if form.get("grant_type") != "refresh_token" or form.get("app_id") != self.app_id:
            return {"error": -14001, "error_name": "Invalid parameter", "error_description": "Invalid parameter"}
        refresh = form.get("refresh_token", "")
        with self._lock:
            if refresh not in self.valid_refresh:
                return BAD_REFRESH
            self.valid_refresh.discard(refresh)
            self.used_refresh.add(refresh)
        access, new_refresh = self.issue_tokens()
        return {"access_token": access, "refresh_token": new_refresh, "expires_in": "90000"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                endpoint = _ENDPOINTS.get(self.path.split("?")[0])
                if endpoint is None:
                    self._reply(404, {"error": 404, "message": "not found"})
                    return
                recorded = Recorded(
                    endpoint=endpoint, path=self.path, headers={k.lower(): v for k, v in self.headers.items()}
                )
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/x-www-form-urlencoded"):
                    recorded.form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
                else:
                    try:
                        recorded.json = json.loads(raw.decode("utf-8")) if raw else None
                    except ValueError:
                        recorded.json = None
                status, body = fake._answer(recorded)
                self._reply(status, body)

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return

        return Handler
