"""New API's model request rate limit (``ModelRequestRateLimit*`` options), per user.

Two windows of ``ModelRequestRateLimitDurationMinutes``: every request counts
toward ``ModelRequestRateLimitCount`` (0 = unlimited), successful ones (status
< 400) toward ``ModelRequestRateLimitSuccessCount``. ``ModelRequestRateLimitGroup``
overrides both per group: ``{"group": [total, success]}``. In Redis when
configured (shared by every node), otherwise in a file shared by the node's
workers (:mod:`newapi.node.model_windows`), or in this process's memory.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass
from importlib import resources
from typing import Any

from newapi.core.errors import RateLimited
from newapi.node.model_windows import SharedModelWindows
from newapi.options.store import OptionStore


@dataclass(frozen=True, slots=True)
class Limits:
    enabled: bool
    window_ms: int
    total: int
    success: int
    groups: dict[str, tuple[int, int]]

    def for_group(self, group: str) -> tuple[int, int]:
        return self.groups.get(group, (self.total, self.success))


def _limits(options: OptionStore) -> Limits:
    raw = options.get_json("ModelRequestRateLimitGroup", {})
    groups: dict[str, tuple[int, int]] = {}
    if isinstance(raw, dict):
        for name, pair in raw.items():
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, int) for v in pair):
                groups[str(name)] = (max(0, pair[0]), max(0, pair[1]))
    return Limits(
        enabled=options.get_bool("ModelRequestRateLimitEnabled"),
        window_ms=max(1, options.get_int("ModelRequestRateLimitDurationMinutes", 1)) * 60_000,
        total=max(0, options.get_int("ModelRequestRateLimitCount", 0)),
        success=max(0, options.get_int("ModelRequestRateLimitSuccessCount", 1000)),
        groups=groups,
    )


def limits(options: OptionStore) -> Limits:
    return options.derived(_limits)


def _refused(retry_after: int) -> RateLimited:
    return RateLimited(
        f"you have reached the model request limit; retry in {max(1, retry_after)} seconds",
        code="model_request_rate_limited",
        headers={"Retry-After": str(max(1, retry_after))},
    )


class ModelRequestLimiter:
    def __init__(
        self, redis: Any | None = None, prefix: str = "", shared: SharedModelWindows | None = None
    ) -> None:
        self._redis = redis
        self._shared = shared
        self._prefix = f"{prefix}rateLimit:model:"
        self._script = None
        if redis is not None:
            source = resources.files("newapi.ratelimit").joinpath("model_limit.lua").read_text()
            self._script = redis.register_script(source)
        self._successes: dict[int, deque[float]] = {}
        self._totals: dict[int, tuple[float, int]] = {}

    async def check(self, options: OptionStore, user_id: int, group: str) -> bool:
        """Raise RateLimited when the user is over a limit; returns whether limits apply at all."""
        rules = limits(options)
        if not rules.enabled:
            return False
        total, success = rules.for_group(group)
        if total == 0 and success == 0:
            return False
        now_ms = int(time.time() * 1000)
        if self._script is not None:
            allowed, retry = await self._script(
                keys=[f"{self._prefix}ok:{user_id}", f"{self._prefix}all:{user_id}"],
                args=[now_ms, rules.window_ms, success, total],
            )
            if not int(allowed):
                raise _refused(int(retry))
            return True
        if self._shared is not None:
            wait = self._shared.check(user_id, now_ms, rules.window_ms, total, success)
            if wait:
                raise _refused(wait)
            return True
        self._check_memory(user_id, now_ms / 1000, rules.window_ms / 1000, total, success)
        return True

    def _check_memory(self, user_id: int, now: float, window: float, total: int, success: int) -> None:
        if success:
            times = self._successes.setdefault(user_id, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= success:
                raise _refused(int(times[0] + window - now) + 1)
        if total:
            start, count = self._totals.get(user_id, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            self._totals[user_id] = (start, count)
            if count > total:
                raise _refused(int(start + window - now) + 1)

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()

    async def record_success(self, user_id: int) -> None:
        if self._redis is not None:
            now_ms = int(time.time() * 1000)
            key = f"{self._prefix}ok:{user_id}"
            await self._redis.zadd(key, {f"{now_ms}:{uuid.uuid4().hex[:8]}": now_ms})
            await self._redis.pexpire(key, 24 * 3600 * 1000)
            return
        if self._shared is not None:
            self._shared.record_success(user_id, int(time.time() * 1000))
            return
        self._successes.setdefault(user_id, deque()).append(time.time())
