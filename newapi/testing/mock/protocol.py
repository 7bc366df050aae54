"""One client connection: parse requests in order, run one reply at a time (keep-alive, pipelining)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from newapi.testing.mock.http11 import BadRequest, RequestParser, render_head
from newapi.testing.mock.pump import Job

if TYPE_CHECKING:
    from newapi.testing.mock.server import State

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class MockProtocol(asyncio.Protocol):
    __slots__ = ("_in_next", "_job", "_parser", "_resume", "_state", "_transport", "closed", "id", "paused")

    def __init__(self, state: State) -> None:
        self._state = state
        self._parser = RequestParser()
        self._transport: asyncio.Transport | None = None
        self._job: Job | None = None
        self._resume: Callable[[], None] | None = None
        self._in_next = False
        self.closed = False
        self.paused = False
        self.id = next(state.connection_ids)

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        if self._job is None:
            self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._state.connections.discard(self)
        job, self._job = self._job, None
        if job is not None:
            job.client_gone(by_server=self._state.stopping)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        callback, self._resume = self._resume, None
        if callback is not None and self._transport is not None:
            # Not inline: asyncio calls this from inside its write path, and closing the transport
            # there (a reply that ends on resume) makes it report connection_lost twice.
            asyncio.get_running_loop().call_soon(callback)

    # the Conn interface the pump uses

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not self.closed and not transport.is_closing():
            transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def on_resume(self, callback: Callable[[], None]) -> None:
        self._resume = callback

    def job_done(self, keep_alive: bool) -> None:
        self._job = None
        if not keep_alive:
            self.close()
        elif not self._in_next:
            self._next()

    # request loop

    def _next(self) -> None:
        self._in_next = True
        try:
            while self._job is None and not self.closed:
                try:
                    req = self._parser.next_request()
                except BadRequest as exc:
                    body = str(exc).encode()
                    self.write(render_head(400, b"text/plain", len(body), b"", True) + body)
                    self.close()
                    return
                if req is None:
                    if self._parser.wants_continue():
                        self.write(_CONTINUE)
                    return
                job = self._state.handle(self, req)
                if job is not None:
                    self._job = job
                    job.start()
                elif not req.keep_alive:
                    self.close()
                    return
        finally:
            self._in_next = False
