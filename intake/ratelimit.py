"""Per-key token buckets, in process memory.

Each API token, each signed link and each client address (for refused credentials) has a bucket
of `capacity` requests that refills at `rate_per_minute`. The buckets live in this process only:
with several intake processes behind a load balancer, each enforces its own limit (multiply
accordingly), and a restart refills them. That is enough against a runaway script or a guessing
loop; a shared limit would need a shared store (Redis, or the database).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by string; `take` answers how long to wait (0 when allowed)."""

    def __init__(
        self,
        capacity: int,
        rate_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ):
        self.capacity = capacity
        self.rate = rate_per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _refill(self, bucket: _Bucket, now: float) -> None:
        """Add the tokens earned since the bucket was last touched."""
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend cost tokens of key's bucket; return 0 if allowed, else the seconds until it would be."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.capacity), now)
            self._refill(bucket, now)
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate

    def blocked(self, key: str) -> float:
        """Seconds until key may spend one token again (0 when it may now), without spending."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            self._refill(bucket, self.clock())
            return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no information."""
        for key in [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.capacity]:
            del self._buckets[key]


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
