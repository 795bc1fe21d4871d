"""channels.send_message for generic Apprise URLs, plus mask_secrets / describe_url."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications.channels import describe_url, mask_secrets, send_message
from tests.smtp_server import free_port


@pytest.fixture
def http_sink() -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP endpoint that records JSON posts and answers 200."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def send(url: str, **overrides: object):
    arguments: dict[str, object] = dict(
        subject="Nhắc việc", text="Đề nghị báo cáo", html=None, headers=None, attachments=None, idempotency_key="k-1"
    )
    arguments.update(overrides)
    return send_message(url, **arguments)  # type: ignore[arg-type]


def test_generic_apprise_url_is_delivered(http_sink: tuple[str, list[dict]]) -> None:
    url, received = http_sink

    result = send(url)

    assert result.ok and result.error is None
    [payload] = received
    assert payload["title"] == "Nhắc việc" and payload["message"] == "Đề nghị báo cáo"


def test_generic_failure_is_retryable_with_apprise_warning() -> None:
    result = send(f"json://127.0.0.1:{free_port()}/hook")

    assert not result.ok and result.retryable
    assert "delivery failed" in result.error


@pytest.mark.parametrize("url", ["nosuchscheme://x/y", "not a url", "mailto://"])
def test_unusable_urls_are_permanent(url: str) -> None:
    result = send(url)
    assert not result.ok and not result.retryable


def test_empty_message_is_permanent() -> None:
    result = send("mailbox:///tmp/never-written?to=a@example.vn", text="  ", html=None)
    assert not result.ok and not result.retryable and "empty" in result.error


def test_idempotency_key_is_required() -> None:
    with pytest.raises(ValueError):
        send("mailbox:///tmp/never-written?to=a@example.vn", idempotency_key="")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mailtos://user:hunter2secret@smtp.example.vn:587", "mailtos://user:***@smtp.example.vn:587"),
        ("zalo://1/2?secret=abcdef123&oa=x", "zalo://1/2?secret=***&oa=x"),
        ("refresh_token=RT-abc-123&app_id=9", "refresh_token=***&app_id=9"),
        ('{"access_token": "AT-xyz-789", "expires_in": "90000"}', '{"access_token": "***", "expires_in": "90000"}'),
        ("secret_key: s3cr3t-value", "secret_key: ***"),
        ("mailto://h?to=a@b.vn&+X-Dondoc-Key=assign-1", "mailto://h?to=a@b.vn&+X-Dondoc-Key=assign-1"),
        ("Nhắc việc: Sở Tài chính", "Nhắc việc: Sở Tài chính"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


@pytest.mark.parametrize(
    ("url", "hidden", "shown"),
    [
        ("mailtos://dondoc:hunter2secret@smtp.example.vn?to=a@b.vn", "hunter2secret", "smtp.example.vn"),
        ("tgram://123456789:AAHsecretBotTokenValue/987654", "AAHsecretBotTokenValue", "tgram://"),
        ("zns://123/0912345678?template=77&secret=zns-secret-value", "zns-secret-value", "84912345678"),
        ("mailto://user:pw-in-broken-url@", "pw-in-broken-url", "mailto://"),
    ],
)
def test_describe_url_hides_secrets(url: str, hidden: str, shown: str) -> None:
    described = describe_url(url)
    assert hidden not in described
    assert shown in described
