"""Reading agencies' e-mail replies from an IMAP folder: a UID cursor so nothing is read twice, then move.

One poll selects the folder, reads every message whose UID is above the cursor (in UID order,
with BODY.PEEK[] so the \\Seen flag is left alone), hands each to the caller, saves the cursor
after each message and then moves the message to the folder the caller names (processed or
held). The cursor is "v1:<UIDVALIDITY>:<last UID>"; when the server's UIDVALIDITY changes (the
folder was recreated or renumbered) old UIDs mean nothing, so the folder is read again from the
start: the caller's de-duplication by Message-ID keeps that from recording anything twice.

IMAPClient (a well-kept library over imaplib) does the protocol; TLS is implicit (IMAPS),
STARTTLS, or none (refused by configuration except on loopback).
"""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

logger = logging.getLogger("dondoc.reply_mailbox")

CURSOR_RE = re.compile(r"^v1:(\d+):(\d+)$")
FETCH_BATCH = 50
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a reply with an attachment larger than this is held unread
TlsMode = Literal["ssl", "starttls", "none"]


class MailboxDown(Exception):
    """The mailbox could not be read this time (connection, login, folder); retried later."""


@dataclass(frozen=True)
class MailboxSpec:
    """Where the replies arrive; the password comes from the environment at the edge."""

    host: str
    port: int
    user: str
    password: str
    tls: TlsMode = "ssl"
    folder: str = "INBOX"
    processed_folder: str | None = "dondoc/da-xu-ly"
    held_folder: str | None = "dondoc/cho-xem-xet"
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class UidCursor:
    """The last UID handled under one UIDVALIDITY of the folder."""

    uidvalidity: int
    last_uid: int

    def encode(self) -> str:
        """The form kept in the cursor row."""
        return f"v1:{self.uidvalidity}:{self.last_uid}"

    @staticmethod
    def parse(text: str | None) -> UidCursor | None:
        """Read a stored cursor; an absent or foreign one means "from the start"."""
        match = CURSOR_RE.match(text or "")
        return UidCursor(int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class FetchedMessage:
    """One message as the server holds it."""

    uid: int
    raw: bytes
    size: int
    too_large: bool = False


Destination = Literal["processed", "held", "leave"]


@dataclass
class MailboxPoll:
    """What one poll of the folder did."""

    uidvalidity: int = 0
    read: int = 0
    moved: dict[str, int] = field(default_factory=dict)
    cursor: str | None = None
    restarted: bool = False  # UIDVALIDITY changed since the last poll


@contextmanager
def connect(spec: MailboxSpec) -> Iterator[IMAPClient]:
    """A logged-in IMAPClient; connection and login failures become MailboxDown."""
    context = ssl.create_default_context()
    try:
        client = IMAPClient(
            spec.host,
            port=spec.port,
            ssl=spec.tls == "ssl",
            ssl_context=context if spec.tls == "ssl" else None,
            timeout=spec.timeout_seconds,
        )
        if spec.tls == "starttls":
            client.starttls(context)
        client.login(spec.user, spec.password)
    except (OSError, IMAPClientError, ssl.SSLError) as exc:
        raise MailboxDown(
            f"không kết nối hoặc đăng nhập được hộp thư {spec.user}@{spec.host}:{spec.port}: {exc}"
        ) from exc
    try:
        yield client
    finally:
        try:
            client.logout()
        except (OSError, IMAPClientError) as exc:  # the poll's work is done; a failed goodbye changes nothing
            logger.info("IMAP logout failed: %s", exc)


def server_folder(client: IMAPClient, folder: str) -> str:
    """A configured folder path ("dondoc/da-xu-ly") in the server's own hierarchy delimiter ("." on Maildir)."""
    namespaces = client.namespace()
    personal = namespaces.personal or ()
    delimiter = personal[0][1] if personal and personal[0][1] else "/"
    if isinstance(delimiter, bytes):
        delimiter = delimiter.decode()
    return folder.replace("/", delimiter)


def _ensure_folder(client: IMAPClient, folder: str) -> str:
    """The server's name of a destination folder, created the first time it is needed."""
    name = server_folder(client, folder)
    if not client.folder_exists(name):
        client.create_folder(name)
    return name


def move_message(client: IMAPClient, uid: int, folder: str) -> None:
    """Move one message by UID (MOVE when the server has it, else COPY + delete + UID EXPUNGE)."""
    folder = _ensure_folder(client, folder)
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def _new_uids(client: IMAPClient, start_after: int) -> list[int]:
    """UIDs above start_after, ascending ("n:*" always includes the highest UID, so filter)."""
    found = client.search(["UID", f"{start_after + 1}:*"])
    return sorted(uid for uid in found if uid > start_after)


def _fetch(client: IMAPClient, uids: list[int]) -> Iterator[FetchedMessage]:
    """The messages of uids, in batches; oversized ones come without their body."""
    for start in range(0, len(uids), FETCH_BATCH):
        batch = uids[start : start + FETCH_BATCH]
        sizes = client.fetch(batch, ["RFC822.SIZE"])
        small = [uid for uid in batch if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) <= MAX_MESSAGE_BYTES]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        for uid in batch:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if uid not in bodies:
                if uid in sizes:
                    yield FetchedMessage(uid=uid, raw=b"", size=size, too_large=True)
                continue  # expunged meanwhile by another client
            yield FetchedMessage(uid=uid, raw=bytes(bodies[uid][b"BODY[]"]), size=size)


def poll_folder(
    client: IMAPClient,
    spec: MailboxSpec,
    cursor: str | None,
    handle: Callable[[FetchedMessage], Destination],
    save_cursor: Callable[[str], None],
) -> MailboxPoll:
    """Hand every message above the cursor to `handle`, saving the cursor after each, then move it where told."""
    try:
        status = client.select_folder(server_folder(client, spec.folder))
    except IMAPClientError as exc:
        raise MailboxDown(f"không mở được thư mục «{spec.folder}»: {exc}") from exc
    uidvalidity = int(status[b"UIDVALIDITY"])
    previous = UidCursor.parse(cursor)
    result = MailboxPoll(uidvalidity=uidvalidity, cursor=cursor)
    start_after = 0
    if previous is not None and previous.uidvalidity == uidvalidity:
        start_after = previous.last_uid
    elif previous is not None:
        result.restarted = True
        logger.warning(
            "UIDVALIDITY of %s changed (%s → %s): reading it again", spec.folder, previous.uidvalidity, uidvalidity
        )
    folders = {"processed": spec.processed_folder, "held": spec.held_folder}
    for message in _fetch(client, _new_uids(client, start_after)):
        destination = handle(message)  # raises: the cursor stays before this message, it is read next time
        result.read += 1
        result.cursor = UidCursor(uidvalidity, message.uid).encode()
        save_cursor(result.cursor)
        target = folders.get(destination)
        if target:
            move_message(client, message.uid, target)
            result.moved[destination] = result.moved.get(destination, 0) + 1
    return result
