"""ERNIE streams: SSE ``data:`` chunks with the next ``result`` piece; the last has ``is_end``
and the usage of the whole answer. No ``[DONE]``: the stream just ends."""

from __future__ import annotations

import msgspec

from newapi.adaptors.baidu import schemas
from newapi.adaptors.baidu.response import convert_usage, finish_of
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


class Reader:
    __slots__ = ("_begun",)

    def __init__(self) -> None:
        self._begun = False

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data:
            return []
        try:
            view = schemas.answer_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [m.Failure(f"unreadable ERNIE stream chunk: {data[:200]!r}", "bad_response_body")]
        if view.error_code:
            return [m.Failure(f"{view.error_msg} (error_code {view.error_code})", str(view.error_code))]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(id=view.id))
        if view.result:
            out.append(m.TextDelta(view.result))
        if view.is_end:
            out.append(m.Finish(finish_of(view)))
            if view.usage is not None:
                out.append(m.UsageReport(convert_usage(view.usage)))
        return out
