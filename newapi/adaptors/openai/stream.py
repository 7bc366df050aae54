"""OpenAI Chat Completions streams: pass-through, and Reader/Writer for conversion.

Passed through (the channel speaks chat and so does the client), every event goes out as the
bytes it arrived as. The only events looked into
are those carrying a ``usage`` object (decoded for billing) — and the usage-only
chunk the gateway forced upstream is dropped when the client did not ask for
it. Per-stream state is a few counters, never the text.
"""

from __future__ import annotations

import time

import msgspec
import orjson

from newapi.adaptors.openai import schemas
from newapi.adaptors.openai.chunk_facts import content_length, has_usage_object
from newapi.adaptors.openai.response import convert_usage, render_usage, stop_reason_of, usage_of
from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent

_EMPTY_CHOICES = (b'"choices":[]', b'"choices": []')
_DONE = b"data: [DONE]\n\n"
_OPEN_TAIL = b'},"finish_reason":null}]}\n\n'


class OpenAIPassThrough:
    __slots__ = (
        "_content_bytes",
        "_data_events",
        "_model",
        "_prompt_tokens",
        "_request_id",
        "_wants_usage",
        "done",
        "upstream_id",
        "usage",
    )

    def __init__(self, wants_usage: bool, model: str, request_id: str, prompt_tokens: int = 0) -> None:
        self._wants_usage = wants_usage
        self._prompt_tokens = prompt_tokens
        self._model = model
        self._request_id = request_id
        self.usage: Usage | None = None
        self.upstream_id = ""
        self.done = False
        self._data_events = 0
        self._content_bytes = 0

    def on_event(self, event: SSEEvent) -> bytes | None:
        data = event.data
        if data is None:
            return event.raw
        if event.done:
            self.done = True
            if self._wants_usage and self.usage is None:
                return self._synthetic_usage_chunk() + event.raw
            return event.raw
        self._data_events += 1
        # Not ``marker in data``: in CPython 3.11 that formats a TypeError per test, most of an
        # event's cost (newapi._speedups.chunks).
        if has_usage_object(data):
            usage = usage_of(data)
            if usage is not None and usage.valid:
                self.usage = usage
            if not self._wants_usage and (_EMPTY_CHOICES[0] in data or _EMPTY_CHOICES[1] in data):
                return None
        if not self.upstream_id and data.startswith(b'{"id":"'):
            end = data.find(b'"', 7)
            if end > 7:
                self.upstream_id = data[7:end].decode("latin-1")
        self._content_bytes += content_length(data)
        return event.raw

    def finish(self) -> bytes:
        if self.done:
            return b""
        # The upstream ended its body cleanly without the terminator; the stream did finish.
        self.done = True
        if self._wants_usage and self.usage is None:
            return self._synthetic_usage_chunk() + _DONE
        return _DONE

    def error_event(self, message: str, code: str) -> bytes:
        body = orjson.dumps(
            {
                "error": {
                    "message": f"{message} (request id: {self._request_id})",
                    "type": "new_api_error",
                    "code": code,
                }
            }
        )
        return b"data: " + body + b"\n\n"

    def completion_estimate(self) -> int:
        # About four bytes of text per token; at least one per content event.
        return max(self._content_bytes // 4, self._data_events - 2, 0)

    def _synthetic_usage_chunk(self) -> bytes:
        completion = self.completion_estimate()
        chunk = {
            "id": self.upstream_id or f"chatcmpl-{self._request_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self._model,
            "choices": [],
            "usage": {
                "prompt_tokens": self._prompt_tokens,
                "completion_tokens": completion,
                "total_tokens": self._prompt_tokens + completion,
            },
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n"


class Reader:
    """Chat completion chunks -> neutral events."""

    __slots__ = ("_begun", "_tools")

    def __init__(self) -> None:
        self._begun = False
        self._tools: set[int] = set()

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if data is None or event.done:
            return []
        try:
            view = schemas.completion_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []  # New API skips a chunk it cannot parse and goes on
        if view.error is not None:
            return [
                m.Failure(view.error.message or "upstream error", str(view.error.code or "upstream_error"))
            ]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(view.id or "", view.model or ""))
        if view.choices:
            choice = view.choices[0]
            delta = choice.delta
            if delta is not None:
                reasoning = delta.reasoning_content or delta.reasoning
                if reasoning:
                    out.append(m.ThinkingDelta(reasoning))
                if delta.content:
                    out.append(m.TextDelta(delta.content))
                for call in delta.tool_calls or ():
                    index = call.index or 0
                    if index not in self._tools:
                        self._tools.add(index)
                        out.append(m.ToolStart(index, call.id or "", call.function.name or ""))
                    if call.function.arguments:
                        out.append(m.ToolArgs(index, call.function.arguments))
            if choice.finish_reason:
                reason = stop_reason_of(choice.finish_reason)
                out.append(m.Finish("tool_calls" if reason == "stop" and self._tools else reason))
        if view.usage is not None:
            out.append(m.UsageReport(convert_usage(view.usage)))
        return out


class Writer:
    """Neutral events -> chat completion chunks; ``think_to_content`` is New API's §4.7 setting."""

    __slots__ = (
        "_head",
        "_id",
        "_in_think",
        "_model",
        "_request_id",
        "_started",
        "_think_to_content",
        "_wants_usage",
    )

    def __init__(
        self, model: str, request_id: str, wants_usage: bool, think_to_content: bool = False
    ) -> None:
        self._model = model
        self._request_id = request_id
        self._wants_usage = wants_usage
        self._think_to_content = think_to_content
        self._id = ""
        self._head = b""
        self._started = False
        self._in_think = False

    def _begin(self, ident: str) -> bytes:
        self._started = True
        self._id = ident or f"chatcmpl-{self._request_id}"
        self._head = (
            b'data: {"id":'
            + orjson.dumps(self._id)
            + b',"object":"chat.completion.chunk","created":%d,"model":' % int(time.time())
            + orjson.dumps(self._model)
            + b',"choices":[{"index":0,"delta":'
        )
        return self._chunk({"role": "assistant", "content": ""})

    def _chunk(self, delta: dict[str, object], finish: str | None = None) -> bytes:
        tail = (
            b',"finish_reason":null}]}\n\n'
            if finish is None
            else b',"finish_reason":"%b"}]}\n\n' % finish.encode()
        )
        return self._head + orjson.dumps(delta) + tail

    def write(self, event: m.Event) -> bytes:
        lead = b"" if self._started else self._begin(event.id if isinstance(event, m.Begin) else "")
        if isinstance(event, m.TextDelta):
            text: str = event.text
            if self._in_think:
                self._in_think = False
                text = "\n</think>\n" + text
            return lead + self._head + b'{"content":' + orjson.dumps(text) + _OPEN_TAIL
        if isinstance(event, m.ThinkingDelta):
            if self._think_to_content:
                text = event.text
                if not self._in_think:
                    self._in_think = True
                    text = "<think>\n" + text
                return lead + self._chunk({"content": text})
            return lead + self._chunk({"reasoning_content": event.text})
        if isinstance(event, m.ToolStart):
            call = {"index": event.index, "id": event.id, "type": "function"}
            call["function"] = {"name": event.name, "arguments": ""}
            return lead + self._chunk({"tool_calls": [call]})
        if isinstance(event, m.ToolArgs):
            call = {"index": event.index, "function": {"arguments": event.arguments}}
            return lead + self._chunk({"tool_calls": [call]})
        if isinstance(event, m.Finish):
            return lead + self._chunk({}, event.reason)
        return lead

    def close(self, usage: Usage) -> bytes:
        lead = b"" if self._started else self._begin("")
        if self._in_think:
            lead += self._chunk({"content": "\n</think>\n"})
        if self._wants_usage:
            head = self._head[: self._head.index(b'"choices"')]
            lead += head + b'"choices":[],"usage":' + orjson.dumps(render_usage(usage)) + b"}\n\n"
        return lead + _DONE

    def error(self, message: str, code: str) -> bytes:
        body = orjson.dumps({"error": {"message": message, "type": "new_api_error", "code": code}})
        return b"data: " + body + b"\n\n"
