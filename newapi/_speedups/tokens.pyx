# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Byte-pair token counting (o200k_base, cl100k_base) and New API's estimator, in C.

The pre-tokeniser is the encodings' regular expression written out as a state machine over
UTF-8 (each ``_next_*`` function returns the end of the piece the regex would match at ``i``).
Pieces found whole in the vocabulary count 1; others are merged as tiktoken merges them and
their counts cached. Texts of ``NOGIL_MIN`` bytes or more are counted with the GIL released (and
a private cache), so a thread can count a huge prompt while the event loop keeps running.
"""

from libc.math cimport ceil
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp, memcpy, memmove, memset
from posix.mman cimport MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap, munmap

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object)
    int PyUnicode_KIND(object)
    void* PyUnicode_DATA(object)
    uint32_t PyUnicode_READ(int kind, const void* data, Py_ssize_t index) nogil


PATTERN_CL100K = 0
PATTERN_O200K = 1
TABLE_LAYOUT = 1  # bump when RankSlot, the hash or the filter change: BPE.table() blobs go stale

cdef enum:
    # Bits of the character-class table (see newapi/tokens/data/unicode_classes.json).
    C_L = 1
    C_N = 2
    C_WS = 4
    C_UP = 8      # Lu Lt Lm Lo M
    C_LO = 16     # Ll Lm Lo M
    C_HAN = 32
    LONG_PIECE = 32        # longer pieces merge with a heap (the quadratic loop is slow past this)
    STACK_PARTS = 256      # heap merges of pieces up to this long need no malloc
    CACHE_SLOTS = 16384
    CACHE_KEY = 48
    FILTER_LOG2 = 22       # 4M bits = 512 KB
    NOGIL_MIN = 32768      # texts this long (UTF-8 bytes) are counted with the GIL released
    TABLE_HEAD = 64        # BPE.table(): cap, size, arena length, layout version (u64 each), zeros

cdef extern from *:
    """
    #define TOKENS_NO_RANK 0xFFFFFFFFu
    """
    const uint32_t NO_RANK "TOKENS_NO_RANK"

cdef uint32_t _MATH_OTHER[64]     # New API's maths characters outside U+2200..22FF
cdef int _n_math_other = 0
for _ch in "∑∫∂√∞≤≥≠≈±×÷∈∉∋∌⊂⊃⊆⊇∪∩∧∨¬∀∃∄∅∆∇∝∟∠∡∢°′″‴⁺⁻⁼⁽⁾ⁿ₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎²³¹⁴⁵⁶⁷⁸⁹⁰":
    if not 0x2200 <= ord(_ch) <= 0x22FF:
        _MATH_OTHER[_n_math_other] = ord(_ch)
        _n_math_other += 1


include "tokens_table.pxi"


# ---------------------------------------------------------------------------------------------
# the pre-tokeniser

cdef inline uint32_t _cp(const uint8_t* s, Py_ssize_t i, int* size) noexcept nogil:
    # The input is UTF-8 produced by Python's encoder, hence valid.
    cdef uint8_t b = s[i]
    if b < 0x80:
        size[0] = 1
        return b
    if b < 0xE0:
        size[0] = 2
        return ((b & 0x1F) << 6) | (s[i + 1] & 0x3F)
    if b < 0xF0:
        size[0] = 3
        return ((b & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F)
    size[0] = 4
    return ((b & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F)


cdef inline Py_ssize_t _run(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n,
                            uint8_t want) noexcept nogil:
    """End of the run of characters having a bit of ``want`` that starts at ``i``."""
    cdef int size
    while i < n:
        if s[i] < 0x80:
            if not (cls[s[i]] & want):
                break
            i += 1
        else:
            if not (cls[_cp(s, i, &size)] & want):
                break
            i += size
    return i


cdef inline Py_ssize_t _run_not(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n,
                                uint8_t avoid) noexcept nogil:
    """End of the run of characters having no bit of ``avoid`` that starts at ``i``."""
    cdef int size
    while i < n:
        if cls[_cp(s, i, &size)] & avoid:
            break
        i += size
    return i


cdef inline Py_ssize_t _char_before(const uint8_t* s, Py_ssize_t j) noexcept nogil:
    j -= 1
    while (s[j] & 0xC0) == 0x80:
        j -= 1
    return j


cdef inline Py_ssize_t _digits(const uint8_t* cls, const uint8_t* s, Py_ssize_t j, Py_ssize_t n) noexcept nogil:
    # \p{N}{1,3}: the first digit is already known; take up to two more.
    cdef int size, k = 1
    while k < 3 and j < n and cls[_cp(s, j, &size)] & C_N:
        j += size
        k += 1
    return j


cdef inline Py_ssize_t _spaces(const uint8_t* s, Py_ssize_t i, Py_ssize_t e, Py_ssize_t n,
                               bint end_first) noexcept nogil:
    """Whitespace alternatives for the run [i, e). cl100k: \\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s;
    o200k: \\s*[\\r\\n]+|\\s+(?!\\S)|\\s+."""
    cdef Py_ssize_t last
    if end_first and e == n:
        return n
    last = e - 1
    while last >= i and s[last] != 10 and s[last] != 13:  # newlines never occur inside a UTF-8 sequence
        last -= 1
    if last >= i:
        return last + 1
    if e == n:
        return n
    last = _char_before(s, e)
    return last if last > i else e


cdef Py_ssize_t _next_cl100k(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
    # |\s++$|\s*[\r\n]|\s+(?!\S)|\s
    cdef int size, size2
    cdef uint32_t c = _cp(s, i, &size)
    cdef uint8_t b = cls[c], c2, c3
    cdef Py_ssize_t j, e
    if c == 39 and i + 1 < n:
        c2 = s[i + 1]
        if c2 == 115 or c2 == 83 or c2 == 100 or c2 == 68 or c2 == 109 or c2 == 77 or c2 == 116 or c2 == 84:
            return i + 2
        if c2 == 0xC5 and i + 2 < n and s[i + 2] == 0xBF:  # U+017F folds to s
            return i + 3
        if i + 2 < n:
            c2 |= 0x20
            c3 = s[i + 2] | 0x20
            if (c2 == 108 and c3 == 108) or (c2 == 118 and c3 == 101) or (c2 == 114 and c3 == 101):
                return i + 3
    if b & C_L:
        return _run(cls, s, i + size, n, C_L)
    if not (b & C_N) and c != 10 and c != 13:
        j = i + size
        if j < n and cls[_cp(s, j, &size2)] & C_L:
            return _run(cls, s, j + size2, n, C_L)
    if b & C_N:
        return _digits(cls, s, i + size, n)
    j = i + 1 if c == 32 else i
    if j < n and not (cls[_cp(s, j, &size2)] & (C_WS | C_L | C_N)):
        e = _run_not(cls, s, j + size2, n, C_WS | C_L | C_N)
        while e < n and (s[e] == 10 or s[e] == 13):
            e += 1
        return e
    return _spaces(s, i, _run(cls, s, i + size, n, C_WS), n, True)


cdef inline Py_ssize_t _contraction(const uint8_t* s, Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    # (?i:'s|'t|'re|'ve|'m|'ll|'d)?
    cdef uint8_t c2, c3
    if k + 1 < n and s[k] == 39:
        c2 = s[k + 1]
        if c2 == 115 or c2 == 83 or c2 == 116 or c2 == 84 or c2 == 109 or c2 == 77 or c2 == 100 or c2 == 68:
            return k + 2
        if c2 == 0xC5 and k + 2 < n and s[k + 2] == 0xBF:
            return k + 3
        if k + 2 < n:
            c2 |= 0x20
            c3 = s[k + 2] | 0x20
            if (c2 == 114 and c3 == 101) or (c2 == 118 and c3 == 101) or (c2 == 108 and c3 == 108):
                return k + 3
    return k


cdef inline Py_ssize_t _o200k_lower(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from i, with backtracking; -1 if none.
    cdef int size
    cdef Py_ssize_t j = _run(cls, s, i, n, C_UP), m
    if j < n and cls[_cp(s, j, &size)] & C_LO:
        return _contraction(s, _run(cls, s, j + size, n, C_LO), n)
    m = j
    while m > i:
        # The greedy upper run gives characters back until one can start the lower run.
        m = _char_before(s, m)
        if cls[_cp(s, m, &size)] & C_LO:
            return _contraction(s, m + size, n)
    return -1


cdef inline Py_ssize_t _o200k_upper(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* from i; -1 if none.
    cdef Py_ssize_t j = _run(cls, s, i, n, C_UP)
    if j == i:
        return -1
    return _contraction(s, _run(cls, s, j, n, C_LO), n)


cdef Py_ssize_t _next_o200k(const uint8_t* cls, const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
    # |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
    # |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    cdef int size, size2
    cdef uint32_t c = _cp(s, i, &size)
    cdef uint8_t b = cls[c]
    cdef Py_ssize_t j, e
    if b & C_L:
        j = _o200k_lower(cls, s, i, n)
        return j if j >= 0 else _o200k_upper(cls, s, i, n)
    if not (b & C_N) and c != 10 and c != 13:
        # The optional prefix is tried first taken, then (for a mark, which can also start a
        # word) not taken; the two word alternatives are tried in order.
        j = _o200k_lower(cls, s, i + size, n)
        if j >= 0:
            return j
        if b & C_LO:
            return _o200k_lower(cls, s, i, n)
        j = _o200k_upper(cls, s, i + size, n)
        if j >= 0:
            return j
    if b & C_N:
        return _digits(cls, s, i + size, n)
    j = i + 1 if c == 32 else i
    if j < n and not (cls[_cp(s, j, &size2)] & (C_WS | C_L | C_N)):
        e = _run_not(cls, s, j + size2, n, C_WS | C_L | C_N)
        while e < n and (s[e] == 10 or s[e] == 13 or s[e] == 47):
            e += 1
        return e
    return _spaces(s, i, _run(cls, s, i + size, n, C_WS), n, False)


cdef inline Py_ssize_t _next(const Table* t, const uint8_t* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    if t.pattern:
        return _next_o200k(t.classes, s, i, n)
    return _next_cl100k(t.classes, s, i, n)


# ---------------------------------------------------------------------------------------------
# merging

cdef Py_ssize_t _merge_short(const Table* t, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # tiktoken's _byte_pair_merge: merge the leftmost pair of lowest rank until none is ranked.
    cdef uint32_t starts[LONG_PIECE + 1]
    cdef uint32_t ranks[LONG_PIECE + 1]
    cdef Py_ssize_t m = n + 1, i, best_i
    cdef uint32_t best
    for i in range(n - 1):
        starts[i] = <uint32_t>i
        ranks[i] = t.pairs[(<uint32_t>p[i] << 8) | p[i + 1]]
    starts[n - 1] = <uint32_t>(n - 1)
    starts[n] = <uint32_t>n
    ranks[n - 1] = NO_RANK
    ranks[n] = NO_RANK
    while True:
        best = NO_RANK
        best_i = 0
        for i in range(m - 1):
            if ranks[i] < best:
                best = ranks[i]
                best_i = i
        if best == NO_RANK:
            return m - 1
        i = best_i
        if i > 0:
            ranks[i - 1] = _rank(t, p + starts[i - 1], starts[i + 2] - starts[i - 1])
        ranks[i] = _rank(t, p + starts[i], starts[i + 3] - starts[i]) if i + 3 < m else NO_RANK
        memmove(&starts[i + 1], &starts[i + 2], (m - i - 2) * sizeof(uint32_t))
        memmove(&ranks[i + 1], &ranks[i + 2], (m - i - 2) * sizeof(uint32_t))
        m -= 1


cdef inline void _heap_push(uint64_t* heap, Py_ssize_t* size, uint64_t v) noexcept nogil:
    cdef Py_ssize_t i = size[0], parent
    size[0] += 1
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] <= v:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = v


cdef inline void _sift_down(uint64_t* heap, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef uint64_t v = heap[i]
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and heap[c + 1] < heap[c]:
            c += 1
        if v <= heap[c]:
            break
        heap[i] = heap[c]
        i = c
    heap[i] = v


cdef Py_ssize_t _merge_long(const Table* t, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # The same merges in O(n log n): parts are a linked list keyed by their first byte; heap keys
    # are (rank << 32 | start), so the leftmost lowest rank pops first; stale keys are skipped.
    cdef uint64_t stack_heap[3 * STACK_PARTS]
    cdef int32_t stack_links[3 * STACK_PARTS]
    cdef uint64_t* heap = stack_heap
    cdef int32_t* links = stack_links
    cdef int32_t* nxt
    cdef int32_t* prv
    cdef uint32_t* cur
    cdef Py_ssize_t hsize = 0, count = n, i, j, k, q
    cdef uint32_t r
    cdef uint64_t top
    if n > STACK_PARTS:
        heap = <uint64_t*>malloc(3 * n * sizeof(uint64_t))
        links = <int32_t*>malloc(3 * n * sizeof(int32_t))
        if heap == NULL or links == NULL:
            free(heap)
            free(links)
            return -1
    nxt = links
    prv = links + n
    cur = <uint32_t*>(links + 2 * n)
    for i in range(n):
        nxt[i] = <int32_t>(i + 1)
        prv[i] = <int32_t>(i - 1)
        cur[i] = t.pairs[(<uint32_t>p[i] << 8) | p[i + 1]] if i + 1 < n else NO_RANK
        if cur[i] != NO_RANK:
            heap[hsize] = (<uint64_t>cur[i] << 32) | <uint64_t>i
            hsize += 1
    for i in range(hsize // 2 - 1, -1, -1):
        _sift_down(heap, hsize, i)
    while hsize:
        top = heap[0]
        hsize -= 1
        if hsize:
            heap[0] = heap[hsize]
            _sift_down(heap, hsize, 0)
        i = <Py_ssize_t>(top & <uint64_t>0xFFFFFFFFU)
        r = <uint32_t>(top >> 32)
        if nxt[i] < 0 or cur[i] != r:
            continue
        j = nxt[i]
        k = nxt[j]
        nxt[j] = -1  # dead
        nxt[i] = <int32_t>k
        if k < n:
            prv[k] = <int32_t>i
        count -= 1
        cur[i] = _rank(t, p + i, nxt[k] - i) if k < n else NO_RANK
        if cur[i] != NO_RANK:
            _heap_push(heap, &hsize, (<uint64_t>cur[i] << 32) | <uint64_t>i)
        q = prv[i]
        if q >= 0:
            cur[q] = _rank(t, p + q, k - q)
            if cur[q] != NO_RANK:
                _heap_push(heap, &hsize, (<uint64_t>cur[q] << 32) | <uint64_t>q)
    if heap != stack_heap:
        free(heap)
        free(links)
    return count


cdef inline Py_ssize_t _periodic_key(const uint8_t* p, Py_ssize_t n, uint8_t* key) noexcept nogil:
    cdef Py_ssize_t period
    cdef uint64_t length = <uint64_t>n
    for period in range(1, 5):
        if memcmp(p, p + period, n - period) == 0:
            key[0] = 0xFF
            key[1] = <uint8_t>period
            memcpy(key + 2, p, period)
            memcpy(key + 2 + period, &length, 8)
            return 10 + period
    return 0


cdef inline Py_ssize_t _piece(const Table* t, CacheSlot* cache, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h
    cdef CacheSlot* slot = NULL
    cdef Py_ssize_t c, key_len
    cdef const uint8_t* key
    cdef uint8_t synthetic[16]
    if n == 1:
        return 1
    h = _hash(p, n)
    if _lookup(t, p, n, h) != NO_RANK:
        return 1
    if n <= CACHE_KEY:
        key = p
        key_len = n
    else:
        # Long runs of one short unit (spaces, newlines, "\r\n", U+3000) recur at many lengths;
        # they are cached under a synthetic key no UTF-8 piece can equal (0xFF never occurs).
        key = synthetic
        key_len = _periodic_key(p, n, synthetic)
        if key_len:
            h = _hash(key, key_len)
    if key_len:
        slot = &cache[(h >> 17) & (CACHE_SLOTS - 1)]
        if slot.hash == h and slot.length == key_len and memcmp(slot.key, key, key_len) == 0:
            return slot.count
    c = _merge_short(t, p, n) if n < LONG_PIECE else _merge_long(t, p, n)
    if slot != NULL and c >= 0:
        slot.hash = h
        slot.length = <uint32_t>key_len
        slot.count = <uint32_t>c
        memcpy(slot.key, key, key_len)
    return c


cdef Py_ssize_t _count(const Table* t, CacheSlot* cache, const uint8_t* s, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i = 0, e, c, total = 0
    while i < n:
        e = _next(t, s, i, n)
        c = _piece(t, cache, s + i, e - i)
        if c < 0:
            return -1
        total += c
        i = e
    return total


cdef Py_ssize_t _encode_utf8(int kind, const void* data, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """UTF-8 of a str's code points, pairing surrogates and replacing lone ones with U+FFFD as
    tiktoken does (it round-trips such text through UTF-16 with errors="replace")."""
    cdef Py_ssize_t i = 0, o = 0
    cdef uint32_t c, c2
    while i < n:
        c = PyUnicode_READ(kind, data, i)
        i += 1
        if c < 0x80:
            out[o] = <uint8_t>c
            o += 1
            continue
        if 0xD800 <= c <= 0xDFFF:
            if c <= 0xDBFF and i < n:
                c2 = PyUnicode_READ(kind, data, i)
                if 0xDC00 <= c2 <= 0xDFFF:
                    c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00)
                    i += 1
                else:
                    c = 0xFFFD
            else:
                c = 0xFFFD
        if c < 0x800:
            out[o] = <uint8_t>(0xC0 | (c >> 6))
            out[o + 1] = <uint8_t>(0x80 | (c & 0x3F))
            o += 2
        elif c < 0x10000:
            out[o] = <uint8_t>(0xE0 | (c >> 12))
            out[o + 1] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            out[o + 2] = <uint8_t>(0x80 | (c & 0x3F))
            o += 3
        else:
            out[o] = <uint8_t>(0xF0 | (c >> 18))
            out[o + 1] = <uint8_t>(0x80 | ((c >> 12) & 0x3F))
            out[o + 2] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            out[o + 3] = <uint8_t>(0x80 | (c & 0x3F))
            o += 4
    return o


cdef class _UTF8:
    """A str's UTF-8: its own buffer when ASCII, else a private copy (freed with this object)."""

    cdef const uint8_t* data
    cdef uint8_t* owned
    cdef Py_ssize_t length
    cdef str text

    def __cinit__(self, str text not None, bint release_gil):
        cdef int kind
        cdef void* src
        cdef Py_ssize_t n = len(text)
        self.text = text  # keeps the ASCII buffer alive
        self.owned = NULL
        if PyUnicode_IS_ASCII(text):
            self.data = <const uint8_t*>PyUnicode_DATA(text)
            self.length = n
            return
        kind = PyUnicode_KIND(text)
        src = PyUnicode_DATA(text)
        self.owned = <uint8_t*>malloc(n * (2 if kind == 1 else 3 if kind == 2 else 4) + 1)
        if self.owned == NULL:
            raise MemoryError()
        if release_gil:
            with nogil:
                self.length = _encode_utf8(kind, src, n, self.owned)
        else:
            self.length = _encode_utf8(kind, src, n, self.owned)
        self.data = self.owned

    def __dealloc__(self):
        free(self.owned)


