"""Responses API streams: pass-through, and Reader/Writer for conversion (reference §4.6).

The Writer keeps the text of the output item being streamed: Responses' ``*.done`` events and
``response.completed`` repeat every item whole, so this family cannot be written from counters.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import orjson

from newapi.adaptors.responses import schemas
from newapi.adaptors.responses.response import (
    ToolCalls,
    convert_usage,
    render_usage,
    response_object,
    stop_reason_of,
)
from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent

_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_TEXT = frozenset({"response.output_text.delta", "response.refusal.delta"})
_THINKING = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})
#: in every built-in tool call item's type (web_search_call, file_search_call, image_generation_call)
_CALL_MARK = b'_call"'


def _decode(data: bytes) -> schemas.Event | None:
    try:
        return schemas.event_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def error_event(message: str, code: str, sequence: int = 0) -> bytes:
    body = {"type": "error", "code": code, "message": message, "param": None, "sequence_number": sequence}
    return b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"


class ResponsesPassThrough:
    """A Responses stream to a Responses client: bytes unchanged, usage from the final event."""

    __slots__ = ("_bytes", "_calls", "_deltas", "_request_id", "done", "upstream_id", "usage")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self._calls: ToolCalls | None = None
        self.usage: Usage | None = None
        self.upstream_id = ""
        self.done = False  # the final event seen: the relay sends it last, after the settlement
        self._deltas = 0
        self._bytes = 0

    def on_event(self, event: SSEEvent) -> bytes | None:
        name = event.event or ""
        data = event.data
        if data is not None:
            if name.endswith(".delta"):
                self._deltas += 1
                self._bytes += max(len(data) - 120, 0)  # the JSON around a delta is about 120 bytes
            elif name in _FINAL or name == "response.created":
                self.done = name in _FINAL
                view = _decode(data)
                if view is not None and view.response is not None:
                    self.upstream_id = view.response.id or self.upstream_id
                    if view.response.usage is not None:
                        self.usage = convert_usage(view.response.usage)
                    # a failed response bills no tool call (New API commits them on success only)
                    billable = self.done and name != "response.failed"
                    if billable and (view.response.output or self._calls is not None):
                        calls = self._calls = self._calls or ToolCalls()
                        calls.observe_all(view.response.output)
                        calls.apply(self.usage)
            elif name == "response.output_item.done" and _CALL_MARK in data:
                view = _decode(data)
                if view is not None and view.item is not None:
                    self._calls = self._calls or ToolCalls()
                    self._calls.observe(view.item)
        return event.raw

    def finish(self) -> bytes:
        return b""

    def error_event(self, message: str, code: str) -> bytes:
        return error_event(f"{message} (request id: {self._request_id})", code)

    def completion_estimate(self) -> int:
        return max(self._bytes // 4, self._deltas)


class Reader:
    """Responses stream events -> neutral events."""

    __slots__ = ("_calls", "_tools")

    def __init__(self) -> None:
        self._tools: dict[int, int] = {}  # output_index -> tool ordinal
        self._calls = ToolCalls()

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if data is None:
            return []
        view = _decode(data)
        if view is None:
            return []
        kind = view.type
        if kind in _TEXT:
            return [m.TextDelta(view.delta or "")] if view.delta else []
        if kind in _THINKING:
            return [m.ThinkingDelta(view.delta or "")] if view.delta else []
        if kind == "response.function_call_arguments.delta":
            ordinal = self._tools.get(view.output_index or 0, 0)
            return [m.ToolArgs(ordinal, view.delta or "")] if view.delta else []
        item = view.item
        if kind == "response.output_item.added" and item is not None and item.type == "function_call":
            ordinal = self._tools[view.output_index or 0] = len(self._tools)
            out: list[m.Event] = [m.ToolStart(ordinal, item.call_id or item.id or "", item.name or "")]
            if item.arguments:
                out.append(m.ToolArgs(ordinal, item.arguments))
            return out
        if kind == "response.output_item.done" and item is not None:
            if item.type == "reasoning":
                return [m.SignatureDelta(item.encrypted_content)] if item.encrypted_content else []
            self._calls.observe(item)
            return []
        response = view.response
        if kind == "response.created" and response is not None:
            return [m.Begin(response.id or "", response.model or "")]
        if kind in ("response.completed", "response.incomplete") and response is not None:
            done: list[m.Event] = []
            if response.usage is not None:
                usage = convert_usage(response.usage)
                self._calls.observe_all(response.output)
                self._calls.apply(usage, images=False)  # converted: no image reaches the client
                done.append(m.UsageReport(usage))
            done.append(m.Finish(stop_reason_of(response, bool(self._tools))))
            return done
        if kind == "response.failed":
            error = response.error if response is not None else None
            return [
                m.Failure(
                    (error.message if error else None) or "response failed",
                    (error.code if error else None) or "upstream_error",
                )
            ]
        if kind == "error":
            return [m.Failure(view.message or "upstream stream error", view.code or "upstream_error")]
        return []


class Writer:
    """Neutral events -> Responses stream events: items opened and closed as the kind changes."""

    __slots__ = ("_created", "_id", "_item", "_model", "_output", "_seq", "_started", "_stop")

    def __init__(self, model: str, request_id: str) -> None:
        self._model = model
        self._id = f"resp_{request_id}"
        self._created = int(time.time())
        self._seq = 0
        self._started = False
        self._output: list[dict[str, Any]] = []  # finished items, for response.completed
        self._item: dict[str, Any] | None = None  # the open item; its text accumulates under "_text"
        self._stop: m.StopReason = "stop"

    def _event(self, kind: str, **fields: Any) -> bytes:
        body = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"

    def _response(self, status: str, usage: Usage | None) -> dict[str, Any]:
        return response_object(self._id, self._model, self._created, status, list(self._output), usage)

    def _begin(self) -> bytes:
        self._started = True
        return self._event("response.created", response=self._response("in_progress", None)) + self._event(
            "response.in_progress", response=self._response("in_progress", None)
        )

    def _open(self, kind: str, item: dict[str, Any]) -> bytes:
        out = self._close_item()
        index = len(self._output)
        item = {"id": f"{kind}_{self._id[5:]}_{index}", **item}
        self._item = {"kind": kind, "index": index, "text": [], "item": item}
        out += self._event(
            "response.output_item.added", output_index=index, item={**item, "status": "in_progress"}
        )
        if kind == "msg":
            part = {"type": "output_text", "text": "", "annotations": []}
            out += self._event(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
        elif kind == "rs":
            part = {"type": "summary_text", "text": ""}
            out += self._event(
                "response.reasoning_summary_part.added",
                item_id=item["id"],
                output_index=index,
                summary_index=0,
                part=part,
            )
        return out

    def _close_item(self) -> bytes:
        state, self._item = self._item, None
        if state is None:
            return b""
        item, index, text = state["item"], state["index"], "".join(state["text"])
        ident = item["id"]
        if state["kind"] == "msg":
            part = {"type": "output_text", "text": text, "annotations": []}
            out = self._event(
                "response.output_text.done", item_id=ident, output_index=index, content_index=0, text=text
            )
            out += self._event(
                "response.content_part.done", item_id=ident, output_index=index, content_index=0, part=part
            )
            item.update(status="completed", content=[part])
        elif state["kind"] == "rs":
            part = {"type": "summary_text", "text": text}
            out = self._event(
                "response.reasoning_summary_text.done",
                item_id=ident,
                output_index=index,
                summary_index=0,
                text=text,
            )
            out += self._event(
                "response.reasoning_summary_part.done",
                item_id=ident,
                output_index=index,
                summary_index=0,
                part=part,
            )
            item["summary"] = [part] if text else []
        else:
            out = self._event(
                "response.function_call_arguments.done", item_id=ident, output_index=index, arguments=text
            )
            item.update(status="completed", arguments=text)
        self._output.append(item)
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def write(self, event: m.Event) -> bytes:
        out = b"" if self._started else self._begin()
        state = self._item
        if isinstance(event, m.TextDelta):
            if state is None or state["kind"] != "msg":
                out += self._open("msg", {"type": "message", "role": "assistant", "content": []})
                state = self._item
            assert state is not None
            state["text"].append(event.text)
            ident, index = state["item"]["id"], state["index"]
            return out + self._event(
                "response.output_text.delta",
                item_id=ident,
                output_index=index,
                content_index=0,
                delta=event.text,
                logprobs=[],
            )
        if isinstance(event, m.ThinkingDelta | m.SignatureDelta):
            if state is None or state["kind"] != "rs":
                out += self._open("rs", {"type": "reasoning", "summary": []})
                state = self._item
            assert state is not None
            if isinstance(event, m.SignatureDelta):
                state["item"]["encrypted_content"] = event.signature or event.redacted_data
                return out
            state["text"].append(event.text)
            ident, index = state["item"]["id"], state["index"]
            return out + self._event(
                "response.reasoning_summary_text.delta",
                item_id=ident,
                output_index=index,
                summary_index=0,
                delta=event.text,
            )
        if isinstance(event, m.ToolStart):
            call = {"type": "function_call", "call_id": event.id, "name": event.name, "arguments": ""}
            return out + self._open("fc", call)
        if isinstance(event, m.ToolArgs) and state is not None and state["kind"] == "fc":
            state["text"].append(event.arguments)
            ident, index = state["item"]["id"], state["index"]
            return out + self._event(
                "response.function_call_arguments.delta",
                item_id=ident,
                output_index=index,
                delta=event.arguments,
            )
        if isinstance(event, m.Finish):
            self._stop = event.reason
        return out

    def close(self, usage: Usage) -> bytes:
        out = b"" if self._started else self._begin()
        out += self._close_item()
        if self._stop in ("length", "content_filter"):
            return out + self._event("response.incomplete", response=self._response("incomplete", usage))
        return out + self._event("response.completed", response=self._response("completed", usage))

    def error(self, message: str, code: str) -> bytes:
        return error_event(message, code, self._seq)


__all__ = ["Reader", "ResponsesPassThrough", "Writer", "error_event", "render_usage"]
