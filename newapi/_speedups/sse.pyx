# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Incremental Server-Sent Events scanner (compiled twin of ``_sse_py``).

The inner loop works on a C buffer with ``memchr`` and creates Python objects only for the
fields of completed events. Every event keeps the exact bytes it arrived as (``raw``), so a relay
can forward events it does not need to convert untouched.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, memcmp, memcpy, memmove

cdef enum:
    LF = 10
    CR = 13
    SPACE = 32
    COLON = 58

DEF_MAX_LINE = 128 * 1024 * 1024
# A buffer grown past this for one big event is given back once that event has left it.
cdef Py_ssize_t KEEP_CAPACITY = 1 << 20


class SSELineTooLong(ValueError):
    """A line or a pending event grew beyond ``max_line`` bytes."""


def _size(limit):
    if limit >= 1048576:
        return f"{limit / 1048576:g} MB ({limit} bytes)"
    return f"{limit} bytes"


def _too_long_message(limit, line_len, event_len):
    if line_len > limit:
        return f"SSE line longer than the max_line limit of {_size(limit)}: saw {line_len} bytes in one line"
    return (
        f"SSE event larger than the max_line limit of {_size(limit)}: "
        f"saw {event_len} bytes without a blank line"
    )


@cython.final
@cython.freelist(64)
@cython.no_gc   # holds only bytes, str and None, so it can never be part of a cycle
cdef class SSEEvent:
    """One dispatched event. ``raw`` is the exact bytes received, terminating blank line included."""

    def __init__(self, *, data=None, event=None, id=None, comment=None, bytes raw not None=b""):
        self.data = <bytes?>data if data is not None else None
        self.event = event
        self.id = id
        self.comment = <bytes?>comment if comment is not None else None
        self.raw = raw

    @property
    def done(self):
        """Whether this is OpenAI's end-of-stream sentinel ``data: [DONE]``."""
        cdef bytes data = self.data
        return data is not None and PyBytes_GET_SIZE(data) == 6 and memcmp(
            PyBytes_AS_STRING(data), b"[DONE]", 6
        ) == 0

    def __eq__(self, other):
        if type(other) is not SSEEvent:
            return NotImplemented
        cdef SSEEvent o = <SSEEvent>other
        return (
            self.raw == o.raw and self.data == o.data and self.event == o.event
            and self.id == o.id and self.comment == o.comment
        )

    def __hash__(self):
        return hash((self.data, self.event, self.id, self.comment, self.raw))

    def __repr__(self):
        return (
            f"SSEEvent(data={self.data!r}, event={self.event!r}, id={self.id!r}, "
            f"comment={self.comment!r}, raw={self.raw!r})"
        )


cdef inline void _clear(Joined *j) noexcept:
    j.count = 0
    j.extra_len = 0
    if j.extra_cap > KEEP_CAPACITY:
        PyMem_Free(j.extra)
        j.extra = NULL
        j.extra_cap = 0


cdef inline object _joined_value(Joined *j, const char *evp):
    if j.count == 0:
        return None
    if j.count == 1:
        return PyBytes_FromStringAndSize(evp + j.first.start, j.first.length)
    return PyBytes_FromStringAndSize(j.extra, j.extra_len)


cdef inline Py_ssize_t _value_start(const char *p, Py_ssize_t vs, Py_ssize_t le) noexcept:
    # The one space after the colon belongs to the syntax, not the value.
    if vs < le and p[vs] == SPACE:
        return vs + 1
    return vs


