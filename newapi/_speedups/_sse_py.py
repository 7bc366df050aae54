"""Incremental Server-Sent Events scanner (pure-Python twin of ``sse.pyx``).

Same algorithm as the compiled module, line for line, so both return the same events with the
same ``raw`` bytes and raise at the same points. ``bytes.find`` does the searching.
"""

from __future__ import annotations

import operator
import sys
from typing import Final

_DEFAULT_MAX_LINE: Final = 128 * 1024 * 1024
_IDLE: Final = 0  # only blank lines since the last event
_IN_EVENT: Final = 1  # a field or comment line of the next event has been seen
_FAILED: Final = 2  # max_line was exceeded; the scanner refuses further input
_LF: Final = 10
_SPACE: Final = 32
_COLON: Final = 58

_Buffer = bytes | bytearray


class SSELineTooLong(ValueError):
    """A line or a pending event grew beyond ``max_line`` bytes."""


def _size(limit: int) -> str:
    if limit >= 1048576:
        return f"{limit / 1048576:g} MB ({limit} bytes)"
    return f"{limit} bytes"


def _too_long_message(limit: int, line_len: int, event_len: int) -> str:
    if line_len > limit:
        return f"SSE line longer than the max_line limit of {_size(limit)}: saw {line_len} bytes in one line"
    return (
        f"SSE event larger than the max_line limit of {_size(limit)}: "
        f"saw {event_len} bytes without a blank line"
    )


class SSEEvent:
    """One dispatched event. ``raw`` is the exact bytes received, terminating blank line included."""

    __slots__ = ("_comment", "_data", "_event", "_id", "_raw")

    _comment: bytes | None
    _data: bytes | None
    _event: str | None
    _id: str | None
    _raw: bytes

    def __init__(
        self,
        *,
        data: bytes | None = None,
        event: str | None = None,
        id: str | None = None,
        comment: bytes | None = None,
        raw: bytes = b"",
    ) -> None:
        # Exact types and messages as Cython checks them in the compiled twin.
        if type(raw) is not bytes:
            raise TypeError(f"Argument 'raw' has incorrect type (expected bytes, got {type(raw).__name__})")
        for value, kind in ((data, bytes), (event, str), (id, str), (comment, bytes)):
            if value is not None and type(value) is not kind:
                raise TypeError(f"Expected {kind.__name__}, got {type(value).__name__}")
        self._data = data
        self._event = event
        self._id = id
        self._comment = comment
        self._raw = raw

    @property
    def data(self) -> bytes | None:
        return self._data

    @property
    def event(self) -> str | None:
        return self._event

    @property
    def id(self) -> str | None:
        return self._id

    @property
    def comment(self) -> bytes | None:
        return self._comment

    @property
    def raw(self) -> bytes:
        return self._raw

    @property
    def done(self) -> bool:
        """Whether this is OpenAI's end-of-stream sentinel ``data: [DONE]``."""
        return self._data == b"[DONE]"

    def __eq__(self, other: object) -> bool:
        if type(other) is not SSEEvent:
            return NotImplemented
        return (
            self._raw == other._raw
            and self._data == other._data
            and self._event == other._event
            and self._id == other._id
            and self._comment == other._comment
        )

    def __hash__(self) -> int:
        return hash((self._data, self._event, self._id, self._comment, self._raw))

    def __repr__(self) -> str:
        return (
            f"SSEEvent(data={self._data!r}, event={self._event!r}, id={self._id!r}, "
            f"comment={self._comment!r}, raw={self._raw!r})"
        )


_new_event = object.__new__


def _joined(p: _Buffer, ev: int, spans: list[int]) -> bytes | None:
    if not spans:
        return None
    if len(spans) == 2:
        return bytes(p[ev + spans[0] : ev + spans[1]])
    return b"\n".join([p[ev + spans[i] : ev + spans[i + 1]] for i in range(0, len(spans), 2)])


