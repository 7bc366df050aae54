"""Gemini streams (``streamGenerateContent?alt=sse``): pass-through, and Reader/Writer for conversion.

The gateway always asks Gemini upstreams for SSE. A client that called without ``alt=sse`` gets
Gemini's other framing, one JSON array whose items are the chunks, re-framed here.
"""

from __future__ import annotations

import msgspec
import orjson

from newapi.adaptors.gemini import schemas
from newapi.adaptors.gemini.response import (
    FINISH_OUT,
    GOOGLE_SEARCH,
    convert_usage,
    finish_of,
    render_usage,
    searched,
)
from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent

_USAGE_MARKERS = (b'"finishReason"', b'"candidatesTokenCount"', b'"webSearchQueries"')


def _decode(data: bytes) -> schemas.Response | None:
    try:
        return schemas.response_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def error_body(message: str, code: int = 500, status: str = "INTERNAL") -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "status": status}})


class Framing:
    """SSE events, or the items of one JSON array (``[a`` ``,\\r\\nb`` ... ``]``)."""

    __slots__ = ("_first", "sse")

    def __init__(self, sse: bool) -> None:
        self.sse = sse
        self._first = True

    def item(self, data: bytes) -> bytes:
        if self.sse:
            return b"data: " + data + b"\r\n\r\n"
        lead, self._first = (b"[" if self._first else b",\r\n"), False
        return lead + data

    def end(self) -> bytes:
        if self.sse:
            return b""
        return b"[]" if self._first else b"]"


