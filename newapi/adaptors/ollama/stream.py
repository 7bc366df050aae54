"""Ollama's NDJSON stream: each line framed as one SSE event, then read into neutral events."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import msgspec

from newapi.adaptors.ollama import schemas
from newapi.adaptors.ollama.response import STOP, tool_calls, usage_from
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


async def as_sse(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """NDJSON lines -> ``data: <line>`` events; a line split across chunks is joined first."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        framed = [b"data: " + line.rstrip(b"\r") + b"\n\n" for line in lines if line.strip()]
        if framed:
            yield b"".join(framed)
    if pending.strip():
        yield b"data: " + pending.rstrip(b"\r") + b"\n\n"


class Reader:
    __slots__ = ("_begun", "_calls")

    def __init__(self) -> None:
        self._begun = False
        self._calls = 0

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data:
            return []
        try:
            view = schemas.chat_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []
        if view.error:
            return [m.Failure(view.error)]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin("", view.model or ""))
        message = view.message
        if message is not None:
            if message.thinking:
                out.append(m.ThinkingDelta(message.thinking))
            if message.content:
                out.append(m.TextDelta(message.content))
            for call in tool_calls(message, self._calls):
                index = self._calls
                self._calls += 1
                out += [m.ToolStart(index, call.id, call.name), m.ToolArgs(index, call.arguments)]
        if view.done:
            reason = "tool_calls" if self._calls else STOP.get(view.done_reason or "stop", "stop")
            out.append(m.Finish(reason))
            usage = usage_from(view)
            if usage is not None:
                out.append(m.UsageReport(usage))
        return out
