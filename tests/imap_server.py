"""A real IMAP server for tests: Debian's Dovecot (`dovecot-imapd`) on a free loopback port, private config.

    from tests.imap_server import dovecot, imap_account  # noqa: F401  (pytest fixtures)

    def test_x(imap_account):
        imap_account.append(b"Subject: hi\\r\\n\\r\\nhello\\r\\n")
        with imap_account.client() as client: ...

`dovecot` (session) starts one `dovecot -F -c <tmp>/dovecot.conf`: its own base, state and log
directories, plaintext login allowed on 127.0.0.1 only, no TLS, no system-wide file touched.
`imap_account` (per test) adds a fresh user with a random password (a passwd-file of its own), so
each test has an empty Maildir of its own.

Run as root (this project's machines and CI), Dovecot refuses mail access as uid 0 and its mail
processes run as the `dovecot` system user, which cannot walk into pytest's 0700 temp folders; so
each mail process is chrooted into the Maildir root (`home=<root>/./<user>`) before it drops
privileges, and the auth process (which reads the passwd-file) stays root. As a plain user every
process runs as that user and nothing is chrooted.

With CI=true a missing Dovecot fails the test; elsewhere it skips with the line to install it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.smtp_server import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DOVECOT = os.environ.get("DONDOC_DOVECOT") or shutil.which("dovecot") or "/usr/sbin/dovecot"
ENABLE_HINT = "IMAP tests skipped: Dovecot not found; enable them with `apt-get install dovecot-imapd`."
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ImapAccount:
    """One test user on the test Dovecot."""

    host: str
    port: int
    user: str
    password: str
    maildir: Path

    def client(self) -> IMAPClient:
        """A logged-in IMAPClient (plain IMAP on loopback); use as a context manager to log out."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, message: bytes, folder: str = "INBOX") -> None:
        """Deliver a raw RFC 5322 message into a folder by IMAP APPEND (creating the folder if needed)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, message)


class DovecotServer:
    """A private Dovecot instance under `root`, listening on 127.0.0.1:`port`."""

    def __init__(self, root: Path) -> None:
        """Write the configuration; call start()."""
        self.root = root
        self.port = free_port()
        self.host = "127.0.0.1"
        self.users_dir = root / "users"
        self.homes = root / "homes"
        self.log = root / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _config(self) -> str:
        """The whole configuration: nothing is read from /etc/dovecot."""
        me = pwd.getpwuid(os.geteuid())
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            userdb = f"uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={self.homes}/./%u mail=maildir:~/Maildir"
            users = f"valid_chroot_dirs = {self.homes}\nfirst_valid_uid = {mail_user.pw_uid}\n"
            users += "service auth {\n  user = root\n}\n"
        else:
            userdb = f"uid={me.pw_uid} gid={me.pw_gid} home={self.homes}/%u mail=maildir:~/Maildir"
            users = f"default_login_user = {me.pw_name}\ndefault_internal_user = {me.pw_name}\n"
            users += f"first_valid_uid = {me.pw_uid}\n"
        return f"""# dondoc tests: a private Dovecot (tests/imap_server.py)
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_fsync = never
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = {userdb}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""

    def start(self) -> None:
        """Start Dovecot in the foreground (our child) and wait until it answers on its port."""
        for folder in ("run", "state", "homes", "users"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            os.chown(self.homes, mail_user.pw_uid, mail_user.pw_gid)
        conf = self.root / "dovecot.conf"
        conf.write_text(self._config())
        self._process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"dovecot exited at start: {error}{self._log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=1) as probe:
                if probe.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}{self._log_tail()}")

    def _log_tail(self) -> str:
        """The last lines of Dovecot's log, for a failure message."""
        return "\n" + "\n".join(self.log.read_text().splitlines()[-10:]) if self.log.exists() else ""

    def stop(self) -> None:
        """Stop our Dovecot process (SIGTERM, then wait)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def add_user(self, user: str) -> ImapAccount:
        """Add a user with a fresh random password and an empty Maildir."""
        password = secrets.token_urlsafe(12)
        # One passwd-file per user: Dovecot re-reads a changed passwd-file at most once a second, so a
        # user added to a shared file right after another login could be refused for that second.
        (self.users_dir / user).write_text(f"{user}:{{PLAIN}}{password}\n")
        home = self.homes / user
        home.mkdir()
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            os.chown(home, mail_user.pw_uid, mail_user.pw_gid)
        return ImapAccount(self.host, self.port, user, password, home / "Maildir")


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DovecotServer]:
    """One private Dovecot for the session (fail in CI, skip elsewhere, when it is not installed)."""
    if not Path(DOVECOT).exists():
        if IN_CI:
            pytest.fail(f"CI=true but Dovecot is missing at {DOVECOT}: apt-get install dovecot-imapd")
        pytest.skip(ENABLE_HINT)
    server = DovecotServer(tmp_path_factory.mktemp("dovecot"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


_user_numbers = iter(range(1, 1_000_000))


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    """A fresh IMAP user with an empty mailbox on the session's Dovecot."""
    return dovecot.add_user(f"dondoc{next(_user_numbers)}")
