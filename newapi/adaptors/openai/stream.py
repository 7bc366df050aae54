"""OpenAI-format streams passed through to an OpenAI-format client.

Every event goes out as the bytes it arrived as. The only events looked into
are those carrying a ``usage`` object (decoded for billing) — and the usage-only
chunk the gateway forced upstream is dropped when the client did not ask for
it. Per-stream state is a few counters, never the text.
"""

from __future__ import annotations

import time

import orjson

from newapi.adaptors.openai.response import usage_of
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent

_USAGE_MARKERS = (b'"usage":{', b'"usage": {')
_EMPTY_CHOICES = (b'"choices":[]', b'"choices": []')
_CONTENT = b'"content":"'
_DONE = b"data: [DONE]\n\n"


def content_length(data: bytes) -> int:
    """Bytes of the first ``"content":"..."`` string in an event (0 if none), escapes included."""
    start = data.find(_CONTENT)
    if start < 0:
        return 0
    start += len(_CONTENT)
    end = start
    while True:
        end = data.find(b'"', end)
        if end < 0:
            return 0
        # A quote preceded by an odd number of backslashes is escaped.
        slashes = 0
        back = end - 1
        while back >= start and data[back] == 0x5C:
            slashes += 1
            back -= 1
        if slashes % 2 == 0:
            return end - start
        end += 1


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
        if _USAGE_MARKERS[0] in data or _USAGE_MARKERS[1] in data:
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
