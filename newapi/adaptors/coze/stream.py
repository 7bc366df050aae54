"""Coze v3 chat stream events to neutral events.

``conversation.message.delta`` of type ``answer`` carries the text; ``conversation.chat.completed``
the usage (``input_count``/``output_count``); ``conversation.chat.failed`` and ``error`` fail the
stream; ``done`` ends it. A refusal before the stream (``{"code": 4100, "msg": ...}`` as plain JSON)
is framed as one event so it is read as a failure too.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import msgspec

from newapi.adaptors.coze import schemas
from newapi.adaptors.native_wire import plain_json_as_event
from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent


def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    return plain_json_as_event(chunks, b"error")


def usage_from(data: schemas.Data) -> Usage | None:
    usage = data.usage
    if usage is None or not (usage.input_count or usage.output_count):
        return None
    return Usage(prompt_tokens=usage.input_count or 0, completion_tokens=usage.output_count or 0)


class Reader:
    __slots__ = ("_begun",)

    def __init__(self) -> None:
        self._begun = False

    def read(self, event: SSEEvent) -> list[m.Event]:
        raw = event.data
        kind = event.event or ""
        if not raw or kind == "done" or event.done:
            return []
        try:
            data = schemas.data_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(data.conversation_id or data.id or ""))
        if kind == "conversation.message.delta" and data.type in (None, "answer") and data.content:
            out.append(m.TextDelta(data.content))
        elif kind == "conversation.chat.completed":
            out.append(m.Finish("stop"))
            usage = usage_from(data)
            if usage is not None:
                out.append(m.UsageReport(usage))
        elif kind == "conversation.chat.failed":
            error = data.last_error or schemas.LastError()
            out.append(m.Failure(error.msg or "Coze chat failed", str(error.code or "upstream_error")))
        elif kind == "error" or (data.code and data.msg):
            out.append(m.Failure(data.msg or "Coze error", str(data.code or "upstream_error")))
        return out
