"""Hunyuan streams: SSE ``data:`` events, each a bare response object with the choice's ``Delta``
and the usage so far; the last has a ``FinishReason``. No ``[DONE]``: the stream just ends."""

from __future__ import annotations

import msgspec

from newapi.adaptors.tencent import schemas
from newapi.adaptors.tencent.response import convert_usage, finish_of
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
            view = schemas.event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [m.Failure(f"unreadable Hunyuan stream event: {data[:200]!r}", "bad_response_body")]
        if view.Error is not None:
            return [
                m.Failure(f"{view.Error.Code}: {view.Error.Message}", view.Error.Code or "upstream_error")
            ]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(id=view.Id))
        for choice in view.Choices[:1]:
            if choice.Delta is not None and choice.Delta.Content:
                out.append(m.TextDelta(choice.Delta.Content))
            if choice.FinishReason:
                out.append(m.Finish(finish_of(choice.FinishReason)))
        if view.Usage is not None and (view.Usage.PromptTokens or view.Usage.CompletionTokens):
            out.append(m.UsageReport(convert_usage(view.Usage)))
        return out
