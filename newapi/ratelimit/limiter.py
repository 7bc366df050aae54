"""Counting hits per key within a window."""

from __future__ import annotations

import time
from collections import deque
from importlib import resources
from typing import Any, Protocol


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: int) -> tuple[bool, int]:
        """Count one hit on ``key``; (allowed, seconds to wait when refused)."""
        ...


class MemoryRateLimiter:
    """A sliding window per key, per worker (New API's in-memory limiter)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, limit: int, window: int) -> tuple[bool, int]:
        if limit <= 0:
            return True, 0
        now = time.monotonic()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._evict(now, window)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False, max(1, int(hits[0] + window - now) + 1)
        hits.append(now)
        return True, 0

    def _evict(self, now: float, window: int) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:
            for key in list(self._hits)[: self._max_keys // 10 or 1]:
                del self._hits[key]


class RedisRateLimiter:
    """A fixed window per key in Redis, shared by every worker and node."""

    def __init__(self, redis: Any, prefix: str = "") -> None:
        source = resources.files("newapi.ratelimit").joinpath("fixed_window.lua").read_text()
        self._script = redis.register_script(source)
        self._prefix = f"{prefix}rateLimit:v2:"

    async def hit(self, key: str, limit: int, window: int) -> tuple[bool, int]:
        if limit <= 0:
            return True, 0
        allowed, ttl = await self._script(keys=[self._prefix + key], args=[limit, window])
        return bool(int(allowed)), int(ttl)
