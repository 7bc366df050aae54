"""Claude Messages streams: pass-through, and Reader/Writer for conversion (reference §4.2, §4.3).

Usage arrives in two halves: ``message_start`` has the input side (and cache figures),
``message_delta`` the output (cumulative). A passed-through stream decodes only those two.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
import orjson

from newapi.adaptors.claude import schemas
from newapi.adaptors.claude.response import STOP_OUT, convert_usage, render_usage, stop_reason_of
from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent


def _decode(data: bytes) -> schemas.Event | None:
    try:
        return schemas.event_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def error_event(message: str, kind: str = "api_error") -> bytes:
    body = orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return b"event: error\ndata: " + body + b"\n\n"


class ClaudePassThrough:
    """A Claude stream to a Claude client: bytes unchanged, usage read from two events."""

    __slots__ = ("_delta_bytes", "_deltas", "_request_id", "done", "upstream_id", "usage")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id
        self.usage: Usage | None = None
        self.upstream_id = ""
        self.done = False  # message_stop seen: the relay sends it last, after the settlement
        self._deltas = 0
        self._delta_bytes = 0

    def on_event(self, event: SSEEvent) -> bytes | None:
        name = event.event
        if name == "content_block_delta":
            self._deltas += 1
            data = event.data
            # the JSON around a delta's text is about 80 bytes
            self._delta_bytes += max(len(data) - 80, 0) if data is not None else 0
        elif name in ("message_start", "message_delta") and event.data is not None:
            view = _decode(event.data)
            if view is not None:
                if view.message is not None:
                    self.upstream_id = view.message.id or ""
                    raw = view.message.usage
                else:
                    raw = view.usage
                if raw is not None:
                    self.usage = m.merge_usage(self.usage, convert_usage(raw))
        elif name == "message_stop":
            self.done = True
        return event.raw

    def finish(self) -> bytes:
        return b""

    def error_event(self, message: str, code: str) -> bytes:
        return error_event(f"{message} (request id: {self._request_id})")

    def completion_estimate(self) -> int:
        return max(self._delta_bytes // 4, self._deltas)


class Reader:
    """Claude stream events -> neutral events."""

    __slots__ = ("_tools",)

    def __init__(self) -> None:
        self._tools: dict[int, int] = {}  # block index -> tool ordinal

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if data is None:
            return []
        view = _decode(data)
        if view is None:
            return []
        kind = view.type
        if kind == "content_block_delta" and view.delta is not None:
            delta = view.delta
            if delta.type == "text_delta":
                return [m.TextDelta(delta.text or "")]
            if delta.type == "thinking_delta":
                return [m.ThinkingDelta(delta.thinking or "")]
            if delta.type == "input_json_delta":
                ordinal = self._tools.get(view.index or 0, 0)
                return [m.ToolArgs(ordinal, delta.partial_json or "")] if delta.partial_json else []
            if delta.type == "signature_delta":
                return [m.SignatureDelta(delta.signature or "")]
            return []
        if kind == "content_block_start" and view.content_block is not None:
            block = view.content_block
            if block.type == "tool_use":
                ordinal = self._tools[view.index or 0] = len(self._tools)
                return [m.ToolStart(ordinal, block.id or "", block.name or "")]
            if block.type == "redacted_thinking":
                return [m.SignatureDelta("", redacted_data=block.data or "")]
            if block.type == "text" and block.text:
                return [m.TextDelta(block.text)]
            if block.type == "thinking" and block.thinking:
                return [m.ThinkingDelta(block.thinking)]
            return []
        if kind == "message_start" and view.message is not None:
            message = view.message
            usage = convert_usage(message.usage) if message.usage is not None else None
            return [m.Begin(message.id or "", message.model or "", usage)]
        if kind == "message_delta":
            out: list[m.Event] = []
            if view.delta is not None and view.delta.stop_reason:
                out.append(m.Finish(stop_reason_of(view.delta.stop_reason)))
            if view.usage is not None:
                out.append(m.UsageReport(convert_usage(view.usage)))
            return out
        if kind == "error":
            error = view.error
            text = (error.message if error is not None else None) or "upstream stream error"
            return [m.Failure(text, (error.type if error is not None else None) or "upstream_error")]
        return []


# The hot events are built by concatenation: one encode of the text, no dict per delta.
_TEXT_DELTA = (
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,'
    b'"delta":{"type":"text_delta","text":'
)


def _sse(name: bytes, body: Mapping[str, object]) -> bytes:
    return b"event: " + name + b"\ndata: " + orjson.dumps(body) + b"\n\n"


class Writer:
    """Neutral events -> Claude stream events; a new content block whenever the kind changes."""

    __slots__ = ("_block", "_index", "_kind", "_model", "_request_id", "_started", "_stop", "_tools")

    def __init__(self, model: str, request_id: str) -> None:
        self._model = model
        self._request_id = request_id
        self._started = False
        self._index = -1  # the open block's index
        self._kind = ""  # text | thinking | tool | "" (none open)
        self._block = -1  # blocks opened so far - 1
        self._tools: dict[int, int] = {}  # tool ordinal -> block index
        self._stop: m.StopReason = "stop"

    def _begin(self, ident: str, usage: Usage | None) -> bytes:
        self._started = True
        start_usage = render_usage(usage or Usage(), with_output=False)
        start_usage["output_tokens"] = 1 if usage is not None else 0
        message: dict[str, object] = {
            "id": ident if ident.startswith("msg_") else f"msg_{ident or self._request_id}",
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        return _sse(b"message_start", {"type": "message_start", "message": message})

    def _close_block(self) -> bytes:
        if not self._kind:
            return b""
        self._kind = ""
        return b'event: content_block_stop\ndata: {"type":"content_block_stop","index":%d}\n\n' % self._index

    def _open(self, kind: str, block: Mapping[str, object]) -> bytes:
        out = self._close_block()
        self._block += 1
        self._index = self._block
        self._kind = kind
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        return out + _sse(b"content_block_start", start)

    def _delta(self, index: int, delta: Mapping[str, object]) -> bytes:
        return _sse(b"content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def write(self, event: m.Event) -> bytes:
        if isinstance(event, m.Begin):
            return b"" if self._started else self._begin(event.id, event.usage)
        out = b"" if self._started else self._begin("", None)
        if isinstance(event, m.TextDelta):
            if self._kind != "text":
                out += self._open("text", {"type": "text", "text": ""})
            return out + _TEXT_DELTA % self._index + orjson.dumps(event.text) + b"}}\n\n"
        if isinstance(event, m.ThinkingDelta):
            if self._kind != "thinking":
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            thinking = {"type": "thinking_delta", "thinking": event.text}
            return out + self._delta(self._index, thinking)
        if isinstance(event, m.SignatureDelta):
            if event.redacted_data:
                out += self._open("redacted", {"type": "redacted_thinking", "data": event.redacted_data})
                return out + self._close_block()
            if self._kind != "thinking":
                out += self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            signature = {"type": "signature_delta", "signature": event.signature}
            return out + self._delta(self._index, signature)
        if isinstance(event, m.ToolStart):
            block = {"type": "tool_use", "id": event.id, "name": event.name, "input": {}}
            out += self._open("tool", block)
            self._tools[event.index] = self._index
            return out
        if isinstance(event, m.ToolArgs):
            index = self._tools.get(event.index, self._index)
            args = {"type": "input_json_delta", "partial_json": event.arguments}
            return out + self._delta(index, args)
        if isinstance(event, m.Finish):
            self._stop = event.reason
        return out

    def close(self, usage: Usage) -> bytes:
        out = b"" if self._started else self._begin("", None)
        out += self._close_block()
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_OUT[self._stop], "stop_sequence": None},
            "usage": render_usage(usage),
        }
        return out + _sse(b"message_delta", delta) + b'event: message_stop\ndata: {"type":"message_stop"}\n\n'

    def error(self, message: str, code: str) -> bytes:
        return error_event(message)
