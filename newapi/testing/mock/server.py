"""``MockUpstream``: the mock provider server on the running event loop."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from newapi.testing.mock import control, router
from newapi.testing.mock.context import Ctx, MockConfig, Reply, Shared, Stream
from newapi.testing.mock.http11 import Request, render_head
from newapi.testing.mock.protocol import MockProtocol
from newapi.testing.mock.pump import Job
from newapi.testing.mock.record import RequestRecord


class State:
    """What all connections of one server share."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.records: deque[RequestRecord] = deque(maxlen=config.max_records or None)
        self.ids = itertools.count(1)
        self.connection_ids = itertools.count(1)
        self.connections: set[MockProtocol] = set()
        self.stopping = False
        self.shared = Shared()

    def handle(self, conn: MockProtocol, req: Request) -> Job | None:
        """Start answering ``req``: a Job for provider routes, None when answered here."""
        if req.path.startswith(control.PREFIX):
            answer = control.handle(req, self.snapshot, self.records.clear)
            head = render_head(answer.status, answer.content_type, len(answer.body), b"", not req.keep_alive)
            conn.write(head + answer.body)
            return None
        record = RequestRecord(
            next(self.ids), req.method, req.path, req.query, req.headers, req.body, req.arrived_at, conn.id
        )
        if self.config.max_records:
            self.records.append(record)
        ctx = Ctx(req, self.config, record, router.guess_family(req.path), shared=self.shared)
        reply: Reply | Stream
        try:
            reply, delay = router.dispatch(ctx)
        except Exception as exc:  # a mock bug must answer, not hang the client
            reply, delay = Reply(500, repr(exc).encode(), content_type=b"text/plain"), 0.0
        return Job(conn, ctx, reply, delay)

    def snapshot(self) -> list[RequestRecord]:
        return [r.copy() for r in self.records]


class MockUpstream:
    """A mock OpenAI / Anthropic / Gemini upstream serving real HTTP/1.1 on the current event loop.

    ``config`` (or keyword overrides of :class:`MockConfig` fields) sets the defaults. After
    :meth:`start`, ``port`` and ``url`` (``http://host:port``, no ``/v1``) are set; ``requests`` lists
    the records of what was received, oldest first.
    """

    def __init__(self, config: MockConfig | None = None, **overrides: Any) -> None:
        self.config = replace(config or MockConfig(), **overrides)
        self._state = State(self.config)
        self._server: asyncio.Server | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RequestRecord]:
        """The live records (not copies), oldest first."""
        return list(self._state.records)

    def clear(self) -> None:
        self._state.records.clear()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        state = self._state
        self._server = await loop.create_server(
            lambda: MockProtocol(state), host, port, backlog=4096, reuse_address=True
        )
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (stalled ones included)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._state.stopping = True
        server.close()
        for conn in list(self._state.connections):
            conn.abort()
        await server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost callbacks run before the loop may close
        self._state.stopping = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