class SSEScanner:
    """Splits a byte stream into :class:`SSEEvent` objects, whatever the chunking."""

    __slots__ = (
        "_buf",
        "_comment",
        "_data",
        "_event",
        "_failure",
        "_id",
        "_line_start",
        "_max_line",
        "_scan_pos",
        "_state",
    )

    def __init__(self, max_line: int = _DEFAULT_MAX_LINE) -> None:
        max_line = operator.index(max_line)
        if max_line > sys.maxsize:
            raise OverflowError("Python int too large to convert to C ssize_t")
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self._max_line = max_line
        self._failure: str | None = None
        self._buf = bytearray()  # bytes of the pending event, from its first byte
        # Field spans are flat [start, end, ...] offsets from the pending event's first byte,
        # so they survive compaction of the buffer.
        self._data: list[int] = []
        self._comment: list[int] = []
        self._event: tuple[int, int] | None = None
        self._id: tuple[int, int] | None = None
        self._line_start = 0  # start of the unterminated line in _buf
        self._scan_pos = 0  # no CR or LF in _buf[_line_start:_scan_pos]
        self._state = _IDLE

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned in an event."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events that ``chunk`` completes, in order."""
        if self._state == _FAILED:
            raise SSELineTooLong(self._failure)
        if type(chunk) is not bytes:
            raise TypeError(
                f"Argument 'chunk' has incorrect type (expected bytes, got {type(chunk).__name__})"
            )
        out: list[SSEEvent] = []
        if not chunk:
            return out
        buf = self._buf
        if not buf:
            # Nothing pending: scan the chunk in place and keep only its unfinished tail.
            ev = self._scan(chunk, False, out)
            if ev < len(chunk):
                buf += memoryview(chunk)[ev:]
        else:
            buf += chunk
            ev = self._scan(buf, False, out)
            if ev:
                del buf[:ev]
        return out

    def finish(self) -> list[SSEEvent]:
        """At end of stream: the pending event if it has any line, even without a blank line.

        Blank lines after the last event carry nothing and are dropped. The scanner is empty
        afterwards and may be reused.
        """
        if self._state == _FAILED:
            raise SSELineTooLong(self._failure)
        out: list[SSEEvent] = []
        buf = self._buf
        if buf:
            ev = self._scan(buf, True, out)
            if self._state == _IN_EVENT:
                out.append(self._dispatch(buf, ev, len(buf)))
        self._reset()
        return out

    def _reset(self) -> None:
        self._buf.clear()
        self._line_start = 0
        self._scan_pos = 0
        self._state = _IDLE
        self._event = None
        self._id = None
        self._data.clear()
        self._comment.clear()

    def _fail(self, line_len: int, event_len: int) -> None:
        self._failure = _too_long_message(self._max_line, line_len, event_len)
        self._reset()
        self._state = _FAILED
        raise SSELineTooLong(self._failure)

    def _scan(self, p: _Buffer, final: bool, out: list[SSEEvent]) -> int:
        """Consume the complete lines of ``p``; returns where the pending event starts."""
        n = len(p)
        ev = 0
        ls = self._line_start
        cur = self._scan_pos
        lf = cr = -1  # next LF / CR at or after cur, n if none
        limit = self._max_line
        while True:
            # Each search runs only once the previous hit is passed: linear even for CR-only input.
            if lf < cur:
                lf = p.find(b"\n", cur)
                if lf < 0:
                    lf = n
            if cr < cur:
                cr = p.find(b"\r", cur)
                if cr < 0:
                    cr = n
            if lf < cr:
                le = lf
                te = lf + 1
            elif cr < n:
                le = cr
                if cr + 1 < n:
                    te = cr + 2 if p[cr + 1] == _LF else cr + 1
                elif final:
                    te = cr + 1
                else:
                    cur = cr  # a CR ending the chunk may be the first half of a CRLF
                    break
            else:
                cur = n
                break
            if te - ev > limit:  # the event so far includes the line, so this covers both
                self._fail(le - ls, te - ev)
            ev = self._line(p, ev, ls, le, te, out)
            ls = cur = te
        if final and ls < n:
            ev = self._line(p, ev, ls, n, n, out)
            ls = cur = n
        if n - ev > limit:
            self._fail(cur - ls, n - ev)
        self._line_start = ls - ev
        self._scan_pos = cur - ev
        return ev

    def _line(self, p: _Buffer, ev: int, ls: int, le: int, te: int, out: list[SSEEvent]) -> int:
        """Apply the line ``p[ls:le]`` (terminator ends at ``te``); returns the new event start."""
        if le == ls:
            if self._state == _IN_EVENT:
                out.append(self._dispatch(p, ev, te))
                return te
            return ev  # a leading blank line rides along in the next event's raw
        self._state = _IN_EVENT
        if p[ls] == _COLON:
            vs = ls + 1
            if vs < le and p[vs] == _SPACE:
                vs += 1  # the one space after the colon belongs to the syntax, not the value
            self._comment += (vs - ev, le - ev)
            return ev
        name_end = p.find(b":", ls, le)
        if name_end < 0:
            name_end = vs = le
        else:
            vs = name_end + 1
            if vs < le and p[vs] == _SPACE:
                vs += 1
        name_len = name_end - ls
        if name_len == 4 and p.startswith(b"data", ls):
            self._data += (vs - ev, le - ev)
        elif name_len == 5 and p.startswith(b"event", ls):
            self._event = (vs - ev, le - ev)
        elif name_len == 2 and p.startswith(b"id", ls) and p.find(b"\0", vs, le) < 0:
            self._id = (vs - ev, le - ev)  # WHATWG ignores an id containing NUL
        return ev

    def _dispatch(self, p: _Buffer, ev: int, te: int) -> SSEEvent:
        e: SSEEvent = _new_event(SSEEvent)
        e._raw = bytes(p[ev:te])
        e._data = _joined(p, ev, self._data)
        e._comment = _joined(p, ev, self._comment)
        span = self._event
        e._event = None if span is None else p[ev + span[0] : ev + span[1]].decode("utf-8", "replace")
        span = self._id
        e._id = None if span is None else p[ev + span[0] : ev + span[1]].decode("utf-8", "replace")
        self._event = None
        self._id = None
        self._data.clear()
        self._comment.clear()
        self._state = _IDLE
        return e
