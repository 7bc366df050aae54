"""Watching for the client to leave, so the upstream request is cancelled at once.

A disconnect only shows up when the app awaits ``receive()``; after the body is
read, one pending ``receive()`` per request turns the disconnect into a
cancellation of the request's task (which closes the upstream socket).

Just before the last bytes of the response are handed over, the watch is disarmed
and the request settled (see ``Relay.handle``): a client closing its connection after
a complete answer must never cancel its settlement.

This runs once per relayed request and its ``send`` once per message (every SSE event),
so it is kept lean: Granian's ``receive()`` already returns a future, which is watched
as it is (no task wrapped around it), and ``send`` hands back the server's own awaitable
for every message but the last (no coroutine per event).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from newapi.core.types import Message, Receive, Send


class DisconnectWatch:
    __slots__ = ("_before_end", "_future", "_send", "_task", "armed", "gone")

    def __init__(
        self, receive: Receive, send: Send, before_end: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Watch ``receive``; :meth:`send` is ``send`` disarming the watch just before the
        response's final message and running ``before_end`` then (the settlement: it is
        journaled before the client has it all)."""
        self.gone = False
        self.armed = True
        self._send = send
        self._before_end = before_end
        self._task = asyncio.current_task()
        pending = receive()
        # Granian's receive() is future-like already; other servers' is a coroutine.
        future = pending if asyncio.isfuture(pending) else asyncio.ensure_future(pending)
        self._future: asyncio.Future[object] = future
        future.add_done_callback(self._fired)

    def _fired(self, future: asyncio.Future[object]) -> None:
        if future.cancelled():
            return
        if future.exception() is None:
            message = future.result()
            if isinstance(message, dict) and message.get("type") == "http.disconnect" and self.armed:
                self.gone = True
                if self._task is not None and not self._task.done():
                    self._task.cancel()

    def send(self, message: Message) -> Awaitable[None]:
        """The guarded ``send`` (a :data:`Send`)."""
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            return self._send_final(message)
        return self._send(message)

    async def _send_final(self, message: Message) -> None:
        self.armed = False
        if self._before_end is not None:
            await self._before_end()
        await self._send(message)

    def stop(self) -> None:
        if not self._future.done():
            self._future.remove_done_callback(self._fired)
            self._future.cancel()
