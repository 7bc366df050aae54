"""The library API's stream: ``data: {content, finish, model, documents}`` lines, no ``[DONE]``.

Each piece's content is a text delta; the documents (sent with a piece, the last as a rule) are
appended as New API does, as one last delta with the finish. A refusal before the stream comes
as one plain JSON error body, framed here as an event so it is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import msgspec

from newapi.adaptors.aiproxy import schemas
from newapi.adaptors.aiproxy.response import documents_markdown, failure
from newapi.adaptors.native_wire import plain_json_as_event
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    return plain_json_as_event(chunks)


class Reader:
    __slots__ = ("_begun", "_documents", "_finished")

    def __init__(self) -> None:
        self._begun = False
        self._finished = False
        self._documents: list[schemas.Document] | None = None

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data or event.done or self._finished:
            return []
        if data.find(b'"errCode"') >= 0:  # not `in`: see openai/chunk_facts.py
            try:
                error = failure(schemas.answer_decoder.decode(data), data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                error = None
            if error is not None:
                return [m.Failure(error.message, error.upstream_code or "upstream_error")]
        try:
            piece = schemas.piece_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin("", piece.model))
        if piece.documents:
            self._documents = piece.documents
        if piece.content:
            out.append(m.TextDelta(piece.content))
        if piece.finish:
            self._finished = True
            sources = documents_markdown(self._documents)
            if sources:
                out.append(m.TextDelta(sources))
            out.append(m.Finish("stop"))
        return out
