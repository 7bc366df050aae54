"""AWS's binary event stream (``application/vnd.amazon.eventstream``), decoded into SSE.

A frame: total length, headers length, prelude CRC32 (4 bytes each, big-endian), headers,
payload, message CRC32. Bedrock's ``chunk`` events carry ``{"bytes": <base64 Claude event>}``;
re-framed as Claude SSE they go through the same stream policies as an Anthropic channel's.
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from collections.abc import AsyncIterable, AsyncIterator

import orjson

from newapi.core.errors import UpstreamProtocolError

MAX_FRAME = 16 * 1024 * 1024
# header value types with a fixed size (bool true/false carry no bytes)
_FIXED = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}


def _headers(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        size = raw[pos]
        name = raw[pos + 1 : pos + 1 + size].decode("utf-8", "replace")
        pos += 1 + size
        kind = raw[pos]
        pos += 1
        if kind in (6, 7):
            (length,) = struct.unpack_from(">H", raw, pos)
            value = raw[pos + 2 : pos + 2 + length]
            pos += 2 + length
            if kind == 7:
                out[name] = value.decode("utf-8", "replace")
        elif kind in _FIXED:
            pos += _FIXED[kind]
        else:
            raise UpstreamProtocolError(f"event stream header of unknown type {kind}")
    return out


class Decoder:
    """Feed bytes, get ``(headers, payload)`` for every complete frame."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[dict[str, str], bytes]]:
        buffer = self._buffer
        buffer += chunk
        frames = []
        while len(buffer) >= 12:
            total, header_size, prelude_crc = struct.unpack_from(">III", buffer, 0)
            if zlib.crc32(bytes(buffer[:8])) != prelude_crc or total > MAX_FRAME or total < 16:
                raise UpstreamProtocolError("corrupt event stream frame (prelude)")
            if len(buffer) < total:
                break
            frame = bytes(buffer[:total])
            del buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                raise UpstreamProtocolError("corrupt event stream frame (checksum)")
            headers = _headers(frame[12 : 12 + header_size])
            frames.append((headers, frame[12 + header_size : total - 4]))
        return frames

    @property
    def pending(self) -> int:
        return len(self._buffer)


def _to_sse(headers: dict[str, str], payload: bytes) -> bytes:
    if headers.get(":message-type") == "exception" or headers.get(":message-type") == "error":
        kind = headers.get(":exception-type") or headers.get(":error-code") or "api_error"
        try:
            message = str(orjson.loads(payload).get("message") or kind)
        except (orjson.JSONDecodeError, AttributeError):
            message = payload[:500].decode("utf-8", "replace") or kind
        body = orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
        return b"event: error\ndata: " + body + b"\n\n"
    if headers.get(":event-type") != "chunk":
        return b""
    try:
        event = base64.b64decode(orjson.loads(payload)["bytes"])
        name = orjson.loads(event)["type"]
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error) as exc:
        raise UpstreamProtocolError("unreadable Bedrock stream chunk") from exc
    return b"event: " + str(name).encode() + b"\ndata: " + event + b"\n\n"


async def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The Claude SSE bytes inside a Bedrock event stream, one upstream chunk at a time."""
    decoder = Decoder()
    async for chunk in chunks:
        out = b"".join(_to_sse(h, p) for h, p in decoder.feed(chunk))
        if out:
            yield out
    if decoder.pending:
        raise UpstreamProtocolError("event stream ended inside a frame")
