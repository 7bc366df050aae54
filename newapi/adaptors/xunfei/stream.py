"""Spark frames as a stream (each arrives as one SSE ``data:`` event from the WebSocket exchange):
the text of each frame's choices, and the usage of the last (status 2)."""

from __future__ import annotations

from newapi.adaptors.signed import EventReader
from newapi.adaptors.xunfei import schemas
from newapi.adaptors.xunfei.response import frame_usage
from newapi.convert import model as m


class Reader(EventReader):
    __slots__ = ()
    provider = "Spark"

    def decode(self, data: bytes) -> schemas.Frame:
        return schemas.frame_decoder.decode(data)

    def events(self, frame: schemas.Frame) -> list[m.Event]:
        header = frame.header
        if header.code:
            return [m.Failure(f"{header.message} (code {header.code})", str(header.code))]
        out = self.begin(header.sid)
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
