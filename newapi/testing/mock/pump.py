"""Sending one reply: time to first byte, event pacing, flow control and the transport-level faults.

The pump runs synchronously until it has to wait (latency, a paused transport, a stall), then
schedules itself with ``call_later`` or the transport's resume callback: no task per request, and
a zero-latency stream goes out in one write.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Protocol

from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.http11 import chunk, render_head

_FLUSH_AT = 64 * 1024
_LAST_CHUNK = b"0\r\n\r\n"


class Conn(Protocol):
    closed: bool
    paused: bool

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...
    def on_resume(self, callback: Callable[[], None]) -> None: ...
    def job_done(self, keep_alive: bool) -> None: ...


def mangle(event: bytes) -> bytes:
    """Cut the JSON of an event's ``data:`` line (or of a bare JSON item) in half."""
    start = event.find(b"data: ")
    if start < 0:
        return event[: max(1, len(event) // 2)]
    start += 6
    end = event.find(b"\n", start)
    end = len(event) if end < 0 else end
    payload = event[start:end].rstrip(b"\r")
    return event[:start] + payload[: max(1, len(payload) // 2)] + event[start + len(payload) :]


class Job:
    __slots__ = (
        "_conn",
        "_count",
        "_ctx",
        "_delay",
        "_done",
        "_events",
        "_loop",
        "_out",
        "_out_size",
        "_reply",
        "_slept",
        "_timer",
    )

    def __init__(self, conn: Conn, ctx: Ctx, reply: Reply | Stream, delay: float) -> None:
        self._conn = conn
        self._ctx = ctx
        self._reply = reply
        self._delay = delay
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._events: Iterator[bytes] | None = None
        self._out: list[bytes] = []
        self._out_size = 0
        self._count = 0
        self._slept = False
        self._done = False

    def start(self) -> None:
        if self._delay > 0:
            self._timer = self._loop.call_later(self._delay, self._begin)
        else:
            self._begin()

    def client_gone(self, by_server: bool) -> None:
        """The connection closed before this reply was complete."""
        if self._done:
            return
        record = self._ctx.record
        if not by_server:
            record.client_closed_early = True
            record.closed_at = time.time()
        if self._timer is not None and (by_server or not self._ctx.faults.ignore_cancel):
            self._timer.cancel()
            self._timer = None

    def _begin(self) -> None:
        self._timer = None
        reply = self._reply
        close = not self._ctx.req.keep_alive
        self._ctx.record.status = 200 if isinstance(reply, Stream) else reply.status
        if isinstance(reply, Stream):
            self._events = reply.events
            self._out.append(render_head(200, reply.content_type, None, reply.headers, close))
            self._pump()
            return
        body = reply.body
        f = self._ctx.faults
        if f.bad_json is not None and reply.status == 200:
            body = mangle(body)
        head = render_head(reply.status, reply.content_type, len(body), reply.headers, close)
        partial = f.cut_after if f.cut_after is not None else f.stall_after
        if partial is None:
            self._conn.write(head + body)
            self._finish()
            return
        self._conn.write(head + (body[: len(body) // 2] if partial >= 1 else b""))
        self._ctx.record.events_sent = self._ctx.record.events_generated = min(partial, 1)
        if f.cut_after is not None:
            self._cut()

    def _flush(self) -> None:
        if self._out:
            self._conn.write(b"".join(self._out))
            self._out.clear()
            self._out_size = 0

    def _pump(self) -> None:
        self._timer = None
        events = self._events
        assert events is not None and isinstance(self._reply, Stream)
        conn, record, f = self._conn, self._ctx.record, self._ctx.faults
        latency = self._ctx.latency
        while True:
            if conn.closed and not f.ignore_cancel:
                return
            if conn.paused and not conn.closed:
                self._flush()
                if conn.paused:
                    conn.on_resume(self._pump)
                    return
            count = self._count
            if f.cut_after is not None and count >= f.cut_after:
                self._flush()
                self._cut()
                return
            if f.stall_after is not None and count >= f.stall_after:
                self._flush()
                return
            if f.error_event is not None and count >= f.error_event:
                self._out += (chunk(self._reply.error_event), _LAST_CHUNK)
                break
            if count and latency > 0 and not self._slept:
                self._flush()
                self._slept = True
                self._timer = self._loop.call_later(latency, self._pump)
                return
            self._slept = False
            try:
                event = next(events, None)
            except Exception:  # a bug in a provider module: end the stream visibly, never hang
                self._flush()
                self._cut()
                raise
            if event is None:
                self._out.append(_LAST_CHUNK)
                break
            self._count = count = count + 1
            if count == f.bad_json:
                event = mangle(event)
            record.events_generated += 1
            if not conn.closed:
                record.events_sent += 1
                framed = chunk(event)
                self._out.append(framed)
                self._out_size += len(framed)
                if self._out_size >= _FLUSH_AT:
                    self._flush()
        self._flush()
        self._finish()

    def _cut(self) -> None:
        self._done = True
        self._ctx.record.finished_at = time.time()
        self._conn.close()

    def _finish(self) -> None:
        self._done = True
        self._ctx.record.finished_at = time.time()
        if not self._conn.closed:
            self._conn.job_done(self._ctx.req.keep_alive)
