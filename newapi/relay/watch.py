"""Watching for the client to leave, so the upstream request is cancelled at once.

A disconnect only shows up when the app awaits ``receive()``; after the body is
read, one pending ``receive()`` per request turns the disconnect into a
cancellation of the request's task (which closes the upstream socket).

Just before the last bytes of the response are handed over, the watch is disarmed
and the request settled (see ``Relay.handle``): a client closing its connection after
a complete answer must never cancel its settlement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from newapi.core.types import Message, Receive, Send


class DisconnectWatch:
    __slots__ = ("_future", "_task", "armed", "gone")

    def __init__(self, receive: Receive) -> None:
        self.gone = False
        self.armed = True
        self._task = asyncio.current_task()
        self._future: asyncio.Future[object] = asyncio.ensure_future(receive())
        self._future.add_done_callback(self._fired)

    def _fired(self, future: asyncio.Future[object]) -> None:
        if future.cancelled():
            return
        if future.exception() is None:
            message = future.result()
            if isinstance(message, dict) and message.get("type") == "http.disconnect" and self.armed:
                self.gone = True
                if self._task is not None and not self._task.done():
                    self._task.cancel()

    def guard(self, send: Send, before_end: Callable[[], Awaitable[None]] | None = None) -> Send:
        """``send``, disarming the watch just before the response's final message, and running
        ``before_end`` then (the settlement: it is journaled before the client has it all)."""

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.armed = False
                if before_end is not None:
                    await before_end()
            await send(message)

        return guarded

    def stop(self) -> None:
        if not self._future.done():
            self._future.remove_done_callback(self._fired)
            self._future.cancel()
