"""Hunyuan streams: SSE ``data:`` events, each a bare response object with the choice's ``Delta``
and the usage so far; the last has a ``FinishReason``. No ``[DONE]``: the stream just ends."""

from __future__ import annotations

from newapi.adaptors.signed import EventReader
from newapi.adaptors.tencent import schemas
from newapi.adaptors.tencent.response import convert_usage, finish_of
from newapi.convert import model as m


class Reader(EventReader):
    __slots__ = ()
    provider = "Hunyuan"

    def decode(self, data: bytes) -> schemas.Params:
        return schemas.event_decoder.decode(data)

    def events(self, view: schemas.Params) -> list[m.Event]:
        if view.Error is not None:
            return [
                m.Failure(f"{view.Error.Code}: {view.Error.Message}", view.Error.Code or "upstream_error")
            ]
        out = self.begin(view.Id)
        for choice in view.Choices[:1]:
            if choice.Delta is not None and choice.Delta.Content:
                out.append(m.TextDelta(choice.Delta.Content))
            if choice.FinishReason:
                out.append(m.Finish(finish_of(choice.FinishReason)))
        if view.Usage is not None and (view.Usage.PromptTokens or view.Usage.CompletionTokens):
            out.append(m.UsageReport(convert_usage(view.Usage)))
        return out
