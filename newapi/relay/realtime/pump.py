"""Carrying a Realtime session's frames both ways, unchanged, until one side ends it.

Client frames go upstream as they came (text as text, binary as binary); upstream frames go to
the client likewise. Only ``response.done`` is read on the way (``on_text`` bills it before
the client sees it, so a response the client has was settled first). The session ends when
either side closes, when nothing moved for ``idle`` seconds, when it has lasted ``session``
seconds, or when a client frame exceeds ``max_frame``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newapi.core.errors import GatewayError
from newapi.core.types import Receive, Send

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

OnText = Callable[[str], Coroutine[Any, Any, GatewayError | None]]
OnFrame = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Limits:
    max_frame: int  # bytes (characters of a text frame)
    idle: float  # seconds without a frame either way
    session: float  # seconds a session may last


@dataclass(slots=True)
class Ending:
    """Why the session ended, and how the client's side is closed (code 0: it is already gone)."""

    reason: str  # client_closed, upstream_closed, upstream_error, refused, idle, session_limit, too_big
    code: int
    detail: str = ""
    error: GatewayError | None = None  # sent to the client as an ``error`` event before closing


class Pump:
    def __init__(
        self,
        receive: Receive,
        send: Send,
        upstream: ClientConnection,
        on_text: OnText,
        on_frame: OnFrame,
        limits: Limits,
    ) -> None:
        self._receive = receive
        self._send = send
        self._upstream = upstream
        self._on_text = on_text
        self._on_frame = on_frame
        self._limits = limits
        self.last = time.monotonic()
        self.first_frame_at = 0.0
        self._billing: asyncio.Task[GatewayError | None] | None = None

    async def run(self) -> Ending:
        limits = self._limits
        deadline = time.monotonic() + limits.session
        tasks: set[asyncio.Task[Ending]] = {
            asyncio.create_task(self._from_client(), name="realtime-client"),
            asyncio.create_task(self._from_upstream(), name="realtime-upstream"),
        }
        try:
            while True:
                now = time.monotonic()
                wait = min(self.last + limits.idle, deadline) - now
                if wait <= 0:
                    if now >= deadline:
                        return Ending("session_limit", 1008, f"session longer than {limits.session:g} s")
                    return Ending("idle", 1008, f"nothing sent for {limits.idle:g} s")
                done, _ = await asyncio.wait(tasks, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                if done:
                    return done.pop().result()
        finally:
            # A response being settled is finished first: its debit must not be cut in half.
            if self._billing is not None and not self._billing.done():
                await asyncio.wait({self._billing})
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _from_client(self) -> Ending:
        from websockets.exceptions import ConnectionClosed

        receive, upstream, limit = self._receive, self._upstream, self._limits.max_frame
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return Ending("client_closed", 0, str(message.get("code", "")))
            if kind != "websocket.receive":
                continue
            payload: str | bytes | None = message.get("text")
            if payload is None:
                payload = message.get("bytes")
                if payload is None:
                    continue
            if len(payload) > limit:
                return Ending("too_big", 1009, f"a frame may not exceed {limit} bytes")
            self.last = time.monotonic()
            try:
                await upstream.send(payload)
            except ConnectionClosed:
                # The upstream side reports how it closed; wait for it to do so.
                await asyncio.Event().wait()

    async def _from_upstream(self) -> Ending:
        from websockets.exceptions import ConnectionClosedError

        upstream, send = self._upstream, self._send
        try:
            async for message in upstream:
                self.last = time.monotonic()
                if not self.first_frame_at:
                    self.first_frame_at = self.last
                refusal = None
                if isinstance(message, str):
                    if '"response.done"' in message:
                        self._billing = asyncio.create_task(self._on_text(message))
                        refusal = await asyncio.shield(self._billing)
                    else:
                        self._on_frame(message)
                    event: dict[str, Any] = {"type": "websocket.send", "text": message}
                else:
                    event = {"type": "websocket.send", "bytes": message}
                if not await self._deliver(send, event):
                    return Ending("client_closed", 0)
                if refusal is not None:
                    return Ending("refused", 1008, refusal.message, refusal)
        except ConnectionClosedError as exc:
            return Ending("upstream_error", 1011, f"upstream WebSocket failed: {exc}")
        code = upstream.close_code or 1000
        return Ending("upstream_closed", code, upstream.close_reason or "")

    @staticmethod
    async def _deliver(send: Send, event: dict[str, Any]) -> bool:
        try:
            await send(event)
        except Exception:
            # The server's transport is gone (the client left between two frames); its
            # disconnect message ends the session from the other side.
            return False
        return True
