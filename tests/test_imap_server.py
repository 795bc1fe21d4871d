"""Smoke test of the test IMAP server (tests/imap_server.py): a real Dovecot, reached with IMAPClient."""

from __future__ import annotations

from email import message_from_bytes, policy
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.imap_server import ImapAccount

pytest_plugins = ("tests.imap_server",)  # the dovecot and imap_account fixtures

MESSAGE = (
    "From: Văn thư Sở Tài chính <vanthu@stc.bacgiang.example>\r\n"
    "To: dondoc@vptu.bacgiang.example\r\n"
    "Subject: =?utf-8?b?UmU6IE5o4bqvYyBo4bqhbg==?=\r\n"
    "Message-ID: <reply-1@stc.bacgiang.example>\r\n"
    "In-Reply-To: <reminder-1@dondoc.example>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Đã hoàn thành, văn bản số 245-BC/STC.\r\n"
).encode()


def test_append_then_read_back(imap_account: ImapAccount) -> None:
    """A message appended by IMAP comes back byte for byte, with a UID under a stable UIDVALIDITY."""
    imap_account.append(MESSAGE)
    with imap_account.client() as client:
        status = client.select_folder("INBOX")
        uids = client.search(["ALL"])
        fetched = client.fetch(uids, ["RFC822", "ENVELOPE"])
    assert status[b"EXISTS"] == 1 and status[b"UIDVALIDITY"] > 0
    assert len(uids) == 1
    raw = fetched[uids[0]][b"RFC822"]
    assert raw == MESSAGE
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "Re: Nhắc hạn"
    assert parsed.get_content().strip() == "Đã hoàn thành, văn bản số 245-BC/STC."
    assert imap_account.maildir.is_dir()


def test_each_test_user_starts_empty(imap_account: ImapAccount) -> None:
    """A second account on the same server sees none of the first one's mail."""
    with imap_account.client() as client:
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
