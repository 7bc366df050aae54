# Layouts of the incremental SSE scanner; other Cython modules may cimport these.

cdef enum ScanState:
    IDLE = 0        # only blank lines since the last event
    IN_EVENT = 1    # a field or comment line of the next event has been seen
    FAILED = 2      # max_line was exceeded; the scanner refuses further input


cdef struct Span:
    # Offsets relative to the first byte of the pending event, so they survive compaction.
    Py_ssize_t start
    Py_ssize_t length


cdef struct Joined:
    # A field whose repeated lines are joined with b"\n" (data, comment). The first line is kept
    # as a span into the buffer; only a second line makes us copy into `extra`.
    Py_ssize_t count
    Span first
    char *extra
    Py_ssize_t extra_len
    Py_ssize_t extra_cap


cdef class SSEEvent:
    cdef readonly object data
    cdef readonly str event
    cdef readonly str id
    cdef readonly object comment
    cdef readonly bytes raw


cdef class SSEScanner:
    cdef char *_buf               # bytes of the pending event, from its first byte
    cdef Py_ssize_t _len
    cdef Py_ssize_t _cap
    cdef Py_ssize_t _max_line
    cdef ScanState _state
    cdef Py_ssize_t _line_start   # start of the unterminated line in _buf
    cdef Py_ssize_t _scan_pos     # no CR or LF in _buf[_line_start:_scan_pos]
    cdef Joined _data
    cdef Joined _comment
    cdef Span _event
    cdef Span _id
    cdef bint _has_event
    cdef bint _has_id
    cdef str _failure

    cdef Py_ssize_t _scan(self, const char *p, Py_ssize_t n, bint final, list out) except -1
    cdef Py_ssize_t _line(
        self, const char *p, Py_ssize_t ev, Py_ssize_t ls, Py_ssize_t le, Py_ssize_t te, list out
    ) except -1
    cdef int _join(self, Joined *j, const char *evp, Py_ssize_t start, Py_ssize_t length) except -1
    cdef SSEEvent _dispatch(self, const char *evp, Py_ssize_t raw_len)
    cdef int _reserve(self, Py_ssize_t need) except -1
    cdef void _shrink(self) noexcept
    cdef int _fail(self, Py_ssize_t line_len, Py_ssize_t event_len) except -1
    cdef void _reset(self)
