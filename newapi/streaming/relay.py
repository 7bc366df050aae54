"""The stream relay loop: upstream chunks -> scanner -> policy -> client, with an honest ending.

Response headers go out with the first event worth sending, so an upstream that
fails before producing anything can still be retried on another channel. After
that, an upstream stall (idle timeout), cut or oversized line ends the stream
with an error event in the client's family and never a fake terminator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass

from newapi.core.errors import UpstreamProtocolError, UpstreamTimeout
from newapi.core.types import Headers, Send
from newapi.streaming.policy import StreamPolicy
from newapi.streaming.scanner import SSELineTooLong, SSEScanner

PING = b": PING\n\n"
PING_FOR_AT_MOST = 30 * 60.0  # New API stops its pinger after 30 minutes


async def with_pings(chunks: AsyncIterable[bytes], interval: float) -> AsyncIterator[bytes | None]:
    """``chunks``, with ``None`` whenever ``interval`` seconds pass without one (New API's keepalive)."""
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
                    yield None
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


@dataclass(slots=True)
class StreamEnd:
    reason: str  # done | eof | timeout | cut | scanner_error
    started: bool  # whether anything reached the client
    first_byte_at: float  # monotonic time of the first byte sent (0 if none)
    error: str = ""


async def relay_stream(
    chunks: AsyncIterable[bytes],
    send: Send,
    policy: StreamPolicy,
    headers: Headers,
    *,
    max_line: int,
    ping_interval: float = 0.0,
    on_end: Callable[[StreamEnd], None] | None = None,
) -> StreamEnd:
    """Relay ``chunks`` to the client. Raises before the first byte is sent (so the caller may retry).

    With ``ping_interval`` (New API's general_setting.ping_interval_*), a quiet upstream is
    covered by ``: PING`` comments; the first one commits the response, as in New API.

    The stream's terminator (once the policy says ``done``) travels in the final message,
    and ``on_end`` learns how the stream ended just before that message is sent: the
    request is settled before the client can tell its answer is complete.
    """
    scanner = SSEScanner(max_line)
    started = False
    first_byte_at = 0.0
    reason = "eof"
    error = ""
    held: list[bytes] = []  # the terminator and anything after it, sent last
    body_message = {"type": "http.response.body", "body": b"", "more_body": True}
    source: AsyncIterable[bytes | None] = with_pings(chunks, ping_interval) if ping_interval > 0 else chunks
    reported = False  # on_end runs once: for the final message, or for a client that left

    def report(end: StreamEnd) -> None:
        nonlocal reported
        reported = True
        if on_end is not None:
            on_end(end)

    try:
        async for chunk in source:
            if chunk is None:
                if getattr(policy, "done", False):
                    continue  # the stream's terminator is out; nothing left to keep alive
                if not started:
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    started = True
                    first_byte_at = time.monotonic()
                body_message["body"] = PING
                await send(body_message)
                continue
            pieces = [out for event in scanner.feed(chunk) if (out := policy.on_event(event)) is not None]
            if not pieces:
                continue
            if held or getattr(policy, "done", False):
                held += pieces
                continue
            if not started:
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                started = True
                first_byte_at = time.monotonic()
            body_message["body"] = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            await send(body_message)
        tail = [*held, *(out for event in scanner.finish() if (out := policy.on_event(event)) is not None)]
        tail.append(policy.finish())
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            started = True
            first_byte_at = time.monotonic()
        end = StreamEnd("done", True, first_byte_at)
        report(end)
        await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})
        return end
    except (UpstreamTimeout, UpstreamProtocolError, SSELineTooLong) as exc:
        if held:
            # The terminator had come: the stream did finish, whatever came after it.
            if not started:
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                first_byte_at = time.monotonic()
            end = StreamEnd("done", True, first_byte_at)
            report(end)
            await send({"type": "http.response.body", "body": b"".join(held), "more_body": False})
            return end
        if not started:
            if isinstance(exc, SSELineTooLong):
                raise UpstreamProtocolError(str(exc)) from None
            raise
        if isinstance(exc, UpstreamTimeout):
            reason, code = "timeout", "stream_timeout"
            error = "upstream stopped sending (stream idle timeout)"
        elif isinstance(exc, SSELineTooLong):
            reason, code = "scanner_error", "stream_line_too_long"
            error = str(exc)
        else:
            reason, code = "cut", "stream_interrupted"
            error = "upstream closed the stream before it finished"
        end = StreamEnd(reason, True, first_byte_at, error)
        report(end)
        await send(
            {"type": "http.response.body", "body": policy.error_event(error, code), "more_body": False}
        )
        return end
    except asyncio.CancelledError:
        # The client left (the disconnect watch cancels the request) after pieces went out: what
        # it was sent is billed. Without this the pipeline saw no answer and released the hold, so
        # a client that read everything and dropped the connection before the terminator paid
        # nothing.
        if started and not reported:
            report(StreamEnd("client_gone", True, first_byte_at))
        raise
