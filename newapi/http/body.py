"""Reading request bodies with a size cap that holds after decompression.

New API applies ``MAX_REQUEST_BODY_MB`` to the *decompressed* body (gzip, br,
zstd; we add deflate). We stop reading as soon as either the wire bytes or the
decompressed bytes pass the cap, so a compression bomb never gets buffered.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import brotli
import zstandard

from newapi.core.errors import BadRequest, BodyTimeout, BodyTooLarge, ClientError
from newapi.core.types import Receive, Scope
from newapi.http.headers import RequestHeaders
from newapi.http.idle import IdleWatch, idle_watch

#: Most output one decoding step produces; the loop gets a turn between steps, so a
#: body that expands to the cap cannot block other requests for more than ~1 ms.
STEP = 256 * 1024
# zstd input is fed in slices this small: a zstd block (≤128 KiB out) needs ≥4 input bytes,
# so one slice yields at most ~8 MiB, and the sink below stops it at the cap.
_ZSTD_SLICE = 256
# Frames asking for a larger window are refused (zstd -19 uses 8 MiB; --long needs more).
_ZSTD_MAX_WINDOW = 8 * 1024 * 1024


class ClientDisconnected(Exception):
    """The client went away before the body was complete."""


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output of ``data``, in pieces of about :data:`STEP` bytes at most."""
        ...

    def flush(self) -> Iterator[bytes]:
        """Output still held once the input has ended, in the same pieces."""
        ...


class _Zlib:
    """gzip (wbits 16+) or deflate (zlib or raw, auto-detected) with bounded output."""

    def __init__(self, wbits: int, limit: int) -> None:
        self._d = zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._d.decompress(data, STEP)
        yield out
        # A full step may leave output pending even when all input was taken.
        while self._d.unconsumed_tail or len(out) == STEP:
            out = self._d.decompress(self._d.unconsumed_tail, STEP)
            if not out and not self._d.unconsumed_tail:
                return
            yield out

    def flush(self) -> Iterator[bytes]:
        # Everything was drained step by step: at most a few bytes remain.
        yield self._d.flush()


class _Brotli:
    def __init__(self, limit: int) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield self._d.process(data, output_buffer_limit=STEP)
        while not self._d.can_accept_more_data():
            yield self._d.process(b"", output_buffer_limit=STEP)

    def flush(self) -> Iterator[bytes]:
        # A step that hit the limit may leave output pending after the last input.
        while not self._d.is_finished():
            out = self._d.process(b"", output_buffer_limit=STEP)
            if not out:
                return
            yield out


class _Sink:
    """Where zstd writes its output; refuses to hold more than the cap."""

    def __init__(self, limit: int) -> None:
        self.room = limit
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise BodyTooLarge("request body too large")
        self.pieces.append(bytes(data))
        return len(data)


class _Zstd:
    def __init__(self, limit: int) -> None:
        self._sink = _Sink(limit)
        decompressor = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
        # zstandard's decompressobj has no output limit; its stream writer hands the
        # output to the sink in pieces of STEP bytes, and the sink stops it at the cap.
        self._w = decompressor.stream_writer(
            self._sink,  # type: ignore[arg-type]  # it only calls write()
            write_size=STEP,
            write_return_read=True,
        )

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(view), _ZSTD_SLICE):
            self._w.write(view[start : start + _ZSTD_SLICE])
            pieces = self._sink.pieces
            if pieces:
                self._sink.pieces = []
                yield from pieces

    def flush(self) -> Iterator[bytes]:
        return iter(())


_DECODERS: dict[bytes, Callable[[int], _Decoder]] = {
    b"gzip": lambda limit: _Zlib(16 + zlib.MAX_WBITS, limit),
    b"x-gzip": lambda limit: _Zlib(16 + zlib.MAX_WBITS, limit),
    b"deflate": lambda limit: _Zlib(32 + zlib.MAX_WBITS, limit),
    b"br": _Brotli,
    b"zstd": _Zstd,
}


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(
    scope: Scope, receive: Receive, limit: int, idle_timeout: float, headers: RequestHeaders | None = None
) -> bytes:
    """The whole request body, decompressed, at most ``limit`` bytes. ``headers``, the request's
    picked headers if the caller has them, spares a look through the header list for two.

    Raises :class:`BodyTooLarge` (413) past the limit, :class:`BodyTimeout` (408) when
    no byte arrives for ``idle_timeout`` seconds, :class:`BadRequest` for a corrupt or
    unsupported encoding, :class:`ClientDisconnected` if the client left.
    """
    if headers is not None:
        # The first non-empty value of each, where header() takes the first value: they differ
        # only for a header sent twice with the first empty (field lines combine, RFC 9110 5.3:
        # "", "gzip" is gzip).
        picked = headers.content_encoding
        encoding = picked.encode("latin-1").strip().lower() if picked else b"identity"
        text = headers.content_length
        length = text.encode("latin-1") if text else None
    else:
        encoding = (header(scope, b"content-encoding") or b"identity").strip().lower()
        length = header(scope, b"content-length")
    decoder: _Decoder | None = None
    if encoding not in (b"", b"identity"):
        factory = _DECODERS.get(encoding)
        if factory is None:
            raise ClientError(f"unsupported Content-Encoding: {encoding.decode('latin-1')}", status=415)
        decoder = factory(limit)
    elif length is not None and length.isdigit() and int(length) > limit:
        raise BodyTooLarge("request body too large")
    parts: list[bytes] = []
    size = 0
    wire = 0
    more = True
    watch = idle_watch(idle_timeout)
    task = watch.enter()
    try:
        while more:
            message = await receive()
            kind = message["type"]
            if kind == "http.disconnect":
                raise ClientDisconnected
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if more:
                watch.touch(task)
            if not chunk:
                continue
            wire += len(chunk)
            if decoder is None:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge("request body too large")
                parts.append(chunk)
                continue
            if wire > limit:
                raise BodyTooLarge("request body too large")
            size = await _decode(decoder.feed(chunk), parts, size, limit, watch, task)
        if decoder is not None:
            await _decode(decoder.flush(), parts, size, limit, watch, task)
    except asyncio.CancelledError:
        if watch.fired(task):
            raise BodyTimeout("the request body stopped arriving") from None
        raise
    finally:
        watch.leave(task)
    if len(parts) == 1:
        return parts[0]
    return b"".join(parts)


async def _decode(
    pieces: Iterator[bytes],
    parts: list[bytes],
    size: int,
    limit: int,
    watch: IdleWatch,
    task: asyncio.Task[object],
) -> int:
    """Append ``pieces`` to ``parts`` up to ``limit``; the new size."""
    steps = 0
    try:
        for out in pieces:
            size += len(out)
            if size > limit:
                raise BodyTooLarge("request body too large")
            if out:
                parts.append(out)
            steps += 1
            if steps > 1:
                # A large expansion: let other requests run between steps.
                await asyncio.sleep(0)
                watch.touch(task)
    except (BodyTooLarge, asyncio.CancelledError):
        raise
    except Exception:
        raise BadRequest("request body could not be decompressed") from None
    return size
