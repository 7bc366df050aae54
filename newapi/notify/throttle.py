"""New API's notification limit: at most NOTIFY_LIMIT_COUNT of one type per user in every
NOTIFICATION_LIMIT_DURATION_MINUTE (shared through Redis when there is one, else per worker)."""

from __future__ import annotations

import time
from typing import Any


class Throttle:
    def __init__(self, limit: int, minutes: int, redis: Any | None = None, prefix: str = "") -> None:
        self._limit = limit
        self._window = max(1, minutes) * 60
        self._redis = redis
        self._prefix = prefix
        self._local: dict[tuple[int, str], tuple[float, int]] = {}

    async def allow(self, user_id: int, kind: str) -> bool:
        if self._limit <= 0:
            return True
        if self._redis is not None:
            key = f"{self._prefix}notify_limit:{user_id}:{kind}"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self._window, nx=True)
                pipe.incr(key)
                _created, count = await pipe.execute()
            return int(count) <= self._limit
        now = time.monotonic()
        started, count = self._local.get((user_id, kind), (now, 0))
        if now - started >= self._window:
            started, count = now, 0
        self._local[user_id, kind] = (started, count + 1)
        return count + 1 <= self._limit
