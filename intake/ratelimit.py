"""Rate limits of the intake, on the `limits` library: shared through Redis, or in this process only.

Each API token, each signed link and each client address (for refused credentials) has a moving
window of `burst` requests per `burst / rate_per_minute` minutes: the same average rate as a
token bucket of that capacity, and never more than `burst` at once. With a Redis URL every intake
process counts in the same windows, so running several processes behind a load balancer does not
multiply the limits; without one each process counts alone (logged at start-up).
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger("dondoc.intake")


def build_storage(redis_url: str | None, prefix: str) -> Storage:
    """Redis when a URL is given (checked now, so a wrong URL stops the start-up), else process memory."""
    if not redis_url:
        logger.warning(
            "Intake rate limits are kept in this process only (DONDOC_INTAKE_REDIS_URL is not set): "
            "each intake process enforces its own limits."
        )
        return MemoryStorage()
    storage = RedisStorage(redis_url, key_prefix=prefix)
    if not storage.check():
        raise ConnectionError(f"không kết nối được Redis cho giới hạn tần suất: {_without_password(redis_url)}")
    logger.info("Intake rate limits are shared through Redis at %s", _without_password(redis_url))
    return storage


def _without_password(url: str) -> str:
    """A Redis URL fit for a log line."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


class RateLimiter:
    """One kind of limit (per token, per link, per client address); `take` answers how long to wait (0: allowed)."""

    def __init__(self, storage: Storage, name: str, burst: int, rate_per_minute: float):
        self.name = name
        window_seconds = max(1, math.ceil(burst * 60 / rate_per_minute))
        self.item: RateLimitItem = RateLimitItemPerSecond(burst, window_seconds)
        self.limiter = MovingWindowRateLimiter(storage)

    def take(self, key: str) -> float:
        """Count one request for key; 0 if allowed, else the seconds until one would be."""
        if self.limiter.hit(self.item, self.name, key):
            return 0.0
        return self.wait(key)

    def blocked(self, key: str) -> float:
        """Seconds until key may make a request again (0 when it may now), without counting one."""
        if self.limiter.test(self.item, self.name, key):
            return 0.0
        return self.wait(key)

    def wait(self, key: str) -> float:
        """Seconds until the window of key frees a place."""
        reset_at = self.limiter.get_window_stats(self.item, self.name, key).reset_time
        return max(1.0, reset_at - time.time())


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
