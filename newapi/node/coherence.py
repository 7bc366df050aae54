"""Keeping a worker's caches in step with the other workers of its node.

A worker that accepts a write bumps the node's generation file after the commit
and applies the change itself before answering. Every request first asks
:meth:`Coherence.stale` (one shared-memory read); when it is true, the request
waits for :meth:`catch_up`, which applies what the other workers wrote: one
token or user dropped, or the channels or options reloaded. Concurrent requests
share a single catch-up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from newapi.node.generations import Change, Generations

log = logging.getLogger(__name__)

Apply = Callable[[str, str], Awaitable[None]]
# After a failed apply (database down), requests go on with the caches they have
# and the next retry waits this long, so an outage does not become a reload storm.
RETRY_AFTER = 1.0


class Coherence:
    def __init__(self, generations: Generations, apply: Apply) -> None:
        self._generations = generations
        self._apply = apply
        self.stale = generations.stale
        self._pending: list[Change] = []
        self._running: asyncio.Task[None] | None = None
        self._failed_at = 0.0

    @property
    def path(self) -> str:
        return self._generations.path

    def announce(self, kind: str, ident: str = "") -> None:
        """Tell the node's other workers (call after the commit, before applying locally)."""
        self._generations.bump(kind, ident)

    async def catch_up(self) -> None:
        """Apply what other workers changed; returns when this worker is up to date."""
        while self._running is not None:
            await asyncio.shield(self._running)
        if not self.stale():
            return
        if self._pending and time.monotonic() - self._failed_at < RETRY_AFTER:
            return
        self._running = asyncio.create_task(self._run(), name="node-catch-up")
        await asyncio.shield(self._running)

    async def _run(self) -> None:
        try:
            changes = _merge(self._pending + self._generations.collect())
            self._pending = []
            for position, (kind, ident) in enumerate(changes):
                try:
                    await self._apply(kind, ident)
                except Exception:
                    log.warning("applying another worker's cache change failed; will retry", exc_info=True)
                    # Retry reloads; a drop that failed (a bad ident) becomes a clear, which cannot.
                    self._pending = [
                        (left, "" if left in ("token", "user") else name) for left, name in changes[position:]
                    ]
                    self._failed_at = time.monotonic()
                    self._generations.force()
                    return
            self._generations.settle()
        finally:
            # Cleared by the task itself, so no waiter ever finds a finished task here.
            self._running = None

    def close(self) -> None:
        self._generations.close()


def _merge(changes: list[Change]) -> list[Change]:
    """One reload per kind, and nothing else once everything reloads."""
    if any(kind == "all" for kind, _ in changes):
        return [("all", "")]
    whole = {kind for kind, ident in changes if not ident or kind in ("channels", "options")}
    # The cheap drops first (in order, once each), then the reloads that query the database.
    merged = list(dict.fromkeys(change for change in changes if change[0] not in whole))
    return merged + [(kind, "") for kind in ("token", "user", "channels", "options") if kind in whole]
