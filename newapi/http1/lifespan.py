"""The ASGI lifespan protocol, from the server's side: startup before serving, shutdown after."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from newapi.core.types import ASGIApp

log = logging.getLogger("newapi.http1")


class LifespanFailed(RuntimeError):
    """The app's startup failed; the worker must not serve."""


class Lifespan:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        try:
            await self._app(scope, self._inbox.get, self._send)
        except Exception as exc:
            # An app that fails without answering must not leave the server waiting; the failure
            # is logged here (the worker then exits) rather than left in a task nobody awaits.
            log.exception("the app's lifespan failed")
            self._outbox.put_nowait({"type": "lifespan.ended", "message": repr(exc)})
            return
        self._outbox.put_nowait({"type": "lifespan.ended"})

    async def _send(self, message: Any) -> None:
        self._outbox.put_nowait(dict(message))

    async def startup(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        self._inbox.put_nowait({"type": "lifespan.startup"})
        answer = await self._outbox.get()
        if answer["type"] == "lifespan.ended" and "message" not in answer:
            return  # an app without a lifespan: returned at once, nothing to set up
        if answer["type"] != "lifespan.startup.complete":
            raise LifespanFailed(str(answer.get("message") or "the app's startup failed"))

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        if self._outbox.qsize():
            return  # the app has returned already
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        await self._outbox.get()
        await self._task
