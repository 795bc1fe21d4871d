"""tasks/reply_mailbox.py against a real Dovecot: a UID cursor reads each message once, then moves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tasks.reply_mailbox import (
    Destination,
    FetchedMessage,
    MailboxDown,
    MailboxSpec,
    UidCursor,
    connect,
    poll_folder,
    server_folder,
)

if TYPE_CHECKING:
    from tests.imap_server import ImapAccount

pytest_plugins = ("tests.imap_server",)  # the dovecot and imap_account fixtures


def _message(n: int) -> bytes:
    return (
        f"From: vanthu@stc.bacgiang.example\r\nTo: dondoc@vptu.bacgiang.example\r\n"
        f"Subject: Re: Nhac han {n}\r\nMessage-ID: <reply-{n}@stc.bacgiang.example>\r\n\r\nDa hoan thanh {n}\r\n"
    ).encode()


def _spec(account: ImapAccount, **overrides: object) -> MailboxSpec:
    fields: dict = {
        "host": account.host,
        "port": account.port,
        "user": account.user,
        "password": account.password,
        "tls": "none",
    }
    fields.update(overrides)
    return MailboxSpec(**fields)


class Recorder:
    """Plays the caller: keeps what it was handed and the cursor it was told to save."""

    def __init__(self, destination: Destination = "processed", fail_on: int | None = None) -> None:
        self.destination = destination
        self.fail_on = fail_on
        self.handled: list[FetchedMessage] = []
        self.cursor: str | None = None

    def handle(self, message: FetchedMessage) -> Destination:
        if self.fail_on is not None and b"Nhac han %d\r" % self.fail_on in message.raw:
            raise RuntimeError("the database is down")
        self.handled.append(message)
        return self.destination

    def save(self, cursor: str) -> None:
        self.cursor = cursor

    def poll(self, spec: MailboxSpec) -> None:
        with connect(spec) as client:
            poll_folder(client, spec, self.cursor, self.handle, self.save)


def _folder_count(account: ImapAccount, folder: str) -> int:
    with account.client() as client:
        folder = server_folder(client, folder)
        if not client.folder_exists(folder):
            return 0
        return client.select_folder(folder, readonly=True)[b"EXISTS"]


def test_reads_each_message_once_and_moves_it(imap_account: ImapAccount) -> None:
    """Two messages are handed over in UID order and moved to the processed folder; a second poll reads nothing."""
    imap_account.append(_message(1))
    imap_account.append(_message(2))
    recorder, spec = Recorder(), _spec(imap_account)
    recorder.poll(spec)
    assert [m.raw for m in recorder.handled] == [_message(1), _message(2)]
    assert _folder_count(imap_account, "INBOX") == 0
    assert _folder_count(imap_account, "dondoc/da-xu-ly") == 2
    recorder.poll(spec)
    assert len(recorder.handled) == 2


def test_cursor_alone_keeps_unmoved_messages_from_being_read_again(imap_account: ImapAccount) -> None:
    """With messages left in place, only messages newer than the cursor are read; \\Seen is not set."""
    imap_account.append(_message(1))
    recorder, spec = Recorder(destination="leave"), _spec(imap_account)
    recorder.poll(spec)
    imap_account.append(_message(2))
    recorder.poll(spec)
    recorder.poll(spec)
    assert [m.raw for m in recorder.handled] == [_message(1), _message(2)]
    assert UidCursor.parse(recorder.cursor) is not None and UidCursor.parse(recorder.cursor).last_uid == 2  # type: ignore[union-attr]
    with imap_account.client() as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["UNSEEN"]) == [1, 2]


def test_held_messages_go_to_the_held_folder(imap_account: ImapAccount) -> None:
    """The caller's verdict picks the folder."""
    imap_account.append(_message(1))
    Recorder(destination="held").poll(_spec(imap_account))
    assert _folder_count(imap_account, "dondoc/cho-xem-xet") == 1 and _folder_count(imap_account, "INBOX") == 0


def test_new_uidvalidity_reads_the_folder_again(imap_account: ImapAccount) -> None:
    """A cursor from an older UIDVALIDITY is not trusted: UID 1 of the recreated folder is read."""
    spec = _spec(imap_account, folder="Replies")
    imap_account.append(_message(1), folder="Replies")
    recorder = Recorder(destination="leave")
    recorder.poll(spec)
    old = UidCursor.parse(recorder.cursor)
    assert old is not None
    with imap_account.client() as client:
        client.delete_folder("Replies")
    imap_account.append(_message(2), folder="Replies")
    recorder.poll(spec)
    new = UidCursor.parse(recorder.cursor)
    assert new is not None and new.uidvalidity != old.uidvalidity and new.last_uid == 1
    assert [m.raw for m in recorder.handled] == [_message(1), _message(2)]


def test_failure_mid_poll_keeps_the_failed_message_for_next_time(imap_account: ImapAccount) -> None:
    """Message 1 is done and moved; message 2 fails: it stays in the folder and is read on the next poll."""
    imap_account.append(_message(1))
    imap_account.append(_message(2))
    spec = _spec(imap_account)
    recorder = Recorder(fail_on=2)
    with pytest.raises(RuntimeError):
        recorder.poll(spec)
    assert [m.raw for m in recorder.handled] == [_message(1)]
    assert _folder_count(imap_account, "INBOX") == 1
    recorder.fail_on = None
    recorder.poll(spec)
    assert [m.raw for m in recorder.handled] == [_message(1), _message(2)]


def test_wrong_password_is_mailbox_down(imap_account: ImapAccount) -> None:
    """A refused login is reported as the mailbox being down (retried later), in Vietnamese."""
    with (
        pytest.raises(MailboxDown, match="không kết nối hoặc đăng nhập được"),
        connect(_spec(imap_account, password="wrong")),
    ):
        pass
