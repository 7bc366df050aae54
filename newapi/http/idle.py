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

_Task = asyncio.Task[object]


class IdleWatch:
    """Tasks reading a body, with when each last made progress."""

    def __init__(self, timeout: float, loop: asyncio.AbstractEventLoop) -> None:
        self.timeout = timeout
        self.loop = loop
        # A cut lands within a quarter of the timeout (a second at most) after it expires.
        self._tick = min(1.0, timeout / 4)
        self._last: dict[_Task, float] = {}
        self._fired: set[_Task] = set()
        self._timer: asyncio.TimerHandle | None = None

    def enter(self) -> _Task:
        task: _Task | None = asyncio.current_task()
        if task is None:
            raise RuntimeError("IdleWatch.enter() needs a running task")
        self._last[task] = time.monotonic()
        if self._timer is None:
            self._timer = self.loop.call_later(self._tick, self._sweep)
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

    def _sweep(self) -> None:
        limit = time.monotonic() - self.timeout
        for task, last in list(self._last.items()):
            if last <= limit and task not in self._fired:
                self._fired.add(task)
                del self._last[task]
                task.cancel()
        self._timer = self.loop.call_later(self._tick, self._sweep) if self._last else None


_watches: dict[float, IdleWatch] = {}


def idle_watch(timeout: float) -> IdleWatch:
    """The running loop's watch for ``timeout`` (one per worker in practice)."""
    loop = asyncio.get_running_loop()
    watch = _watches.get(timeout)
    if watch is None or watch.loop is not loop:
        watch = _watches[timeout] = IdleWatch(timeout, loop)
    return watch
