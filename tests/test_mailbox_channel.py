"""mailbox:// channel: .eml files written atomically that parse back to the same message."""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest

from config.settings import get_settings
from notifications.channels import describe_url, send_message
from notifications.plugins.mailbox import safe_file_name

SUBJECT = "Nhắc việc: Sở Tài chính – hạn 23/09/2022"
TEXT = "Kính gửi Sở Tài chính,\nĐề nghị báo cáo tiến độ nhiệm vụ 2.3.\n"
HTML = "<p>Kính gửi <b>Sở Tài chính</b>,</p><p>Đề nghị báo cáo tiến độ nhiệm vụ 2.3.</p>"
KEY = "assign-23:stc:reminder:-2"


def mailbox_url(folder: Path | str, **params: str) -> str:
    query = "&".join(f"{k}={quote(v, safe='@')}" for k, v in {"to": "stc@bacgiang.example.vn", **params}.items())
    return f"mailbox://{folder}?{query}"


def read_eml(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def content(part: object) -> str:
    """Decoded text with CRLF and the final newline normalised."""
    return part.get_content().replace("\r\n", "\n").rstrip("\n")  # type: ignore[attr-defined]


def send(url: str, **overrides: object):
    arguments: dict[str, object] = dict(
        subject=SUBJECT,
        text=TEXT,
        html=HTML,
        headers={"X-Dondoc-Kind": "reminder"},
        attachments=None,
        idempotency_key=KEY,
    )
    arguments.update(overrides)
    return send_message(url, **arguments)  # type: ignore[arg-type]


def test_eml_parses_back_to_the_same_message(tmp_path: Path) -> None:
    folder = tmp_path / "hộp thư"
    attachment = tmp_path / "Báo cáo.pdf"
    attachment.write_bytes(b"%PDF-1.4 fake \x00\x01\x02")
    url = mailbox_url(
        quote(str(folder)),
        cc="vanphong@bacgiang.example.vn,bandanvan@bacgiang.example.vn",
        **{"from": "Văn phòng Tỉnh ủy <vptu@bacgiang.example.vn>"},
    )

    result = send(url, attachments=[attachment])

    assert result.ok and not result.retryable
    [eml] = folder.glob("*.eml")
    assert result.provider_message_id == eml.name
    message = read_eml(eml)
    assert message["Subject"] == SUBJECT
    assert message["X-Dondoc-Key"] == KEY
    assert message["X-Dondoc-Kind"] == "reminder"
    assert message["Message-ID"].startswith("<dondoc.") and message["Date"] is not None
    assert message["To"] == "stc@bacgiang.example.vn"
    assert {a.addr_spec for a in message["Cc"].addresses} == {
        "vanphong@bacgiang.example.vn",
        "bandanvan@bacgiang.example.vn",
    }
    assert message["From"].addresses[0].display_name == "Văn phòng Tỉnh ủy"
    assert message.get_content_type() == "multipart/mixed"
    [alternative, *_] = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [(p.get_content_type(), content(p)) for p in alternative.iter_parts()] == [
        ("text/plain", TEXT.rstrip("\n")),
        ("text/html", HTML),
    ]
    [attached] = list(message.iter_attachments())
    assert attached.get_filename() == "Báo cáo.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content() == attachment.read_bytes()


def test_one_file_per_message_and_no_temporary_files_left(tmp_path: Path) -> None:
    url = mailbox_url(tmp_path / "box")

    results = [send(url, idempotency_key=f"k-{i}") for i in range(3)] + [send(url, idempotency_key="k-0")]

    assert all(r.ok for r in results)
    names = sorted(p.name for p in (tmp_path / "box").iterdir())
    assert len(names) == 4 and all(n.endswith(".eml") for n in names)
    assert len({r.provider_message_id for r in results}) == 4  # same key twice still gives two files
    keys = sorted(read_eml(tmp_path / "box" / n)["X-Dondoc-Key"] for n in names)
    assert keys == ["k-0", "k-0", "k-1", "k-2"]


@pytest.mark.parametrize(
    "key",
    ["assign-23:stc:reminder:-2", "../../etc/passwd", "Sở Tài chính / nhắc việc", "", "a" * 500, "con\x00trol"],
)
def test_file_names_are_safe(key: str) -> None:
    name = safe_file_name(key)
    assert name.endswith(".eml")
    assert "/" not in name and "\x00" not in name and not name.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert len(name) <= 120
    assert safe_file_name(key) != name  # unique on every call


def test_relative_folder_lives_under_dondoc_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONDOC_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    try:
        assert send(mailbox_url("mailbox")).ok
    finally:
        get_settings.cache_clear()
    assert len(list((tmp_path / "home" / "mailbox").glob("*.eml"))) == 1


def test_text_only_message(tmp_path: Path) -> None:
    assert send(mailbox_url(tmp_path), html=None).ok

    [eml] = tmp_path.glob("*.eml")
    message = read_eml(eml)
    assert message.get_content_type() == "text/plain"
    assert content(message) == TEXT.rstrip("\n")


def test_unwritable_folder_is_retryable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")

    result = send(mailbox_url(blocker))

    assert not result.ok and result.retryable
    assert "mailbox write failed" in result.error


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)

    result = send(mailbox_url(tmp_path / "box"))

    assert not result.ok and result.retryable
    assert list((tmp_path / "box").iterdir()) == []


def test_missing_recipient_is_a_permanent_configuration_error(tmp_path: Path) -> None:
    result = send(f"mailbox://{tmp_path}")

    assert not result.ok and not result.retryable
    assert "invalid channel URL" in result.error


def test_describe_url_names_the_folder(tmp_path: Path) -> None:
    described = describe_url(mailbox_url(tmp_path / "box"))
    assert described.startswith(f"mailbox://{tmp_path}/box?")
    assert "stc@bacgiang.example.vn" in described
