"""Rate limiters: in memory per worker, or shared through Redis."""

from __future__ import annotations

from typing import Any

from newapi.ratelimit.limiter import MemoryRateLimiter, RateLimiter, RedisRateLimiter

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "build_rate_limiter"]


def build_rate_limiter(redis: Any | None, prefix: str = "") -> RateLimiter:
    if redis is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(redis, prefix)
