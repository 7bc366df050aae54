"""A keyed cache with expiry, negative entries and single-flight loading."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()


class KeyedCache(Generic[K, V]):
    """Values loaded on first use and kept for ``ttl`` seconds.

    ``None`` results (unknown keys) are cached for ``negative_ttl`` so a flood of
    bad keys cannot turn into a flood of queries. Concurrent misses for one key
    share a single load. ``max_entries`` bounds memory; the oldest entries go first.
    """

    def __init__(
        self,
        loader: Callable[[K], Awaitable[V | None]],
        ttl: float,
        negative_ttl: float = 5.0,
        max_entries: int = 200_000,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max = max_entries
        self._entries: dict[K, tuple[V | None, float]] = {}
        self._loading: dict[K, asyncio.Future[V | None]] = {}

    def peek(self, key: K) -> V | object | None:
        """The cached value, or ``_MISSING`` (compare with :func:`is_missing`)."""
        entry = self._entries.get(key)
        if entry is None or entry[1] < time.monotonic():
            return _MISSING
        return entry[0]

    async def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] >= time.monotonic():
            return entry[0]
        pending = self._loading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._loader(key)
        except BaseException as exc:
            future.set_exception(exc)
            # Retrieve it so an unawaited future does not log "exception never retrieved".
            future.exception()
            raise
        finally:
            self._loading.pop(key, None)
        self.put(key, value)
        future.set_result(value)
        return value

    def put(self, key: K, value: V | None) -> None:
        if len(self._entries) >= self._max:
            # dicts keep insertion order: drop the oldest tenth.
            for stale in list(self._entries)[: self._max // 10 or 1]:
                del self._entries[stale]
        ttl = self._ttl if value is not None else self._negative_ttl
        self._entries.pop(key, None)
        self._entries[key] = (value, time.monotonic() + ttl)

    def invalidate(self, key: K) -> None:
        self._entries.pop(key, None)

    def invalidate_where(self, predicate: Callable[[V], bool]) -> None:
        for key, (value, _) in list(self._entries.items()):
            if value is not None and predicate(value):
                del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def is_missing(value: object) -> bool:
    return value is _MISSING
