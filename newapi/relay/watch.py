"""Watching for the client to leave, so the upstream request is cancelled at once.

A disconnect only shows up when the app awaits ``receive()``; after the body is
read, one pending ``receive()`` per request turns the disconnect into a
cancellation of the request's task (which closes the upstream socket).
"""

from __future__ import annotations

import asyncio

from newapi.core.types import Receive


class DisconnectWatch:
    __slots__ = ("_future", "_task", "gone")

    def __init__(self, receive: Receive) -> None:
        self.gone = False
        self._task = asyncio.current_task()
        self._future: asyncio.Future[object] = asyncio.ensure_future(receive())
        self._future.add_done_callback(self._fired)

    def _fired(self, future: asyncio.Future[object]) -> None:
        if future.cancelled():
            return
        if future.exception() is None:
            message = future.result()
            if isinstance(message, dict) and message.get("type") == "http.disconnect":
                self.gone = True
                if self._task is not None and not self._task.done():
                    self._task.cancel()

    def stop(self) -> None:
        if not self._future.done():
            self._future.remove_done_callback(self._fired)
            self._future.cancel()