@cython.final
cdef class SSEScanner:
    """Splits a byte stream into :class:`SSEEvent` objects, whatever the chunking."""

    def __cinit__(self):
        self._buf = NULL
        self._data.extra = NULL
        self._comment.extra = NULL

    def __init__(self, Py_ssize_t max_line=DEF_MAX_LINE):
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self._max_line = max_line
        self._failure = None
        self._reset()

    def __dealloc__(self):
        PyMem_Free(self._buf)
        PyMem_Free(self._data.extra)
        PyMem_Free(self._comment.extra)

    @property
    def pending_bytes(self):
        """Bytes received but not yet returned in an event."""
        return self._len

    def feed(self, bytes chunk not None):
        """The events that ``chunk`` completes, in order."""
        if self._state == FAILED:
            raise SSELineTooLong(self._failure)
        cdef list out = []
        cdef Py_ssize_t n = PyBytes_GET_SIZE(chunk)
        cdef Py_ssize_t ev
        cdef const char *p
        if n == 0:
            return out
        if self._len == 0:
            # Nothing pending: scan the chunk in place and keep only its unfinished tail.
            p = PyBytes_AS_STRING(chunk)
            ev = self._scan(p, n, False, out)
            if ev < n:
                self._reserve(n - ev)
                memcpy(self._buf, p + ev, n - ev)
                self._len = n - ev
        else:
            self._reserve(self._len + n)
            memcpy(self._buf + self._len, PyBytes_AS_STRING(chunk), n)
            self._len += n
            ev = self._scan(self._buf, self._len, False, out)
            if ev:
                memmove(self._buf, self._buf + ev, self._len - ev)
                self._len -= ev
        if self._cap > KEEP_CAPACITY and self._len <= self._cap // 4:
            self._shrink()
        return out

    def finish(self):
        """At end of stream: the pending event if it has any line, even without a blank line.

        Blank lines after the last event carry nothing and are dropped. The scanner is empty
        afterwards and may be reused.
        """
        if self._state == FAILED:
            raise SSELineTooLong(self._failure)
        cdef list out = []
        cdef Py_ssize_t ev
        if self._len:
            ev = self._scan(self._buf, self._len, True, out)
            if self._state == IN_EVENT:
                out.append(self._dispatch(self._buf + ev, self._len - ev))
        self._reset()
        if self._cap > KEEP_CAPACITY:
            self._shrink()
        return out

    cdef void _reset(self):
        self._len = 0
        self._line_start = 0
        self._scan_pos = 0
        self._state = IDLE
        self._has_event = False
        self._has_id = False
        _clear(&self._data)
        _clear(&self._comment)

    cdef int _reserve(self, Py_ssize_t need) except -1:
        cdef Py_ssize_t cap = self._cap if self._cap else 4096
        cdef char *grown
        if need <= self._cap:
            return 0
        while cap < need:
            cap *= 2
        grown = <char *>PyMem_Realloc(self._buf, cap)
        if grown == NULL:
            raise MemoryError()
        self._buf = grown
        self._cap = cap
        return 0

    cdef void _shrink(self) noexcept:
        cdef Py_ssize_t cap = 4096
        cdef char *smaller
        while cap < self._len:
            cap *= 2
        smaller = <char *>PyMem_Realloc(self._buf, cap)
        if smaller != NULL:   # failing to shrink is harmless
            self._buf = smaller
            self._cap = cap

    cdef int _fail(self, Py_ssize_t line_len, Py_ssize_t event_len) except -1:
        self._failure = _too_long_message(self._max_line, line_len, event_len)
        self._reset()
        self._state = FAILED
        PyMem_Free(self._buf)   # up to max_line bytes that nobody will read
        self._buf = NULL
        self._cap = 0
        raise SSELineTooLong(self._failure)

    cdef Py_ssize_t _scan(self, const char *p, Py_ssize_t n, bint final, list out) except -1:
        """Consume the complete lines of ``p[:n]``; returns where the pending event starts."""
        cdef Py_ssize_t ev = 0
        cdef Py_ssize_t ls = self._line_start
        cdef Py_ssize_t cur = self._scan_pos
        cdef Py_ssize_t lf = -1, cr = -1   # next LF / CR at or after cur, n if none
        cdef Py_ssize_t le, te, limit = self._max_line
        cdef const char *hit
        while True:
            # Each search runs only once the previous hit is passed: linear even for CR-only input.
            if lf < cur:
                hit = <const char *>memchr(p + cur, LF, n - cur)
                lf = hit - p if hit != NULL else n
            if cr < cur:
                hit = <const char *>memchr(p + cur, CR, n - cur)
                cr = hit - p if hit != NULL else n
            if lf < cr:
                le = lf
                te = lf + 1
            elif cr < n:
                le = cr
                if cr + 1 < n:
                    te = cr + 2 if p[cr + 1] == LF else cr + 1
                elif final:
                    te = cr + 1
                else:
                    cur = cr   # a CR ending the chunk may be the first half of a CRLF
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

    cdef Py_ssize_t _line(
        self, const char *p, Py_ssize_t ev, Py_ssize_t ls, Py_ssize_t le, Py_ssize_t te, list out
    ) except -1:
        """Apply the line ``p[ls:le]`` (terminator ends at ``te``); returns the new event start."""
        cdef const char *colon
        cdef Py_ssize_t name_end, vs
        if le == ls:
            if self._state == IN_EVENT:
                out.append(self._dispatch(p + ev, te - ev))
                return te
            return ev   # a leading blank line rides along in the next event's raw
        self._state = IN_EVENT
        if p[ls] == COLON:
            vs = _value_start(p, ls + 1, le)
            self._join(&self._comment, p + ev, vs - ev, le - vs)
            return ev
        colon = <const char *>memchr(p + ls, COLON, le - ls)
        if colon == NULL:
            name_end = vs = le
        else:
            name_end = colon - p
            vs = _value_start(p, name_end + 1, le)
        name_end -= ls
        if name_end == 4 and memcmp(p + ls, b"data", 4) == 0:
            self._join(&self._data, p + ev, vs - ev, le - vs)
        elif name_end == 5 and memcmp(p + ls, b"event", 5) == 0:
            self._event.start = vs - ev
            self._event.length = le - vs
            self._has_event = True
        elif name_end == 2 and memcmp(p + ls, b"id", 2) == 0:
            # WHATWG ignores an id containing NUL.
            if memchr(p + vs, 0, le - vs) == NULL:
                self._id.start = vs - ev
                self._id.length = le - vs
                self._has_id = True
        return ev

    cdef int _join(self, Joined *j, const char *evp, Py_ssize_t start, Py_ssize_t length) except -1:
        cdef Py_ssize_t need, cap
        cdef char *grown
        if j.count == 0:
            j.first.start = start
            j.first.length = length
            j.count = 1
            return 0
        if j.count == 1:
            j.extra_len = 0
            need = j.first.length + 1 + length
        else:
            need = j.extra_len + 1 + length
        if need > j.extra_cap:
            cap = j.extra_cap if j.extra_cap else 256
            while cap < need:
                cap *= 2
            grown = <char *>PyMem_Realloc(j.extra, cap)
            if grown == NULL:
                raise MemoryError()
            j.extra = grown
            j.extra_cap = cap
        if j.count == 1:
            memcpy(j.extra, evp + j.first.start, j.first.length)
            j.extra_len = j.first.length
        j.extra[j.extra_len] = LF
        memcpy(j.extra + j.extra_len + 1, evp + start, length)
        j.extra_len += 1 + length
        j.count += 1
        return 0

    cdef SSEEvent _dispatch(self, const char *evp, Py_ssize_t raw_len):
        cdef SSEEvent e = SSEEvent.__new__(SSEEvent)
        e.raw = PyBytes_FromStringAndSize(evp, raw_len)
        e.data = _joined_value(&self._data, evp)
        e.comment = _joined_value(&self._comment, evp)
        if self._has_event:
            e.event = PyUnicode_DecodeUTF8(evp + self._event.start, self._event.length, "replace")
        if self._has_id:
            e.id = PyUnicode_DecodeUTF8(evp + self._id.start, self._id.length, "replace")
        self._has_event = False
        self._has_id = False
        _clear(&self._data)
        _clear(&self._comment)
        self._state = IDLE
        return e