class GeminiPassThrough:
    """A Gemini stream to a Gemini client: SSE bytes unchanged (or re-framed), usage from the end."""

    __slots__ = ("_bytes", "_count", "_framing", "_request_id", "_searched", "upstream_id", "usage")

    def __init__(self, request_id: str, sse: bool) -> None:
        self._request_id = request_id
        self._framing = Framing(sse)
        self._searched = False  # grounded with a web search: one google_search call billed
        self.usage: Usage | None = None
        self.upstream_id = ""
        self._count = 0
        self._bytes = 0

    def on_event(self, event: SSEEvent) -> bytes | None:
        data = event.data
        if data is None:
            return event.raw if self._framing.sse else None
        self._count += 1
        self._bytes += len(data)
        # find, not ``marker in data``: in CPython 3.11 that formats a TypeError per test
        if (
            data.find(_USAGE_MARKERS[0]) >= 0
            or data.find(_USAGE_MARKERS[1]) >= 0
            or data.find(_USAGE_MARKERS[2]) >= 0
        ):
            view = _decode(data)
            if view is not None:
                if view.usageMetadata is not None:
                    self.usage = convert_usage(view.usageMetadata)
                self.upstream_id = self.upstream_id or view.responseId or ""
                self._searched = self._searched or searched(view)
                if self._searched and self.usage is not None:
                    self.usage.tool_calls = dict(GOOGLE_SEARCH)
        return event.raw if self._framing.sse else self._framing.item(data)

    def finish(self) -> bytes:
        return self._framing.end()

    def error_event(self, message: str, code: str) -> bytes:
        body = error_body(f"{message} (request id: {self._request_id})")
        return self._framing.item(body) + self._framing.end()

    def completion_estimate(self) -> int:
        # a chunk is about 300 bytes of JSON around its text
        return max((self._bytes - 300 * self._count) // 4, self._count)


class Reader:
    """Gemini chunks -> neutral events. A function call arrives whole: start and arguments at once."""

    __slots__ = ("_begun", "_searched", "_tools")

    def __init__(self) -> None:
        self._begun = False
        self._searched = False
        self._tools = 0

    def read(self, event: SSEEvent) -> list[m.Event]:
        data = event.data
        if data is None:
            return []
        view = _decode(data)
        if view is None:
            return []
        if view.error is not None:
            return [m.Failure(view.error.message or "upstream error", view.error.status or "upstream_error")]
        out: list[m.Event] = []
        if not self._begun:
            self._begun = True
            out.append(m.Begin(view.responseId or "", view.modelVersion or ""))
        finish: str | None = None
        if view.candidates:
            candidate = view.candidates[0]
            for part in (candidate.content.parts if candidate.content is not None else None) or ():
                if part.functionCall is not None:
                    call = part.functionCall
                    ident = call.id or f"call_{self._tools}_{call.name}"
                    out.append(m.ToolStart(self._tools, ident, call.name, part.thoughtSignature or ""))
                    args = call.args if call.args is not None else {}
                    out.append(m.ToolArgs(self._tools, orjson.dumps(args).decode()))
                    self._tools += 1
                elif part.thought:
                    if part.text:
                        out.append(m.ThinkingDelta(part.text))
                    if part.thoughtSignature:
                        out.append(m.SignatureDelta(part.thoughtSignature))
                elif part.text:
                    out.append(m.TextDelta(part.text))
            finish = candidate.finishReason
        elif view.promptFeedback is not None and view.promptFeedback.blockReason:
            finish = "SAFETY"
        if not self._searched and searched(view):
            self._searched = True
            # merged into whatever usage the stream reports, before or after this chunk
            out.append(m.UsageReport(Usage(tool_calls=dict(GOOGLE_SEARCH))))
        if view.usageMetadata is not None:
            usage = convert_usage(view.usageMetadata)
            if self._searched:
                usage.tool_calls = dict(GOOGLE_SEARCH)
            out.append(m.UsageReport(usage))
        if finish:
            reason = finish_of(finish)
            out.append(m.Finish("tool_calls" if reason == "stop" and self._tools else reason))
        return out


class Writer:
    """Neutral events -> Gemini chunks, one per text delta; a function call is sent once complete."""

    __slots__ = ("_call", "_framing", "_id", "_model", "_stop")

    def __init__(self, model: str, request_id: str, sse: bool = True) -> None:
        self._model = model
        self._framing = Framing(sse)
        self._id = request_id
        self._stop: m.StopReason = "stop"
        # the function call being received: [id, name, signature, argument pieces...]
        self._call: list[str] | None = None

    def _chunk(
        self, parts: list[dict[str, object]], finish: str | None = None, usage: Usage | None = None
    ) -> bytes:
        candidate: dict[str, object] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        out: dict[str, object] = {"candidates": [candidate]}
        if usage is not None:
            out["usageMetadata"] = render_usage(usage)
        out["modelVersion"] = self._model
        out["responseId"] = self._id
        return self._framing.item(orjson.dumps(out))

    def _flush_call(self) -> bytes:
        call, self._call = self._call, None
        if call is None:
            return b""
        try:
            args = orjson.loads("".join(call[3:]) or "{}")
        except orjson.JSONDecodeError:
            args = {}
        part: dict[str, object] = {
            "functionCall": {"name": call[1], "args": args if isinstance(args, dict) else {}}
        }
        if call[2]:
            part["thoughtSignature"] = call[2]
        return self._chunk([part])

    def write(self, event: m.Event) -> bytes:
        if isinstance(event, m.ToolArgs):
            if self._call is not None:
                self._call.append(event.arguments)
            return b""
        out = self._flush_call() if self._call is not None else b""
        if isinstance(event, m.TextDelta):
            return out + self._chunk([{"text": event.text}])
        if isinstance(event, m.ThinkingDelta):
            return out + self._chunk([{"text": event.text, "thought": True}])
        if isinstance(event, m.SignatureDelta) and event.signature:
            return out + self._chunk([{"text": "", "thought": True, "thoughtSignature": event.signature}])
        if isinstance(event, m.ToolStart):
            self._call = [event.id, event.name, event.signature]
        elif isinstance(event, m.Finish):
            self._stop = event.reason
        elif isinstance(event, m.Begin) and event.id:
            self._id = event.id
        return out

    def close(self, usage: Usage) -> bytes:
        out = self._flush_call()
        return out + self._chunk([{"text": ""}], FINISH_OUT[self._stop], usage) + self._framing.end()

    def error(self, message: str, code: str) -> bytes:
        return self._framing.item(error_body(message)) + self._framing.end()
