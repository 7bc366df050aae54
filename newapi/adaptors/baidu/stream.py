"""ERNIE streams: SSE ``data:`` chunks with the next ``result`` piece; the last has ``is_end``
and the usage of the whole answer. No ``[DONE]``: the stream just ends. A ``function_call``
comes whole in one chunk (its ``thoughts`` as reasoning)."""

from __future__ import annotations

from newapi.adaptors.baidu import schemas
from newapi.adaptors.baidu.response import call_id, convert_usage, finish_of
from newapi.adaptors.signed import EventReader
from newapi.convert import model as m


class Reader(EventReader):
    __slots__ = ("_called",)
    provider = "ERNIE"

    def __init__(self) -> None:
        super().__init__()
        self._called = False

    def decode(self, data: bytes) -> schemas.Answer:
        return schemas.answer_decoder.decode(data)

    def events(self, view: schemas.Answer) -> list[m.Event]:
        if view.error_code:
            return [m.Failure(f"{view.error_msg} (error_code {view.error_code})", str(view.error_code))]
        out = self.begin(view.id)
        call = view.function_call
        if call is not None and call.thoughts:
            out.append(m.ThinkingDelta(call.thoughts))
        if view.result:
            out.append(m.TextDelta(view.result))
        if call is not None and call.name and not self._called:
            self._called = True
            out.append(m.ToolStart(0, call_id(view.id), call.name))
            out.append(m.ToolArgs(0, call.arguments or "{}"))
        if view.is_end:
            out.append(m.Finish(finish_of(view)))
            if view.usage is not None:
                out.append(m.UsageReport(convert_usage(view.usage)))
        return out
