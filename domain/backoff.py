"""One backoff formula for every retry loop (outbox deliveries, polled status sources)."""

from __future__ import annotations

import math
from typing import Protocol


class UniformSource(Protocol):
    """Anything with random.Random's uniform(), so tests can pass a seeded generator."""

    def uniform(self, a: float, b: float) -> float:
        """A float drawn uniformly from [a, b]."""
        ...


def backoff_delay(
    attempt: int,
    *,
    base_seconds: float,
    cap_seconds: float,
    jitter: float = 0.0,
    factor: float = 2.0,
    rng: UniformSource | None = None,
) -> float:
    """Seconds to wait after the attempt-th failure in a row (1-based): base·factor^(n-1), ±jitter, capped."""
    if base_seconds <= 0 or cap_seconds <= 0:
        raise ValueError("base_seconds and cap_seconds must be positive")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must lie in [0, 1]")
    if factor < 1:
        raise ValueError("factor must be at least 1")
    exponent = max(0, attempt - 1)
    # Compare in log space so a huge attempt count caps instead of overflowing a float.
    if factor > 1 and math.log(base_seconds) + exponent * math.log(factor) >= math.log(cap_seconds):
        raw = cap_seconds
    else:
        raw = base_seconds * factor**exponent
    if jitter and rng is None:
        raise ValueError("a jittered delay needs rng (e.g. random.Random())")
    spread = rng.uniform(1 - jitter, 1 + jitter) if jitter and rng is not None else 1.0
    return min(cap_seconds, raw * spread)


__all__ = ["UniformSource", "backoff_delay"]
