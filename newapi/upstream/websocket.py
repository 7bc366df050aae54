"""One request/answer exchange over a WebSocket (Xunfei Spark's chat protocol), read like an HTTP
response: the handshake's refusal is the status and body, each text message one SSE ``data:``
event when streamed, or all of them a JSON array when read whole.

The exchange sends its one message, then reads until ``final`` says a message is the last (or
the server closes). ``websockets`` is the protocol implementation; its errors are converted to
the gateway's here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from newapi.core.errors import UpstreamConnectError, UpstreamProtocolError, UpstreamTimeout

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection


class WebSocketExchange:
    """Status 101 when the upgrade was accepted (the answer follows as messages)."""

    def __init__(
        self,
        conn: ClientConnection | None,
        final: Callable[[bytes], bool],
        read_timeout: float | None,
        status: int = 101,
        body: bytes = b"",
        content_type: bytes = b"",
    ) -> None:
        self._conn = conn
        self._final = final
        self._read_timeout = read_timeout
        self.status = status
        self._body = body
        self._content_type = content_type
        self._done = conn is None
        self._pending: bytes | None = None

    async def peek(self) -> bytes | None:
        """The first message, read now and still delivered by the iteration or ``read``."""
        if self._pending is None:
            self._pending = await self._next()
        return self._pending

    def header(self, name: bytes) -> bytes | None:
        if name == b"content-type":
            return self._content_type or (b"text/event-stream" if self._conn is not None else None)
        return None

    async def _next(self) -> bytes | None:
        if self._pending is not None:
            data, self._pending = self._pending, None
            return data
        if self._done or self._conn is None:
            return None
        from websockets.exceptions import ConnectionClosed  # loaded by exchange() already

        try:
            message = await asyncio.wait_for(self._conn.recv(), self._read_timeout)
        except TimeoutError:
            raise UpstreamTimeout("upstream WebSocket sent nothing within the read timeout") from None
        except ConnectionClosed as exc:
            self._done = True
            if exc.rcvd is not None and exc.rcvd.code == 1000:
                return None
            raise UpstreamProtocolError(f"upstream closed the WebSocket: {exc}") from None
        data = message.encode() if isinstance(message, str) else message
        if self._final(data):
            self._done = True
        return data

    async def read(self, limit: int) -> bytes:
        """The body of a refused upgrade, or every message as one JSON array."""
        if self._conn is None:
            return self._body[:limit]
        items: list[bytes] = []
        size = 2
        while (data := await self._next()) is not None:
            size += len(data) + 1
            if size > limit:
                raise UpstreamProtocolError(f"upstream answer larger than {limit} bytes")
            items.append(data)
        return b"[" + b",".join(items) + b"]"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        data = await self._next()
        if data is None:
            raise StopAsyncIteration
        return b"data: " + data + b"\n\n"

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done:
            await conn.close()
        else:  # abandoned mid-answer (the client left): drop the connection at once
            conn.transport.abort()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def exchange(
    url: str,
    message: bytes,
    final: Callable[[bytes], bool],
    *,
    proxy: str = "",
    open_timeout: float = 30.0,
    read_timeout: float | None = None,
    max_message: int = 16 << 20,
) -> WebSocketExchange:
    """Open ``url``, send ``message`` (text), and hand back the answer to read."""
    # Imported here: only Xunfei channels speak over a WebSocket; other workers never load it.
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    try:
        conn = await connect(
            url,
            proxy=proxy or None,
            open_timeout=open_timeout,
            compression=None,
            max_size=max_message,
            ping_interval=None,
            user_agent_header=None,
        )
    except InvalidStatus as exc:
        response = exc.response
        kind = response.headers.get("content-type", "") or ""
        body = bytes(response.body or b"")
        return WebSocketExchange(None, final, None, response.status_code, body, kind.encode())
    except TimeoutError:
        raise UpstreamTimeout("upstream WebSocket handshake timed out") from None
    except (InvalidURI, InvalidHandshake) as exc:
        raise UpstreamProtocolError(f"upstream WebSocket handshake failed: {exc}") from None
    except OSError as exc:
        raise UpstreamConnectError(f"cannot connect to the upstream WebSocket: {exc}") from None
    try:
        await conn.send(message.decode())
    except ConnectionClosed as exc:
        await conn.close()
        raise UpstreamProtocolError(f"upstream closed the WebSocket: {exc}") from None
    return WebSocketExchange(conn, final, read_timeout)
