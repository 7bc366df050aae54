"""PaLM has no stream: New API answers a stream request with the whole answer as one chunk.

The upstream's JSON body is framed as one SSE event (:func:`as_sse`) and read into a begin, the
text and the finish; the gateway counts the usage of such a stream locally, as New API does.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import msgspec

from newapi.adaptors.native_wire import plain_json_as_event
from newapi.adaptors.palm import schemas
from newapi.adaptors.palm.response import failure
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    return plain_json_as_event(chunks)


class Reader:
    __slots__ = ()

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data or event.done:
            return []
        try:
            view = schemas.reply_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [m.Failure("PaLM's answer is not valid JSON", "bad_response_body")]
        error = failure(view, data)
        if error is not None:
            return [m.Failure(error.message, error.upstream_code or "upstream_error")]
        assert view.candidates
        text = view.candidates[0].content or ""
        return [m.Begin(), *([m.TextDelta(text)] if text else []), m.Finish("stop")]
