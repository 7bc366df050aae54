"""What a family's stream handler does with each event (pass, drop, convert) and at the end."""

from __future__ import annotations

from typing import Protocol

from newapi.core.usage import Usage
from newapi.streaming.scanner import SSEEvent


class StreamPolicy(Protocol):
    usage: Usage | None
    upstream_id: str

    def on_event(self, event: SSEEvent) -> bytes | None:
        """Bytes to send the client for this event (its raw bytes when unchanged), or None to drop it."""
        ...

    def finish(self) -> bytes:
        """Bytes to send after a clean end of the upstream stream (a missing terminator, usage)."""
        ...

    def error_event(self, message: str, code: str) -> bytes:
        """An error event in the client's family, sent when the upstream fails mid-stream."""
        ...

    def completion_estimate(self) -> int:
        """Completion tokens estimated from what was streamed, for when no usage arrives."""
        ...
