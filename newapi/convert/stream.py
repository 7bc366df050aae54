"""A stream policy that converts: the upstream family's Reader, then the client family's Writer.

Readers turn one SSE event into neutral events; Writers turn neutral events into the client's
SSE bytes, encoding each outgoing event once. The policy keeps the usage the upstream reported
(for billing) and a count of streamed text bytes (for the estimate when none is reported).
"""

from __future__ import annotations

from typing import Protocol

from newapi.convert import model as m
from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent


class Reader(Protocol):
    def read(self, event: SSEEvent) -> list[m.Event]:
        """The neutral events one upstream SSE event carries (none for keep-alives and ends)."""
        ...


class Writer(Protocol):
    def write(self, event: m.Event) -> bytes:
        """The client bytes for one neutral event (b"" when it only changes the writer's state)."""
        ...

    def close(self, usage: Usage) -> bytes:
        """The end of a stream that finished: open blocks closed, final usage, the terminator."""
        ...

    def error(self, message: str, code: str) -> bytes:
        """An error event in the client's family (the stream ends after it)."""
        ...


class ConvertingPolicy:
    __slots__ = (
        "_closed",
        "_events",
        "_prompt",
        "_request_id",
        "_text_bytes",
        "reader",
        "upstream_id",
        "usage",
        "writer",
    )

    def __init__(self, reader: Reader, writer: Writer, request_id: str, prompt_tokens: int = 0) -> None:
        self.reader = reader
        self._prompt = prompt_tokens
        self.writer = writer
        self._request_id = request_id
        self.usage: Usage | None = None
        self.upstream_id = ""
        self._closed = False
        self._text_bytes = 0
        self._events = 0

    def on_event(self, event: SSEEvent) -> bytes | None:
        if self._closed:
            return None
        parts: list[bytes] = []
        for item in self.reader.read(event):
            if isinstance(item, m.TextDelta | m.ThinkingDelta):
                self._text_bytes += len(item.text)
                self._events += 1
            elif isinstance(item, m.ToolArgs):
                self._text_bytes += len(item.arguments)
                self._events += 1
            elif isinstance(item, m.UsageReport):
                self.usage = m.merge_usage(self.usage, item.usage)
            elif isinstance(item, m.Begin):
                self.upstream_id = self.upstream_id or item.id
                if item.usage is not None:
                    self.usage = m.merge_usage(self.usage, item.usage)
            elif isinstance(item, m.Failure):
                self._closed = True
                parts.append(self.writer.error(item.message, item.code))
                break
            out = self.writer.write(item)
            if out:
                parts.append(out)
        if event.done and not self._closed:
            parts.append(self.finish())
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else b"".join(parts)

    @property
    def done(self) -> bool:
        """The client's stream is closed (its final events written): the relay sends them last."""
        return self._closed

    def finish(self) -> bytes:
        if self._closed:
            return b""
        self._closed = True
        usage = self.usage
        if usage is None or not usage.valid:  # the client still gets figures; billing counts locally
            usage = Usage(prompt_tokens=self._prompt, completion_tokens=self.completion_estimate())
        return self.writer.close(usage)

    def error_event(self, message: str, code: str) -> bytes:
        self._closed = True
        return self.writer.error(f"{message} (request id: {self._request_id})", code)

    def completion_estimate(self) -> int:
        return max(self._text_bytes // 4, self._events)
