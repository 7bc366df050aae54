"""MiniMax streams: OpenAI chunks; an error is a ``base_resp`` chunk, or (refused before any
generation) one plain JSON body instead of SSE, framed here as an event so it is read."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from newapi.adaptors.minimax.response import failure
from newapi.adaptors.native_wire import plain_json_as_event
from newapi.adaptors.openai import stream as openai_stream
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    return plain_json_as_event(chunks)


class Reader:
    __slots__ = ("_inner",)

    def __init__(self) -> None:
        self._inner = openai_stream.Reader()

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if data and not event.done and data.find(b"base_resp") >= 0:
            error = failure(data)
            if error is not None:
                return [m.Failure(error.message, error.upstream_code or "upstream_error")]
        return self._inner.read(event)
