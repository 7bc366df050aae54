"""What the WebSocket mocks (Xunfei Spark, OpenAI Realtime) share: a server of their own on the
running loop, its JSON handshake refusal, and a thread to run it in for sync tests."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response


def refuse(conn: ServerConnection, status: int, body: Any) -> Response:
    """The handshake's ``status`` with ``body`` as JSON, as the provider refuses an upgrade."""
    response = conn.respond(status, "")
    data = orjson.dumps(body)
    response.body = data
    response.headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return response


class WebSocketMock(ABC):
    """A server on the running loop: ``url`` is ``http://host:port`` (a channel base URL).

    Subclasses answer the handshake in ``_check`` (None accepts it) and serve a connection in
    ``_serve``."""

    port = 0
    _server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        return None

    @abstractmethod
    async def _serve(self, conn: ServerConnection) -> None:
        """Serve one accepted connection."""

    async def start(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", 0, process_request=self._check, compression=None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


M = TypeVar("M", bound=WebSocketMock)


class WebSocketMockThread(Generic[M]):
    """``mock`` on its own loop in a daemon thread, for sync tests."""

    def __init__(self, mock: M, name: str) -> None:
        self.mock = mock
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name=name)

    @property
    def url(self) -> str:
        return self.mock.url

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.mock.start(), self._loop).result(10)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        asyncio.run_coroutine_threadsafe(self.mock.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
