"""Cutting request bodies that stop arriving, without a timer per request.

``asyncio.timeout`` costs 3-9 µs per body under uvloop (a libuv timer armed and
cancelled each time), a few per cent of a relay call. Instead, every body read
registers its task with the worker's :class:`IdleWatch` and stamps it on each
chunk; one periodic sweep cancels the tasks that made no progress for
``timeout`` seconds, and the reader turns that cancellation into a 408.

A task is only registered while it waits in ``receive()``, so the sweep's
cancellation always lands there, never in unrelated code after the body.
"""

from __future__ import annotations

import asyncio
import time

from newapi.core.ticks import next_tick

_Task = asyncio.Task[object]


class IdleWatch:
    """Tasks reading a body, with when each last made progress."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        # A cut lands within a quarter of the timeout (a second at most) after it expires.
        self._tick = min(1.0, timeout / 4)
        self._last: dict[_Task, float] = {}
        self._fired: set[_Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> _Task:
        task: _Task | None = asyncio.current_task()
        if task is None:
            raise RuntimeError("IdleWatch.enter() needs a running task")
        self._last[task] = time.monotonic()
        if self._timer is None or task.get_loop() is not self._loop:
            self._arm(task.get_loop())
        return task

    def touch(self, task: _Task) -> None:
        self._last[task] = time.monotonic()

    def leave(self, task: _Task) -> None:
        self._last.pop(task, None)

    def fired(self, task: _Task) -> bool:
        """Whether the sweep cancelled ``task`` (call on CancelledError); if so the cancel is undone."""
        if task not in self._fired:
            return False
        self._fired.discard(task)
        task.uncancel()
        return True

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop is not self._loop:
            # A new event loop (tests run several): what the old one held is gone with it.
            if self._timer is not None:
                self._timer.cancel()
            self._last = {task: last for task, last in self._last.items() if task.get_loop() is loop}
            self._fired.clear()
            self._loop = loop
        self._timer = loop.call_at(next_tick(loop, self._tick), self._sweep)

    def _sweep(self) -> None:
        limit = time.monotonic() - self.timeout
        for task, last in list(self._last.items()):
            if last <= limit and task not in self._fired:
                self._fired.add(task)
                del self._last[task]
                task.cancel()
        loop = self._loop
        self._timer = (
            loop.call_at(next_tick(loop, self._tick), self._sweep)
            if self._last and loop is not None
            else None
        )


_watches: dict[float, IdleWatch] = {}


def idle_watch(timeout: float) -> IdleWatch:
    """The watch for ``timeout`` (one per worker in practice)."""
    watch = _watches.get(timeout)
    if watch is None:
        watch = _watches[timeout] = IdleWatch(timeout)
    return watch
