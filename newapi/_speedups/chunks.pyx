# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""What a stream relay reads from an OpenAI chat-completion chunk without decoding its JSON
(compiled twin of ``_chunks_py``).

Both run for every event of a passed-through stream: in Python, ``marker in data`` first tries
``marker`` as an integer and formats a TypeError for it (about 1,900 instructions a test), and each
``data.find`` parses its arguments; here a test is one C search.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.string cimport memchr, memcmp

cdef const char *_USAGE = b'"usage":'
cdef const char *_CONTENT = b'"content":"'


cdef inline const char *_find(
    const char *p, const char *end, const char *needle, Py_ssize_t m, Py_ssize_t k
) noexcept:
    """The first ``needle[:m]`` in ``p[:end]``, or NULL.

    memchr (vectorised) on ``needle[k]``, a byte chosen for being rare in chat chunks, then a
    compare: glibc's memmem costs about 3.5 instructions a byte here, this under one.
    """
    cdef const char *hit = p + k
    while hit < end:
        hit = <const char *>memchr(hit, needle[k], end - hit)
        if hit == NULL or hit + (m - k) > end:
            return NULL
        if memcmp(hit - k, needle, m) == 0:
            return hit - k
        hit += 1
    return NULL


def has_usage_object(bytes data not None):
    """Whether ``data`` has ``"usage":{`` or ``"usage": {`` (a usage object, not ``null``)."""
    cdef const char *p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef const char *end = p + n
    cdef const char *hit = p
    while True:
        hit = _find(hit, end, _USAGE, 8, 4)   # the g
        if hit == NULL:
            return False
        hit += 8
        if hit < end and hit[0] == b'{':
            return True
        if hit + 1 < end and hit[0] == b' ' and hit[1] == b'{':
            return True


def content_length(bytes data not None):
    """Bytes of the first ``"content":"..."`` string in ``data`` (0 if none), escapes included."""
    cdef const char *p = PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef const char *start = _find(p, p + n, _CONTENT, 11, 9)   # the colon
    cdef const char *end
    cdef const char *back
    cdef Py_ssize_t slashes
    if start == NULL:
        return 0
    start += 11
    end = start
    while True:
        end = <const char *>memchr(end, b'"', p + n - end)
        if end == NULL:
            return 0
        # A quote preceded by an odd number of backslashes is escaped.
        slashes = 0
        back = end - 1
        while back >= start and back[0] == b'\\':
            slashes += 1
            back -= 1
        if slashes % 2 == 0:
            return end - start
        end += 1
