"""Spark frames as a stream (each arrives as one SSE ``data:`` event from the WebSocket exchange):
the text of each frame's choices, and the usage of the last (status 2)."""

from __future__ import annotations

import msgspec

from newapi.adaptors.xunfei import schemas
from newapi.adaptors.xunfei.response import frame_usage
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
            frame = schemas.frame_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [m.Failure(f"unreadable Spark frame: {data[:200]!r}", "bad_response_body")]
        header = frame.header
        if header.code:
            return [m.Failure(f"{header.message} (code {header.code})", str(header.code))]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(id=header.sid))
        if frame.payload is not None and frame.payload.choices is not None:
            text = "".join(t.content for t in frame.payload.choices.text)
            if text:
                out.append(m.TextDelta(text))
        if header.status == 2:
            out.append(m.Finish("stop"))
            usage = frame_usage(frame)
            if usage is not None:
                out.append(m.UsageReport(usage))
        return out
