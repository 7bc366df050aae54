"""The stream relay loop: upstream chunks -> scanner -> policy -> client, with an honest ending.

Response headers go out with the first event worth sending, so an upstream that
fails before producing anything can still be retried on another channel. After
that, an upstream stall (idle timeout), cut or oversized line ends the stream
with an error event in the client's family and never a fake terminator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, cast

from newapi.core.errors import UpstreamProtocolError, UpstreamTimeout
from newapi.core.types import Headers, Message, Send
from newapi.streaming.policy import StreamPolicy
from newapi.streaming.scanner import SSELineTooLong, SSEScanner

PING = b": PING\n\n"
PING_FOR_AT_MOST = 30 * 60.0  # New API stops its pinger after 30 minutes


async def with_pings(chunks: AsyncIterable[bytes], interval: float) -> AsyncIterator[bytes]:
    """``chunks``, with :data:`PING` itself (the object: ``is`` tells it from any chunk) whenever
    ``interval`` seconds pass without one (New API's keepalive)."""
    iterator = aiter(chunks)
    stop_at = time.monotonic() + PING_FOR_AT_MOST
    pending: asyncio.Future[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            if time.monotonic() < stop_at:
                finished, _ = await asyncio.wait({pending}, timeout=interval)
                if not finished:
                    yield PING
                    continue
            else:
                await asyncio.wait({pending})
            future, pending = pending, None
            try:
                chunk = future.result()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        if pending is not None:
            pending.cancel()


class ChunkSource(Protocol):
    """The upstream body as the relay reads it (newapi.upstream.response.UpstreamResponse)."""

    def poll(self) -> bytes | None:
        """What arrived (None: nothing yet, await :meth:`wait`); StopAsyncIteration at the end."""
        ...

    def wait(self) -> Awaitable[object]: ...


class _Pulled:
    """:class:`ChunkSource` over any async iterable: Bedrock's frames as SSE, a native type's
    reframing, a WebSocket's messages, the pinging wrapper."""

    __slots__ = ("_ended", "_item", "_iterator")

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._iterator = aiter(source)
        self._item: bytes | None = None
        self._ended = False

    def poll(self) -> bytes | None:
        item = self._item
        if item is not None:
            self._item = None
            return item
        if self._ended:
            raise StopAsyncIteration
        return None

    async def wait(self) -> None:
        try:
            self._item = await anext(self._iterator)
        except StopAsyncIteration:
            self._ended = True


@dataclass(slots=True)
class StreamEnd:
    reason: str  # done | eof | timeout | cut | scanner_error
    started: bool  # whether anything reached the client
    first_byte_at: float  # monotonic time of the first byte sent (0 if none)
    error: str = ""


class StreamRelay:
    """Relays ``chunks`` to the client in two steps: :meth:`begin` until the first bytes are out
    (it raises before that, so the caller may retry on another channel) and :meth:`rest` for
    the remainder.

    Two steps so that the frames which only matter before the first byte (the attempt, its
    retry loop) are gone while a stream is held open: a coroutine frame held per stream costs
    memory, and every event's wake-up resumes each frame on the chain.

    With ``ping_interval`` (New API's general_setting.ping_interval_*), a quiet upstream is
    covered by ``: PING`` comments; the first one commits the response, as in New API.

    The stream's terminator (once the policy says ``done``) travels in the final message,
    and :meth:`ended` (``on_end``, or a subclass's) learns how the stream ended just before
    that message is sent: the request is settled before the client can tell its answer is
    complete.
    """

    __slots__ = (
        "_body",
        "_headers",
        "_held",
        "_on_end",
        "_reported",
        "_scanner",
        "_send",
        "_source",
        "end",
        "first_byte_at",
        "policy",
        "started",
    )

    def __init__(
        self,
        chunks: AsyncIterable[bytes],
        send: Send,
        policy: StreamPolicy,
        headers: Headers,
        *,
        max_line: int,
        ping_interval: float = 0.0,
        on_end: Callable[[StreamEnd], None] | None = None,
    ) -> None:
        self._scanner = SSEScanner(max_line)
        self._send = send
        self.policy = policy
        self._headers: Headers | None = headers  # dropped once sent
        self._on_end = on_end
        source = with_pings(chunks, ping_interval) if ping_interval > 0 else chunks
        # The upstream response is read by poll and wait: no coroutine per chunk.
        self._source = cast(ChunkSource, source) if hasattr(source, "poll") else _Pulled(source)
        self.started = False
        self.first_byte_at = 0.0
        self._held: list[bytes] | None = None  # the terminator and anything after it, sent last
        self._body: Message = {"type": "http.response.body", "body": b"", "more_body": True}
        self._reported = False  # on_end runs once: for the final message, or for a client that left
        #: how the stream ended, once it has (None while it is open)
        self.end: StreamEnd | None = None

    async def begin(self) -> bool:
        """Relay up to the first bytes the client gets; False when the stream has ended already.

        Raises, before the first byte, what the upstream's failure was."""
        source = self._source
        try:
            while True:
                try:
                    chunk = source.poll()
                except StopAsyncIteration:
                    break
                if chunk is None:
                    await source.wait()
                    continue
                out = self._pieces(chunk)
                if out is None:
                    continue
                await self._start()
                self._body["body"] = out
                await self._send(self._body)
                self._body["body"] = b""
                return True
            await self._finish()
        except (UpstreamTimeout, UpstreamProtocolError, SSELineTooLong) as exc:
            if self._held is None:
                if isinstance(exc, SSELineTooLong):
                    raise UpstreamProtocolError(str(exc)) from None
                raise
            await self._after_done()
        except asyncio.CancelledError:
            self._left()
            raise
        return False

    async def rest(self) -> StreamEnd:
        """Relay the remainder, after :meth:`begin` returned True; ends the stream honestly."""
        body = self._body
        send = self._send
        policy = self.policy
        scanner = self._scanner
        source = self._source
        try:
            while True:
                try:
                    chunk = source.poll()
                except StopAsyncIteration:
                    break
                if chunk is None:
                    await source.wait()
                    continue
                if chunk is PING or self._held is not None:  # a ping, or after the terminator
                    out = self._pieces(chunk)
                    if out is None:
                        continue
                else:  # _pieces, inlined: this runs for every chunk of every stream
                    pieces = [
                        out for event in scanner.feed(chunk) if (out := policy.on_event(event)) is not None
                    ]
                    if not pieces:
                        continue
                    if getattr(policy, "done", False):
                        self._held = pieces
                        continue
                    out = pieces[0] if len(pieces) == 1 else b"".join(pieces)
                    del pieces
                body["body"] = out
                await send(body)
                # Neither the event's bytes nor the chunk's are held while the stream waits.
                body["body"] = chunk = out = b""
            await self._finish()
        except (UpstreamTimeout, UpstreamProtocolError, SSELineTooLong) as exc:
            if self._held is not None:
                await self._after_done()
            else:
                await self._fail(exc)
        except asyncio.CancelledError:
            self._left()
            raise
        assert self.end is not None
        return self.end

    def _left(self) -> None:
        # The client left (the disconnect watch cancels the request) after pieces went out: what
        # it was sent is billed. Without this the pipeline saw no answer and released the hold, so
        # a client that read everything and dropped the connection before the terminator paid
        # nothing.
        if self.started and not self._reported:
            self._report(StreamEnd("client_gone", True, self.first_byte_at))

    def _pieces(self, chunk: bytes) -> bytes | None:
        """What to send now for ``chunk`` (or a ping), or None: nothing, or held for the end."""
        policy = self.policy
        if chunk is PING:
            if getattr(policy, "done", False):
                return None  # the stream's terminator is out; nothing left to keep alive
            return PING
        pieces = [out for event in self._scanner.feed(chunk) if (out := policy.on_event(event)) is not None]
        if not pieces:
            return None
        held = self._held
        if held is not None:
            held += pieces
            return None
        if getattr(policy, "done", False):
            self._held = pieces
            return None
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    async def _start(self) -> None:
        if not self.started:
            headers = self._headers
            self._headers = None
            await self._send({"type": "http.response.start", "status": 200, "headers": headers})
            self.started = True
            self.first_byte_at = time.monotonic()

    async def _finish(self) -> None:
        """The upstream's body ended cleanly: what is held, what the scanner kept, the policy's end."""
        policy = self.policy
        tail = [*(self._held or ())]
        tail += [out for event in self._scanner.finish() if (out := policy.on_event(event)) is not None]
        tail.append(policy.finish())
        await self._start()
        self._report(StreamEnd("done", True, self.first_byte_at))
        await self._send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})

    async def _after_done(self) -> None:
        """The terminator had come before the failure: the stream did finish, whatever came after it."""
        await self._start()
        self._report(StreamEnd("done", True, self.first_byte_at))
        body = b"".join(self._held or ())
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def _fail(self, exc: Exception) -> None:
        if isinstance(exc, UpstreamTimeout):
            reason, code = "timeout", "stream_timeout"
            error = "upstream stopped sending (stream idle timeout)"
        elif isinstance(exc, SSELineTooLong):
            reason, code = "scanner_error", "stream_line_too_long"
            error = str(exc)
        else:
            reason, code = "cut", "stream_interrupted"
            error = "upstream closed the stream before it finished"
        self._report(StreamEnd(reason, True, self.first_byte_at, error))
        body = self.policy.error_event(error, code)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    def _report(self, end: StreamEnd) -> None:
        self._reported = True
        self.end = end
        self.ended(end)

    def ended(self, end: StreamEnd) -> None:
        """How the stream ended, just before its final message (or as the client left)."""
        if self._on_end is not None:
            self._on_end(end)
