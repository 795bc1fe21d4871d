"""E-mail channel against a real aiosmtpd SMTP server on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest

from notifications.channels import send_message
from tests.smtp_server import SMTPTestServer, free_port

SUBJECT = "Nhắc việc: Sở Tài chính – hạn 23/09/2022"
TEXT = "Kính gửi Sở Tài chính,\nĐề nghị báo cáo tiến độ nhiệm vụ 2.3 trước ngày 23/09/2022 (thứ Sáu).\n"
HTML = (
    "<p>Kính gửi <b>Sở Tài chính</b>,</p><p>Đề nghị báo cáo tiến độ nhiệm vụ 2.3 trước ngày 23/09/2022 (thứ Sáu).</p>"
)
TO = "stc@bacgiang.example.vn"
CC = ("vanphong@bacgiang.example.vn", "bandanvan@bacgiang.example.vn")


def content(part: object) -> str:
    """A MIME part's decoded text with SMTP's CRLF line ends (and the final newline) normalised."""
    return part.get_content().replace("\r\n", "\n").rstrip("\n")  # type: ignore[attr-defined]


@pytest.fixture
def smtp() -> SMTPTestServer:
    with SMTPTestServer() as server:
        yield server


def send(url: str, *, key: str = "assign-23:stc:reminder:-2", **overrides: object):
    arguments: dict[str, object] = dict(
        subject=SUBJECT, text=TEXT, html=HTML, headers=None, attachments=None, idempotency_key=key
    )
    arguments.update(overrides)
    return send_message(url, **arguments)  # type: ignore[arg-type]


def test_vietnamese_html_and_text_message_arrives_intact(smtp: SMTPTestServer) -> None:
    result = send(smtp.url(to=TO))

    assert result.ok and not result.retryable and result.error is None
    [received] = smtp.messages
    message = received.message
    assert message["Subject"] == SUBJECT
    raw_headers = received.data.split(b"\r\n\r\n", 1)[0]
    subject_line = raw_headers.split(b"Subject: ", 1)[1].split(b"\r\n")[0]
    assert subject_line.lower().startswith(b"=?utf-8?")  # RFC 2047 encoded word
    assert raw_headers.isascii()
    assert message.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), content(p)) for p in message.iter_parts()]
    assert parts == [("text/plain", TEXT.rstrip("\n")), ("text/html", HTML)]
    assert received.data.isascii()  # 7-bit body: qp/base64 only, any relay accepts it
    assert message["X-Dondoc-Key"] == "assign-23:stc:reminder:-2"
    assert message["Message-ID"] == result.provider_message_id
    assert message["To"] == TO
    assert message["From"] == "dondoc@bacgiang.example.vn"
    assert message["Date"] is not None
    assert received.rcpt_tos == (TO,)


def test_cc_recipients_receive_the_message(smtp: SMTPTestServer) -> None:
    result = send(smtp.url(to=TO, cc=",".join(CC)))

    assert result.ok
    [received] = smtp.messages
    assert set(received.rcpt_tos) == {TO, *CC}
    cc_header = {addr.addr_spec for addr in received.message["Cc"].addresses}
    assert cc_header == set(CC)


def test_bcc_is_in_the_envelope_only(smtp: SMTPTestServer) -> None:
    assert send(smtp.url(to=TO, bcc="lanhdao@bacgiang.example.vn")).ok

    [received] = smtp.messages
    assert "lanhdao@bacgiang.example.vn" in received.rcpt_tos
    assert "Bcc" not in received.message
    assert b"lanhdao" not in received.data


def test_display_names_and_extra_headers(smtp: SMTPTestServer) -> None:
    url = smtp.url(
        to=f"Sở Tài chính <{TO}>",
        sender="Văn phòng Tỉnh ủy <vptu@bacgiang.example.vn>",
        **{"+X-Dondoc-Agency": "so-tai-chinh"},
    )
    assert send(url, headers={"X-Dondoc-Kind": "reminder"}).ok

    message = smtp.messages[0].message
    assert message["To"].addresses[0].display_name == "Sở Tài chính"
    assert message["From"].addresses[0].display_name == "Văn phòng Tỉnh ủy"
    assert message["X-Dondoc-Agency"] == "so-tai-chinh"
    assert message["X-Dondoc-Kind"] == "reminder"


def test_attachments_travel_with_vietnamese_names(smtp: SMTPTestServer, tmp_path: Path) -> None:
    report = tmp_path / "Báo cáo tiến độ.xlsx"
    report.write_bytes(b"PK\x03\x04 fake workbook \x00\xff")

    assert send(smtp.url(to=TO), attachments=[report]).ok

    message = smtp.messages[0].message
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("html", "plain"))
    assert body is not None and content(body) == HTML
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Báo cáo tiến độ.xlsx"
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert attachment.get_content() == report.read_bytes()


def test_text_only_message_is_single_part(smtp: SMTPTestServer) -> None:
    assert send(smtp.url(to=TO), html=None).ok

    message = smtp.messages[0].message
    assert message.get_content_type() == "text/plain"
    assert content(message) == TEXT.rstrip("\n")


def test_same_idempotency_key_gives_the_same_message_id(smtp: SMTPTestServer) -> None:
    first = send(smtp.url(to=TO), key="k-same")
    second = send(smtp.url(to=TO), key="k-same")
    other = send(smtp.url(to=TO), key="k-other")

    assert first.provider_message_id == second.provider_message_id != other.provider_message_id
    assert [m.message["Message-ID"] for m in smtp.messages] == [
        first.provider_message_id,
        first.provider_message_id,
        other.provider_message_id,
    ]


# --- failure classification ----------------------------------------------------------------


def test_server_down_is_retryable_then_delivers_once_back(smtp: SMTPTestServer) -> None:
    url = smtp.url(to=TO)
    smtp.stop()

    down = send(url)

    assert not down.ok and down.retryable
    assert "refused" in down.error
    smtp.start()
    assert send(url).ok
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        ("451 4.3.0 Temporary local problem, try again later", True),
        ("452 4.3.1 Insufficient system storage", True),
        ("550 5.7.1 Message rejected as spam", False),
        ("554 5.6.0 Transaction failed", False),
    ],
)
def test_data_reply_codes_are_classified(smtp: SMTPTestServer, reply: str, retryable: bool) -> None:
    smtp.reply_to_data(reply)

    result = send(smtp.url(to=TO))

    assert not result.ok and result.retryable is retryable
    assert reply.split()[0] in result.error
    assert smtp.messages == [] and smtp.data_attempts == 1


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 No such user here", False), ("450 4.2.1 Mailbox busy, try later", True)],
)
def test_refused_sole_recipient_is_classified(smtp: SMTPTestServer, reply: str, retryable: bool) -> None:
    smtp.reply_to_rcpt(TO, reply)

    result = send(smtp.url(to=TO))

    assert not result.ok and result.retryable is retryable
    assert TO in result.error and reply.split()[0] in result.error


def test_partially_refused_recipients_still_deliver_and_say_so(smtp: SMTPTestServer) -> None:
    smtp.reply_to_rcpt(CC[1], "550 5.1.1 No such user here")

    result = send(smtp.url(to=TO, cc=",".join(CC)))

    assert result.ok
    assert CC[1] in result.error and "550" in result.error
    assert set(smtp.messages[0].rcpt_tos) == {TO, CC[0]}


def test_starttls_required_but_unsupported_is_permanent(smtp: SMTPTestServer) -> None:
    url = f"mailtos://{smtp.host}:{smtp.port}?from=dondoc@bacgiang.example.vn&to={TO}&mode=starttls"

    result = send(url)

    assert not result.ok and not result.retryable
    assert smtp.messages == []


def _self_signed_server_context(tmp_path: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.mark.parametrize(("verify", "delivered"), [("no", True), ("yes", False)])
def test_starttls_with_self_signed_certificate(tmp_path: Path, verify: str, delivered: bool) -> None:
    with SMTPTestServer(tls_context=_self_signed_server_context(tmp_path)) as server:
        url = (
            f"mailtos://{server.host}:{server.port}?from=dondoc@bacgiang.example.vn&to={TO}"
            f"&mode=starttls&verify={verify}"
        )
        result = send(url)

        assert result.ok is delivered
        if delivered:
            assert server.messages[0].message["Subject"] == SUBJECT
        else:
            assert not result.retryable and "certificate" in result.error
            assert server.messages == []


def test_silent_server_times_out_and_is_retryable() -> None:
    port = free_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)  # the kernel completes the handshake; no greeting ever comes
    try:
        url = f"mailto://127.0.0.1:{port}?from=dondoc@bacgiang.example.vn&to={TO}&mode=insecure&cto=0.5"
        result = send(url)
    finally:
        listener.close()

    assert not result.ok and result.retryable
    assert "timed out" in result.error


def test_header_injection_is_refused_before_sending(smtp: SMTPTestServer) -> None:
    result = send(smtp.url(to=TO), headers={"X-Note": "a\r\nBcc: victim@example.vn"})

    assert not result.ok and not result.retryable
    assert smtp.data_attempts == 0


def test_smtp_password_never_in_error(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)
    port = free_port()
    url = f"mailto://dondoc:S3cret-Passw0rd@127.0.0.1:{port}?from=dondoc@bacgiang.example.vn&to={TO}&mode=insecure"

    result = send(url)

    assert not result.ok and result.retryable
    assert "S3cret-Passw0rd" not in (result.error or "")
    assert "S3cret-Passw0rd" not in caplog.text


def test_concurrent_sends_each_get_their_own_result(smtp: SMTPTestServer) -> None:
    smtp.reply_to_rcpt("tuchoi@bacgiang.example.vn", "550 5.1.1 No such user here")
    results: dict[str, object] = {}

    def worker(to: str) -> None:
        results[to] = send(smtp.url(to=to), key=f"k-{to}")

    addresses = [f"coquan{i}@bacgiang.example.vn" for i in range(6)] + ["tuchoi@bacgiang.example.vn"]
    threads = [threading.Thread(target=worker, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(results[a].ok for a in addresses[:-1])  # type: ignore[attr-defined]
    assert not results["tuchoi@bacgiang.example.vn"].ok  # type: ignore[attr-defined]
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(addresses[:-1])
