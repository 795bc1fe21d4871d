"""The shared backoff formula: exponential, capped, jittered within its bounds."""

import random

import pytest

from domain.backoff import backoff_delay


def test_exponential_then_capped() -> None:
    delays = [backoff_delay(n, base_seconds=60, cap_seconds=3600) for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_factor_and_first_attempt() -> None:
    assert backoff_delay(0, base_seconds=120, cap_seconds=21600, factor=3) == 120
    assert backoff_delay(3, base_seconds=120, cap_seconds=21600, factor=3) == 1080


def test_huge_attempt_caps_instead_of_overflowing() -> None:
    assert backoff_delay(10**6, base_seconds=120, cap_seconds=21600, factor=3) == 21600


def test_jitter_stays_within_bounds_and_under_cap() -> None:
    rng = random.Random(7)
    seen = {backoff_delay(2, base_seconds=100, cap_seconds=1000, jitter=0.25, rng=rng) for _ in range(200)}
    assert min(seen) >= 150 and max(seen) <= 250 and len(seen) > 100
    capped = {backoff_delay(9, base_seconds=100, cap_seconds=1000, jitter=0.5, rng=rng) for _ in range(50)}
    assert max(capped) <= 1000 and min(capped) >= 500


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        backoff_delay(1, base_seconds=0, cap_seconds=10)
    with pytest.raises(ValueError):
        backoff_delay(1, base_seconds=1, cap_seconds=10, jitter=0.5)
