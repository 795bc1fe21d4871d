"""Zalo OA token storage: the access token and the rotating, single-use refresh token.

Zalo's refresh token can be used once; the refresh answer carries the next one. Losing that
answer (a crash, or two processes refreshing at once and one overwriting the other) locks
the OA out until someone re-authorises the app. So every refresh runs inside
`ZaloTokenStore.update()`, which holds an exclusive lock across read → refresh → write:
a second process waiting on the lock then sees the fresh tokens and does not refresh again.

`FileZaloTokenStore` keeps one JSON file (default `$DONDOC_HOME/zalo_tokens.json`, mode 0600)
written atomically: temp file + fsync + os.replace, under an fcntl.flock on a side lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from config.settings import get_settings

#: Refresh this long before the stored expiry, so a token never dies mid-request.
EXPIRY_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class ZaloTokens:
    """One OA's current tokens; `consumed_seed` fingerprints the last seed refresh token used."""

    access_token: str | None = None
    refresh_token: str | None = None
    expires_at: datetime | None = None
    consumed_seed: str | None = None

    def is_fresh(self, now: datetime) -> bool:
        """True when there is an access token not yet (nearly) expired per the stored expiry."""
        if not self.access_token:
            return False
        return self.expires_at is None or now < self.expires_at - EXPIRY_MARGIN

    def to_json(self) -> dict[str, str | None]:
        """Serialise with the expiry as ISO 8601 UTC."""
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> ZaloTokens:
        """Parse what to_json() wrote."""
        expires = data.get("expires_at")
        return cls(
            access_token=data.get("access_token"),
            refresh_token=data.get("refresh_token"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            consumed_seed=data.get("consumed_seed"),
        )


@runtime_checkable
class ZaloTokenStore(Protocol):
    """Where Zalo tokens live; `update` must be atomic and exclusive across processes."""

    def load(self, key: str) -> ZaloTokens | None:
        """Return the stored tokens for key (an app/OA id), or None."""
        ...

    def update(self, key: str, change: Callable[[ZaloTokens | None], ZaloTokens]) -> ZaloTokens:
        """Under an exclusive lock: re-read key, call change(current), persist and return its result."""
        ...


class FileZaloTokenStore:
    """ZaloTokenStore in one JSON file, written atomically under an fcntl lock."""

    def __init__(self, path: Path | None = None) -> None:
        """Use path, or `zalo_tokens.json` under DONDOC_HOME."""
        self.path = Path(path) if path is not None else get_settings().home / "zalo_tokens.json"
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # flock excludes other processes and other open() calls in this one; the thread lock
        # just avoids piling threads onto the same file descriptor dance.
        self._thread_lock = threading.RLock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive cross-process lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _read_all(self) -> dict[str, dict[str, str | None]]:
        """Read the whole file ({} when it does not exist yet)."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        data = json.loads(raw) if raw.strip() else {}
        if not isinstance(data, dict):
            raise ValueError(f"{self.path} does not hold a JSON object")
        return data

    def _write_all(self, data: dict[str, dict[str, str | None]]) -> None:
        """Replace the file atomically: temp file in the same folder, fsync, rename, fsync folder."""
        payload = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def load(self, key: str) -> ZaloTokens | None:
        """Return the stored tokens for key, or None (reads under the lock: never a torn file)."""
        with self._locked():
            entry = self._read_all().get(key)
        return ZaloTokens.from_json(entry) if entry else None

    def update(self, key: str, change: Callable[[ZaloTokens | None], ZaloTokens]) -> ZaloTokens:
        """Re-read, apply change, persist if it changed anything; all under the exclusive lock."""
        with self._locked():
            data = self._read_all()
            entry = data.get(key)
            current = ZaloTokens.from_json(entry) if entry else None
            updated = change(current)
            if updated != current:
                data[key] = updated.to_json()
                self._write_all(data)
            return updated


def expiry_from(expires_in: str | int | None, now: datetime | None = None) -> datetime | None:
    """Turn Zalo's `expires_in` (seconds, sent as a string) into an absolute UTC time."""
    if expires_in in (None, ""):
        return None
    moment = now or datetime.now(UTC)
    return moment + timedelta(seconds=int(expires_in))
