"""Watching for the client to leave, so the upstream request is cancelled.

A disconnect only shows up when the app awaits ``receive()``; after the body is
read, one pending ``receive()`` per request turns the disconnect into a
cancellation of the request's task (which closes the upstream socket).

That ``receive()`` is armed lazily: Granian answers it by waiting in its Rust runtime for
the response's end or the client leaving, a wake-up and thread hand-offs that cost about a
tenth of a worker's CPU per request at a steady trickle, while most requests are answered
in a few milliseconds, before a client leaving could matter. So a watch is only queued when
it is made, and one shared timer per event loop (:class:`_Arming`, not one per request)
arms the watches still running :data:`ARM_AFTER` to twice that later; a request answered
before then never calls ``receive()`` again. A client leaving is noticed at most that much
later (bench/README.md, "The client-disconnect watch").

A server whose ``receive()`` costs nothing to wait on says so by ``cheap_disconnect = True`` on
the object ``receive`` is bound to (newapi/http1's :class:`~newapi.http1.cycle.Cycle`): its
watches are armed at once, so the shared timer (up to 40 wake-ups a second of a worker that is
otherwise asleep between requests) never runs and a client leaving is noticed at once
(bench/README.md, "A steady 200 req/s on newapi/http1").

Just before the last bytes of the response are handed over, the watch is disarmed
and the request settled (see ``Relay.handle``): a client closing its connection after
a complete answer must never cancel its settlement. What the settlement leaves for later
(``before_end``'s returned callable: metrics, cached balances) runs once those bytes are
handed over, or the handing over failed: off the answer's critical path, never skipped.

This runs once per relayed request and its ``send`` once per message (every SSE event),
so it is kept lean: Granian's ``receive()`` already returns a future, which is watched
as it is (no task wrapped around it), and ``send`` hands back the server's own awaitable
for every message but the last (no coroutine per event).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeAlias

from newapi.core.types import Message, Receive, Send

log = logging.getLogger(__name__)

# The arming timer's period in seconds: a watch is armed one to two periods after it is made.
ARM_AFTER = 0.025


class _Arming:
    """The watches of one event loop not armed yet, in two generations: every
    :data:`ARM_AFTER` the older one is armed and the younger one becomes the older."""

    __slots__ = ("_handle", "_old", "_young", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._young: list[DisconnectWatch] = []
        self._old: list[DisconnectWatch] = []
        self._handle: asyncio.TimerHandle | None = None

    def add(self, watch: DisconnectWatch) -> None:
        self._young.append(watch)
        if self._handle is None:
            self._handle = self.loop.call_later(ARM_AFTER, self._tick)

    def _tick(self) -> None:
        old, self._old, self._young = self._old, self._young, []
        # Rescheduled first: a receive() raising below must not stop the arming of later watches.
        self._handle = self.loop.call_later(ARM_AFTER, self._tick) if self._old else None
        for watch in old:
            if watch.armed:
                try:
                    watch.arm()
                except Exception:
                    log.exception("arming a disconnect watch")


_arming: _Arming | None = None


def _arming_of(loop: asyncio.AbstractEventLoop) -> _Arming:
    global _arming
    arming = _arming
    if arming is None or arming.loop is not loop:
        arming = _arming = _Arming(loop)
    return arming


# Runs before the response's final message; what it returns runs after that message.
BeforeEnd: TypeAlias = Callable[[], Awaitable[Callable[[], None] | None]]


class DisconnectWatch:
    __slots__ = ("_before_end", "_future", "_receive", "_send", "_task", "armed", "gone")

    def __init__(self, receive: Receive, send: Send, before_end: BeforeEnd | None = None) -> None:
        """Watch ``receive`` (from :data:`ARM_AFTER` on); :meth:`send` is ``send`` disarming
        the watch just before the response's final message and running ``before_end`` then
        (the settlement: it is journaled before the client has it all). A callable that
        ``before_end`` returns runs after the final message was sent, or its sending raised."""
        self.gone = False
        # False once the final message is going out or the watch is stopped: never armed then.
        self.armed = True
        self._send = send
        self._before_end = before_end
        self._receive = receive
        self._future: asyncio.Future[object] | None = None
        task = self._task = asyncio.current_task()
        if getattr(getattr(receive, "__self__", None), "cheap_disconnect", False):
            # newapi's own server answers with a plain future that nothing wakes but the client
            # leaving or the response ending: armed at once, no arming timer waking the loop.
            self.arm()
            return
        _arming_of(task.get_loop() if task is not None else asyncio.get_running_loop()).add(self)

    def arm(self) -> None:
        """Await the server's ``receive()`` for the disconnect (the arming timer calls this)."""
        pending = self._receive()
        # Granian's receive() is future-like already; other servers' is a coroutine.
        future = pending if asyncio.isfuture(pending) else asyncio.ensure_future(pending)
        self._future = future
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
        after = None if self._before_end is None else await self._before_end()
        if after is None:
            await self._send(message)
            return
        try:
            await self._send(message)
        finally:
            after()

    def stop(self) -> None:
        self.armed = False
        future = self._future
        if future is not None and not future.done():
            future.remove_done_callback(self._fired)
            future.cancel()
