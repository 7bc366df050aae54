"""Cohere v2 chat stream events (``message-start`` ... ``message-end``) to neutral events."""

from __future__ import annotations

import msgspec

from newapi.adaptors.cohere import schemas
from newapi.adaptors.cohere.response import FAILED, STOP, convert_usage
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent


class Reader:
    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls = 0  # tool calls started so far (the neutral index)

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if not data or event.done:
            return []
        try:
            view = schemas.event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []
        delta = view.delta or schemas.Delta()
        message = delta.message or schemas.DeltaMessage()
        kind = view.type
        if kind == "message-start":
            return [m.Begin(view.id or "")]
        if kind == "content-delta" and message.content is not None:
            content = message.content
            if content.thinking:
                return [m.ThinkingDelta(content.thinking)]
            return [m.TextDelta(content.text)] if content.text else []
        if kind == "tool-call-start" and message.tool_calls is not None:
            call = message.tool_calls
            function = call.function or schemas.Function()
            out: list[m.Event] = [m.ToolStart(self._calls, call.id or "", function.name or "")]
            if function.arguments:
                out.append(m.ToolArgs(self._calls, function.arguments))
            self._calls += 1
            return out
        if kind == "tool-call-delta" and message.tool_calls is not None:
            function = message.tool_calls.function or schemas.Function()
            return [m.ToolArgs(self._calls - 1, function.arguments)] if function.arguments else []
        if kind == "message-end":
            reason = delta.finish_reason or "COMPLETE"
            if reason in FAILED:
                return [m.Failure(delta.error or f"Cohere stopped the generation: {reason}", reason.lower())]
            out = [m.Finish(STOP.get(reason, "stop"))]
            usage = convert_usage(delta.usage) if delta.usage is not None else None
            if usage is not None:
                out.append(m.UsageReport(usage))
            return out
        return []
