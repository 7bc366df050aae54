"""Cache invalidation between workers and nodes.

The workers of one node see each other's changes through the node's generation
file (:mod:`newapi.node.coherence`) on their next request. Across nodes, with
Redis, a change is applied locally at once and published on one channel; every
worker applies what it hears, and one that lost its subscription reloads
everything when it is back (messages may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)

CHANNEL = "newapi:invalidate"
Apply = Callable[[str, str], Awaitable[None]]
#: Seconds a starting worker waits for its subscription before serving without it.
SUBSCRIBE_WAIT = 5.0


class InvalidationBus:
    def __init__(
        self, apply: Apply, redis: Any | None = None, prefix: str = "", listener: Any | None = None
    ) -> None:
        self._apply = apply
        self._redis = redis
        self._listener = listener or redis
        self._channel = f"{prefix}{CHANNEL}"
        # Messages we published ourselves are already applied; skip their echo.
        self._origin = f"{os.getpid()}:{id(self)}"
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def publish(self, kind: str, ident: str = "") -> None:
        await self._apply(kind, ident)
        if self._redis is not None:
            message = orjson.dumps({"o": self._origin, "k": kind, "i": ident})
            try:
                await self._redis.publish(self._channel, message)
            except Exception:
                # The other workers will still catch up at the next periodic reload.
                log.warning("could not publish cache invalidation %s", kind, exc_info=True)

    async def start(self) -> None:
        """Subscribe, then reload everything once, before the worker serves.

        The caches were first loaded before the subscription existed: a change another node
        published in between would otherwise reach this worker only at the next periodic
        reload (SYNC_FREQUENCY). A Redis that does not answer within SUBSCRIBE_WAIT does not
        hold the start up; the listener keeps trying.
        """
        if self._redis is not None and self._task is None:
            self._subscribed = asyncio.Event()
            self._task = asyncio.create_task(self._listen(), name="invalidation-bus")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._listener is not None and self._listener is not self._redis:
            await self._listener.aclose()

    async def _listen(self) -> None:
        assert self._listener is not None
        while True:
            pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                # Messages may have been missed before this subscription (since the first
                # load, or while disconnected): reload everything.
                await self._apply("all", "")
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        body = orjson.loads(message["data"])
                    except (orjson.JSONDecodeError, TypeError, KeyError):
                        continue
                    if body.get("o") == self._origin:
                        continue
                    await self._apply(str(body.get("k", "")), str(body.get("i", "")))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("invalidation listener lost Redis; retrying", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    log.debug("closing pubsub failed", exc_info=True)
