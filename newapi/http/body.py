"""Reading request bodies with a size cap that holds after decompression.

New API applies ``MAX_REQUEST_BODY_MB`` to the *decompressed* body (gzip, br,
zstd; we add deflate). We stop reading as soon as either the wire bytes or the
decompressed bytes pass the cap, so a compression bomb never gets buffered.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import brotli
import zstandard

from newapi.core.errors import BadRequest, BodyTooLarge, ClientError
from newapi.core.types import Receive, Scope


class ClientDisconnected(Exception):
    """The client went away before the body was complete."""


class _Decoder(Protocol):
    def feed(self, data: bytes, room: int) -> bytes: ...

    def flush(self, room: int) -> bytes: ...


class _Zlib:
    """gzip (wbits 16+) or deflate (zlib or raw, auto-detected) with bounded output."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        out = self._d.decompress(data, room + 1)
        if self._d.unconsumed_tail:
            # More output is pending than the cap allows.
            raise BodyTooLarge("request body too large")
        return out

    def flush(self, room: int) -> bytes:
        return self._d.flush()


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes, room: int) -> bytes:
        # brotli's Python binding has no output limit per call; feed in small
        # slices so one call can expand at most ~slice x ratio before we check.
        out = bytearray()
        for start in range(0, len(data), 1024):
            out += self._d.process(data[start : start + 1024])
            if len(out) > room:
                raise BodyTooLarge("request body too large")
        return bytes(out)

    def flush(self, room: int) -> bytes:
        return b""


class _Zstd:
    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes, room: int) -> bytes:
        out = bytearray()
        for start in range(0, len(data), 1024):
            out += self._d.decompress(data[start : start + 1024])
            if len(out) > room:
                raise BodyTooLarge("request body too large")
        return bytes(out)

    def flush(self, room: int) -> bytes:
        return b""


_DECODERS: dict[bytes, Callable[[], _Decoder]] = {
    b"gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    b"x-gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    b"deflate": lambda: _Zlib(32 + zlib.MAX_WBITS),
    b"br": _Brotli,
    b"zstd": _Zstd,
}


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, decompressed, at most ``limit`` bytes.

    Raises :class:`BodyTooLarge` (413) past the limit, :class:`BadRequest` for a
    corrupt or unsupported encoding, :class:`ClientDisconnected` if the client left.
    """
    encoding = (header(scope, b"content-encoding") or b"identity").strip().lower()
    length = header(scope, b"content-length")
    decoder: _Decoder | None = None
    if encoding not in (b"", b"identity"):
        factory = _DECODERS.get(encoding)
        if factory is None:
            raise ClientError(f"unsupported Content-Encoding: {encoding.decode('latin-1')}", status=415)
        decoder = factory()
    elif length is not None and length.isdigit() and int(length) > limit:
        raise BodyTooLarge("request body too large")

    parts: list[bytes] = []
    size = 0
    wire = 0
    more = True
    while more:
        message = await receive()
        kind = message["type"]
        if kind == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
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
        try:
            out = decoder.feed(chunk, limit - size)
        except BodyTooLarge:
            raise
        except Exception:
            raise BadRequest("request body could not be decompressed") from None
        size += len(out)
        if size > limit:
            raise BodyTooLarge("request body too large")
        if out:
            parts.append(out)
    if decoder is not None:
        try:
            tail = decoder.flush(limit - size)
        except Exception:
            raise BadRequest("request body could not be decompressed") from None
        size += len(tail)
        if size > limit:
            raise BodyTooLarge("request body too large")
        parts.append(tail)
    if len(parts) == 1:
        return parts[0]
    return b"".join(parts)
