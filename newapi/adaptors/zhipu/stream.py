"""Zhipu v3 streams (``sse-invoke``): ``event:add`` with the next piece as raw ``data:`` text,
``event:finish`` with a ``meta:`` line holding the usage, ``event:error`` or ``event:interrupted``.

The text is read from the raw lines, everything after ``data:``: v3 puts no space after the
colon, so a piece's own leading space must survive (the SSE rule that drops one would eat it).
"""

from __future__ import annotations

import msgspec

from newapi.adaptors.signed import EventReader
from newapi.adaptors.zhipu import schemas
from newapi.adaptors.zhipu.response import convert_usage
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


def _fields(raw: bytes, name: bytes) -> list[bytes]:
    prefix = name + b":"
    return [line[len(prefix) :] for line in raw.splitlines() if line.startswith(prefix)]


class Reader(EventReader):
    """Reads raw events (not one JSON object each): ``read`` itself is replaced."""

    __slots__ = ()
    provider = "Zhipu"

    def read(self, event: SSEEvent) -> list[m.Event]:
        kind = event.event
        if kind is None:
            return []
        out = self.begin(event.id or "")
        text = b"\n".join(_fields(event.raw, b"data")).decode("utf-8", "replace")
        if kind == "add":
            if text:
                out.append(m.TextDelta(text))
        elif kind == "finish":
            if text:
                out.append(m.TextDelta(text))
            out.append(m.Finish("stop"))
            for meta in _fields(event.raw, b"meta"):
                try:
                    view = schemas.meta_decoder.decode(meta)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                if view.usage is not None:
                    out.append(m.UsageReport(convert_usage(view.usage)))
        elif kind in ("error", "interrupted"):
            out.append(m.Failure(text or f"Zhipu stream {kind}", "upstream_error"))
        return out
