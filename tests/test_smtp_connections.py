"""SMTP connections kept open across a delivery batch, against a real aiosmtpd server on loopback."""

from __future__ import annotations

from collections import Counter

import pytest

from notifications.channels import delivery_batch, send_message
from notifications.delivery import SendResult
from tests.smtp_server import SMTPTestServer


@pytest.fixture
def smtp() -> SMTPTestServer:
    with SMTPTestServer() as server:
        yield server


def send(smtp: SMTPTestServer, number: int) -> SendResult:
    """Send message number to its own recipient."""
    return send_message(
        smtp.url(to=f"coquan{number}@bacgiang.example.vn"),
        subject=f"Nhắc việc số {number}",
        text="Đề nghị báo cáo tiến độ.",
        html=None,
        headers=None,
        attachments=None,
        idempotency_key=f"k{number}",
    )


def keys(smtp: SMTPTestServer) -> Counter[str]:
    """How often each idempotency key arrived."""
    return Counter(m.message["X-Dondoc-Key"] for m in smtp.messages)


def test_a_batch_sends_every_message_over_one_connection(smtp: SMTPTestServer) -> None:
    with delivery_batch() as connections:
        results = [send(smtp, n) for n in range(6)]
    assert all(r.ok for r in results)
    assert keys(smtp) == Counter(f"k{n}" for n in range(6))
    assert smtp.connections == 1 and connections.opened == 1


def test_outside_a_batch_each_message_has_its_own_connection(smtp: SMTPTestServer) -> None:
    assert send(smtp, 1).ok and send(smtp, 2).ok
    assert smtp.connections == 2


def test_a_connection_the_server_dropped_is_replaced_and_the_message_sent_once(smtp: SMTPTestServer) -> None:
    with delivery_batch() as connections:
        assert send(smtp, 1).ok
        smtp.stop()  # the server goes away between two messages, closing the kept connection
        smtp.start()
        assert send(smtp, 2).ok
    assert keys(smtp) == Counter({"k1": 1, "k2": 1}) and smtp.data_attempts == 2
    assert connections.opened == 2


def test_an_error_during_data_is_classified_not_resent_and_the_batch_goes_on(smtp: SMTPTestServer) -> None:
    smtp.reply_to_data("451 4.3.0 Try again later")
    with delivery_batch():
        refused = send(smtp, 1)
        after = send(smtp, 2)
    assert not refused.ok and refused.retryable and "451" in (refused.error or "")
    assert after.ok
    assert keys(smtp) == Counter({"k2": 1}) and smtp.data_attempts == 2  # k1 was tried once, not resent


@pytest.mark.parametrize(
    "url",
    [
        "mailto://127.0.0.1:2525?from=dondoc@bacgiang.example.vn&mode=insecure&to=so.tc%2Bnhac@bacgiang.example.vn",
        "mailtos://user:secret-pass@mail.example.vn?from=Đôn đốc <dondoc@bacgiang.example.vn>&to=a@example.vn&cc=b@example.vn&+X-Extra=1",
        "mailto://mail.example.vn/path.target@example.vn?from=x@example.vn&to=a@example.vn&bcc=c@example.vn",
        "mailto://mail.example.vn?from=x@example.vn&to=",
        "mailto://mail.example.vn?from=x@example.vn",
    ],
)
def test_a_batch_builds_each_server_once_and_gives_each_recipient_the_same_service(url: str) -> None:
    from notifications.channels import _instantiate

    alone = _instantiate(url)
    with delivery_batch():
        other = _instantiate(url.replace("to=a@", "to=other@"))  # the same server, another recipient: built first
        batched = _instantiate(url)

    assert alone is not None and batched is not None and other is not None
    if "to=a@" in url:  # each message keeps its own recipient
        assert [a for _, a in other.targets][-1] == "other@example.vn" != [a for _, a in batched.targets][-1]
    assert batched.url(privacy=False) == alone.url(privacy=False)  # type: ignore[no-untyped-call]
    keep = ("targets", "cc", "bcc", "from_addr", "names", "headers", "smtp_host", "port", "secure_mode", "user")
    assert {k: getattr(batched, k) for k in keep} == {k: getattr(alone, k) for k in keep}
