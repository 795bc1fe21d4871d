"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, scriptable per reply.

    with SMTPTestServer() as smtp:
        smtp.reply_to_data("451 4.3.0 Try again later")    # next DATA gets a 451
        smtp.reply_to_rcpt("nobody@example.vn", "550 5.1.1 No such user")
        ... send to smtp.url(to="a@example.vn") ...
        smtp.messages[0].message["Subject"]

`stop()` then `start()` again keeps the same port, so a test can take the server down and
bring it back (fault tests for the outbox).
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlencode

from aiosmtpd.controller import Controller


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a currently unused TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: envelope and the parsed RFC 5322 message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the modern email policy (headers decoded)."""
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    """aiosmtpd handler: records accepted messages, plays scripted replies."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[ReceivedMessage] = []
        self.data_replies: deque[str] = deque()
        self.rcpt_replies: dict[str, str] = {}
        self.rcpt_attempts: list[str] = []
        self.data_attempts = 0
        self.peers: list[Any] = []  # the client's (host, port) of each DATA: one port per connection
        self.on_data: Callable[[EmailMessage], None] | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list) -> str:
        with self.lock:
            self.rcpt_attempts.append(address)
            scripted = self.rcpt_replies.get(address.lower())
        if scripted:
            return scripted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.on_data is not None:  # before the reply: the client is still waiting for it
            data = bytes(envelope.original_content or envelope.content)
            self.on_data(message_from_bytes(data, policy=policy.default))  # type: ignore[arg-type]
        with self.lock:
            self.data_attempts += 1
            self.peers.append(session.peer)
            if self.data_replies:
                return self.data_replies.popleft()
            self.received.append(
                ReceivedMessage(
                    envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)
                )
            )
        return "250 Message accepted for delivery"


class SMTPTestServer:
    """Context manager running aiosmtpd on 127.0.0.1 at a free (or given) port."""

    def __init__(
        self, host: str = "127.0.0.1", port: int | None = None, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """Choose the port now so it stays the same across stop()/start(); tls_context enables STARTTLS."""
        self.host = host
        self.port = port or free_port(host)
        self.tls_context = tls_context
        self._handler = _Handler()
        self._controller: Controller | None = None

    def start(self) -> SMTPTestServer:
        """Start (or restart) listening."""
        if self._controller is None:
            extra: dict[str, Any] = {"tls_context": self.tls_context} if self.tls_context else {}
            self._controller = Controller(self._handler, hostname=self.host, port=self.port, **extra)
            self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        """True while the server accepts connections."""
        return self._controller is not None

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting and inspection ------------------------------------------------------
    def reply_to_data(self, *replies: str) -> None:
        """Queue replies (e.g. '451 4.3.0 Try again later') for the next DATA commands."""
        with self._handler.lock:
            self._handler.data_replies.extend(replies)

    def on_data(self, callback: Callable[[EmailMessage], None] | None) -> None:
        """Call callback with each message as its DATA arrives, before the server answers it (None: stop)."""
        self._handler.on_data = callback

    def reply_to_rcpt(self, address: str, reply: str | None) -> None:
        """Answer RCPT TO:<address> with reply from now on (None restores 250)."""
        with self._handler.lock:
            if reply is None:
                self._handler.rcpt_replies.pop(address.lower(), None)
            else:
                self._handler.rcpt_replies[address.lower()] = reply

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Accepted messages, in arrival order."""
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def data_attempts(self) -> int:
        """How many DATA commands arrived (accepted or not)."""
        with self._handler.lock:
            return self._handler.data_attempts

    @property
    def connections(self) -> int:
        """How many client connections carried a DATA command (accepted or not)."""
        with self._handler.lock:
            return len(set(self._handler.peers))

    def clear(self) -> None:
        """Forget received messages and attempts."""
        with self._handler.lock:
            self._handler.peers.clear()
            self._handler.received.clear()
            self._handler.rcpt_attempts.clear()
            self._handler.data_attempts = 0

    def url(self, *, to: str, sender: str = "dondoc@bacgiang.example.vn", **params: str) -> str:
        """A mailto:// URL for this server (plain SMTP, as aiosmtpd speaks no TLS here)."""
        query = {"from": sender, "to": to, "mode": "insecure", **params}
        # quote (%20), not quote_plus: Apprise reads "+" literally (it prefixes custom headers).
        return f"mailto://{self.host}:{self.port}?{urlencode(query, quote_via=quote)}"
