"""One exponential backoff with jitter, shared by every retry loop that is not Prefect's own (outbox, polled sources)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Backoff:
    """Wait base × factor^(n−1) after the n-th failure in a row, ± jitter, never more than max_seconds."""

    base_seconds: float
    factor: float = 2.0
    max_seconds: float = 3600.0
    jitter: float = 0.25


def backoff_delay(failures: int, policy: Backoff, rng: random.Random | None = None) -> timedelta:
    """The wait after `failures` failed attempts in a row (1-based), jittered and capped."""
    raw = min(policy.max_seconds, policy.base_seconds * policy.factor ** max(0, failures - 1))
    spread = (rng or random).uniform(1 - policy.jitter, 1 + policy.jitter)
    return timedelta(seconds=min(policy.max_seconds, raw * spread))
