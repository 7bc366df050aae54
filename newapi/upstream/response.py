"""The upstream's answer: status and headers at once, the body on demand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from newapi.core.errors import UpstreamProtocolError
from newapi.upstream._connection import Connection


class UpstreamResponse:
    """Status line and headers of an upstream response whose body has not been read yet.

    Read the body once, either whole with :meth:`read` or chunk by chunk with ``async for``
    (de-chunked, never decompressed). Once the body has been consumed the connection goes
    back to the pool by itself; :meth:`aclose` before that drops the socket, which is how a
    client disconnect stops the upstream's generation. Use it as ``async with``.
    """

    __slots__ = ("_conn", "_release", "headers", "status")

    def __init__(self, conn: Connection, release: Callable[[Connection], None]) -> None:
        self.status: int = conn.status
        #: names lower-cased, in the order received
        self.headers: list[tuple[bytes, bytes]] = conn.headers
        self._conn: Connection | None = conn
        self._release = release

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def read(self, limit: int) -> bytes:
        """The whole body; raises :class:`UpstreamProtocolError` beyond ``limit`` bytes.

        Returns ``b""`` once the body has already been consumed or the response closed.
        """
        conn = self._conn
        if conn is None:
            return b""
        if conn.complete:  # the usual case for a non-streamed answer: it came with the headers
            if conn.buffered > limit:
                self._close()
                raise _too_large(limit)
            data = conn.take()
            self._close()
            return data
        declared = self.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            self._close()
            raise _too_large(limit)
        parts: list[bytes] = []
        size = 0
        while True:
            if conn.chunks:
                size += conn.take_into(parts)
                if size > limit:
                    self._close()
                    raise _too_large(limit)
            if conn.complete:
                break
            if conn.error is not None:
                self._close()
                raise conn.error
            try:
                await conn.event()
            except BaseException:
                self._close()
                raise
        self._close()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def __aiter__(self) -> UpstreamResponse:
        return self

    async def __anext__(self) -> bytes:
        """Whatever arrived since the last call, as one bytes (several reads may be joined)."""
        while True:
            chunk = self.poll()
            if chunk is not None:
                return chunk
            try:
                await self.wait()
            except BaseException:
                self._close()  # the body was not finished: this drops the socket
                raise

    def poll(self) -> bytes | None:
        """What arrived since the last call (several reads joined), or None when nothing has:
        then await :meth:`wait`. Raises StopAsyncIteration at the body's end, the connection's
        error if it failed. The stream relay's way through the body: unlike ``async for``, no
        coroutine per chunk (nor a frame held while a stream waits)."""
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        if conn.chunks:
            return conn.take()
        if conn.complete:
            self._close()
            raise StopAsyncIteration
        if conn.error is not None:
            self._close()
            raise conn.error
        return None

    def wait(self) -> Awaitable[None]:
        """Resolved when something happens on the connection (after :meth:`poll` gave None);
        whoever awaits it closes the response if cancelled (its ``async with`` or ``aclose``)."""
        assert self._conn is not None
        return self._conn.event()

    async def aclose(self) -> None:
        """Pool the connection if the body was fully received, otherwise close the socket now."""
        self._close()

    async def __aenter__(self) -> UpstreamResponse:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    def _close(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._release(conn)

    def __del__(self) -> None:
        # A safety net, not the contract: a response dropped unclosed must not leak its socket.
        if self._conn is not None:
            try:
                self._close()
            except Exception:  # noqa: S110 - the loop may already be closed at shutdown
                pass

    def __repr__(self) -> str:
        return f"<UpstreamResponse {self.status}>"


def _too_large(limit: int) -> UpstreamProtocolError:
    return UpstreamProtocolError(f"upstream response body exceeds {limit} bytes")