# ---------------------------------------------------------------------------------------------
# the Python API

cdef class CharClasses:
    """The per-code-point class table, expanded from ``(start, bits)`` runs."""

    def __cinit__(self, runs):
        # Fresh anonymous pages, not calloc: a page that no run with nonzero bits covers is never
        # written, so it stays the kernel's shared zero page. Most of the 1.1 MB (unassigned
        # planes, private use) is class 0: 49 of its 272 pages become resident (-0.9 MB a worker).
        cdef void* table = mmap(NULL, 0x110000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if table == MAP_FAILED:
            raise MemoryError()
        self.table = <uint8_t*>table

    def __init__(self, runs):
        cdef list items = [(int(start), int(bits)) for start, bits in runs]
        cdef Py_ssize_t k, start, end
        cdef uint8_t bits
        for k in range(len(items)):
            start = items[k][0]
            end = items[k + 1][0] if k + 1 < len(items) else 0x110000
            if not 0 <= start <= end <= 0x110000:
                raise ValueError("character-class runs must ascend within 0..0x10FFFF")
            bits = <uint8_t>items[k][1]
            if bits:  # the mapping is zeros already
                memset(self.table + start, bits, end - start)
        self.runs = items

    def __dealloc__(self):
        if self.table != NULL:
            munmap(self.table, 0x110000)

    def estimate(self, str text not None, weights) -> int:
        """New API's character-class estimate: weights are word, number, cjk, symbol, math symbol,
        URL delimiter, at sign, emoji, newline, space (the sum is rounded up)."""
        cdef double w[10]
        cdef int k
        cdef Py_ssize_t n = len(text)
        cdef int kind = PyUnicode_KIND(text)
        cdef void* data = PyUnicode_DATA(text)
        cdef double total
        if len(weights) != 10:
            raise ValueError("estimate needs 10 weights")
        for k in range(10):
            w[k] = weights[k]
        if n >= NOGIL_MIN:
            with nogil:
                total = _estimate(self.table, kind, data, n, w)
        else:
            total = _estimate(self.table, kind, data, n, w)
        return <Py_ssize_t>ceil(total)


cdef double _estimate(const uint8_t* table, int kind, void* data, Py_ssize_t n, const double* w) noexcept nogil:
    # Mirrors service/token_estimator.go rune by rune; the sum is accumulated in the same order
    # so the rounded result is the same double arithmetic as Go's.
    cdef double total = 0.0
    cdef int word = 0, new_word, k
    cdef Py_ssize_t i
    cdef uint32_t cp
    cdef uint8_t bits
    cdef bint is_math
    for i in range(n):
        cp = PyUnicode_READ(kind, data, i)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0xFFFD
        bits = table[cp]
        if bits & C_WS:
            word = 0
            total += w[8] if cp == 10 or cp == 9 else w[9]
        elif bits & C_HAN or 0x3040 <= cp <= 0x30FF or 0xAC00 <= cp <= 0xD7A3:
            word = 0
            total += w[2]
        elif 0x1F300 <= cp <= 0x1F9FF or 0x2600 <= cp <= 0x27BF or 0x1FA00 <= cp <= 0x1FAFF:
            word = 0
            total += w[7]
        elif bits & (C_L | C_N):
            new_word = 2 if bits & C_N else 1
            if word != new_word:
                total += w[1] if new_word == 2 else w[0]
                word = new_word
        else:
            word = 0
            is_math = (0x2200 <= cp <= 0x22FF or 0x2A00 <= cp <= 0x2AFF or 0x1D400 <= cp <= 0x1D7FF)
            if not is_math and cp >= 0xAC:
                for k in range(_n_math_other):
                    if _MATH_OTHER[k] == cp:
                        is_math = True
                        break
            if is_math:
                total += w[4]
            elif cp == 64:
                total += w[6]
            elif cp == 47 or cp == 58 or cp == 63 or cp == 38 or cp == 61 or cp == 59 or cp == 35 or cp == 37:
                total += w[5]
            else:
                total += w[3]
    return total


cdef class BPE:
    """Counts the tokens of one byte-pair encoding (ordinary text; special tokens are text)."""

    def __cinit__(self, bytes ranks not None, int pattern, CharClasses classes not None):
        self.t.slots = NULL
        self.t.arena = NULL
        self.t.pairs = NULL
        self.t.filter = NULL
        self.cache = NULL
        self.mapping = None
        self.arena_len = 0

    def __init__(self, bytes ranks not None, int pattern, CharClasses classes not None):
        cdef const uint8_t* src = <const uint8_t*><char*>ranks
        cdef Py_ssize_t n = len(ranks), i = 0, line_end, sp, k, lines = 0, used = 0, tok_len
        cdef uint64_t cap = 1
        cdef uint32_t rank
        if pattern != PATTERN_CL100K and pattern != PATTERN_O200K:
            raise ValueError(f"unknown pattern {pattern}")
        for k in range(n):
            lines += src[k] == 10
        while cap < <uint64_t>(2 * lines + 16):
            cap <<= 1
        self.t.slots = <RankSlot*>calloc(cap, sizeof(RankSlot))
        self.t.arena = <uint8_t*>malloc(n + 1)
        self.t.pairs = <uint32_t*>malloc(65536 * sizeof(uint32_t))
        self.t.filter = <uint64_t*>calloc((1 << FILTER_LOG2) // 64, sizeof(uint64_t))
        self.cache = <CacheSlot*>calloc(CACHE_SLOTS, sizeof(CacheSlot))
        if (self.t.slots == NULL or self.t.arena == NULL or self.t.pairs == NULL or self.t.filter == NULL
                or self.cache == NULL):
            raise MemoryError()
        memset(self.t.pairs, 0xFF, 65536 * sizeof(uint32_t))
        self.t.mask = cap - 1
        self.t.classes = classes.table
        self.t.pattern = pattern
        self.classes = classes
        self.pattern = pattern
        self.size = 0
        while i < n:
            line_end = i
            while line_end < n and src[line_end] != 10:
                line_end += 1
            if line_end > i:
                sp = i
                while sp < line_end and src[sp] != 32:
                    sp += 1
                if sp == line_end:
                    raise ValueError(f"bad rank line at byte {i}")
                tok_len = _b64decode(src + i, sp - i, self.t.arena + used)
                if not 0 < tok_len <= 255 or used >= (1 << 24):
                    raise ValueError(f"bad base64 at byte {i}")
                rank = 0
                for k in range(sp + 1, line_end):
                    if not 48 <= src[k] <= 57 or rank > 400000000:
                        raise ValueError(f"bad rank at byte {k}")
                    rank = rank * 10 + (src[k] - 48)
                if _insert(&self.t, self.t.arena + used, tok_len, <uint32_t>used, rank) < 0:
                    raise ValueError(f"duplicate token at byte {i}")
                used += tok_len
                self.size += 1
            i = line_end + 1
        self.arena_len = used

    def table(self) -> bytes:
        """The lookup table as one blob :meth:`mapped` reads in place: a 64-byte head (capacity,
        tokens, arena bytes, layout version), the slots, the 2-byte ranks, the filter, the arena."""
        cdef uint64_t cap = self.t.mask + 1
        cdef uint64_t head[8]  # TABLE_HEAD bytes
        memset(head, 0, TABLE_HEAD)
        head[0] = cap
        head[1] = <uint64_t>self.size
        head[2] = <uint64_t>self.arena_len
        head[3] = TABLE_LAYOUT
        return b"".join([
            (<char*>head)[:TABLE_HEAD],
            (<char*>self.t.slots)[:cap * sizeof(RankSlot)],
            (<char*>self.t.pairs)[:65536 * sizeof(uint32_t)],
            (<char*>self.t.filter)[:(1 << FILTER_LOG2) // 8],
            (<char*>self.t.arena)[:self.arena_len],
        ])

    @staticmethod
    def mapped(table, int pattern, CharClasses classes not None) -> BPE:
        """A counter reading a :meth:`table` blob in place (an ``mmap`` shared between workers)
        instead of building a private copy; the blob is kept alive and never written."""
        cdef const uint8_t[::1] view = table
        cdef BPE self
        cdef uint64_t head[8]  # TABLE_HEAD bytes
        cdef uint64_t cap, total
        cdef const uint8_t* base
        if pattern != PATTERN_CL100K and pattern != PATTERN_O200K:
            raise ValueError(f"unknown pattern {pattern}")
        if view.shape[0] < TABLE_HEAD:
            raise ValueError("rank table too short")
        base = &view[0]
        if <size_t>base & 15:
            raise ValueError("rank table must be 16-byte aligned")
        memcpy(head, base, TABLE_HEAD)
        cap = head[0]
        total = TABLE_HEAD + cap * sizeof(RankSlot) + 65536 * sizeof(uint32_t) + (1 << FILTER_LOG2) // 8 + head[2]
        if head[3] != TABLE_LAYOUT or cap == 0 or cap & (cap - 1) or cap < head[1] or total != <uint64_t>view.shape[0]:
            raise ValueError("rank table layout mismatch")
        self = BPE.__new__(BPE, b"", pattern, classes)
        self.cache = <CacheSlot*>calloc(CACHE_SLOTS, sizeof(CacheSlot))
        if self.cache == NULL:
            raise MemoryError()
        self.mapping = view
        # The pointers are const in use: no lookup path writes to the table.
        self.t.slots = <RankSlot*>(base + TABLE_HEAD)
        self.t.pairs = <uint32_t*>(base + TABLE_HEAD + cap * sizeof(RankSlot))
        self.t.filter = <uint64_t*>(<uint8_t*>self.t.pairs + 65536 * sizeof(uint32_t))
        self.t.arena = <uint8_t*>self.t.filter + (1 << FILTER_LOG2) // 8
        self.t.mask = cap - 1
        self.t.classes = classes.table
        self.t.pattern = pattern
        self.classes = classes
        self.pattern = pattern
        self.size = <Py_ssize_t>head[1]
        self.arena_len = <Py_ssize_t>head[2]
        return self

    def __dealloc__(self):
        if self.mapping is None:
            free(self.t.slots)
            free(self.t.arena)
            free(self.t.pairs)
            free(self.t.filter)
        free(self.cache)

    def count(self, str text not None) -> int:
        """Tokens in ``text``: ``len(encoding.encode_ordinary(text))`` without building the list."""
        cdef _UTF8 utf8 = _UTF8(text, len(text) >= NOGIL_MIN // 4)
        cdef const uint8_t* s = utf8.data
        cdef Py_ssize_t n = utf8.length, total
        cdef CacheSlot* private
        if n < NOGIL_MIN:
            total = _count(&self.t, self.cache, s, n)
        else:
            # The shared cache is only touched under the GIL; a long text brings its own.
            private = <CacheSlot*>calloc(CACHE_SLOTS, sizeof(CacheSlot))
            if private == NULL:
                raise MemoryError()
            with nogil:
                total = _count(&self.t, private, s, n)
            free(private)
        if total < 0:
            raise MemoryError()
        return total

    def clear_cache(self) -> None:
        """Forget cached piece counts (benchmarks use it to measure a cold start)."""
        memset(self.cache, 0, CACHE_SLOTS * sizeof(CacheSlot))

    def split(self, str text not None) -> list:
        """The pre-tokeniser's pieces (after surrogate repair)."""
        cdef _UTF8 utf8 = _UTF8(text, False)
        cdef const uint8_t* s = utf8.data
        cdef Py_ssize_t n = utf8.length, i = 0, e
        cdef list out = []
        while i < n:
            e = _next(&self.t, s, i, n)
            out.append((<const char*>s)[i:e].decode("utf-8"))
            i = e
        return out
