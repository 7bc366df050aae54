"""Stubs of the compiled SSE scanner; the pure-Python twin ``_sse_py`` has the same API."""

class SSELineTooLong(ValueError):
    """A line or a pending event grew beyond ``max_line`` bytes."""

class SSEEvent:
    """One dispatched event. ``raw`` is the exact bytes received, terminating blank line included."""

    def __init__(
        self,
        *,
        data: bytes | None = None,
        event: str | None = None,
        id: str | None = None,
        comment: bytes | None = None,
        raw: bytes = b"",
    ) -> None: ...
    @property
    def data(self) -> bytes | None:
        """``data`` lines joined with b"\\n"; None if the event had none."""
    @property
    def event(self) -> str | None: ...
    @property
    def id(self) -> str | None: ...
    @property
    def comment(self) -> bytes | None:
        """Comment lines (after ``:`` and one space) joined with b"\\n"; None if none."""
    @property
    def raw(self) -> bytes: ...
    @property
    def done(self) -> bool:
        """Whether this is OpenAI's end-of-stream sentinel ``data: [DONE]``."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class SSEScanner:
    """Splits a byte stream into :class:`SSEEvent` objects, whatever the chunking."""

    def __init__(self, max_line: int = 134217728) -> None: ...
    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned in an event."""
    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that ``chunk`` completes, in order."""
    def finish(self) -> list[SSEEvent]:
        """At end of stream: the pending event if it has any line; trailing blank lines are dropped."""
