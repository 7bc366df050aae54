# The rank table: hashing, lookup and insertion (included by tokens.pyx; see Table in tokens.pxd).
# BPE.table() writes these structures out and BPE.mapped() reads them in place, so a change here
# that alters their contents needs TABLE_LAYOUT bumped.

cdef inline uint64_t _hash(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = <uint64_t>n * 0x9E3779B97F4A7C15ULL
    cdef uint64_t v
    while n >= 8:
        memcpy(&v, p, 8)
        h = (h ^ v) * 0xBF58476D1CE4E5B9ULL
        h ^= h >> 31
        p += 8
        n -= 8
    if n:
        v = 0
        memcpy(&v, p, n)
        h = (h ^ v) * 0x94D049BB133111EBULL
        h ^= h >> 29
    h ^= h >> 32
    h *= 0xD6E8FEB86659FD93ULL
    h ^= h >> 32
    return h


cdef inline uint64_t _head(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t v = 0
    memcpy(&v, p, n if n < 8 else 8)
    return v


cdef inline uint32_t _lookup(const Table* t, const uint8_t* p, Py_ssize_t n, uint64_t h) noexcept nogil:
    cdef uint64_t bit = h >> (64 - FILTER_LOG2)
    cdef uint64_t i, head
    cdef RankSlot* s
    if not (t.filter[bit >> 6] >> (bit & 63)) & 1:
        return NO_RANK
    head = _head(p, n)
    i = h & t.mask
    while True:
        s = &t.slots[i]
        if s.meta == 0:
            return NO_RANK
        if (s.meta & 0xFF) == n and s.head == head and (
            n <= 8 or memcmp(t.arena + (s.meta >> 8) + 8, p + 8, n - 8) == 0
        ):
            return s.rank
        i = (i + 1) & t.mask


cdef inline uint32_t _rank(const Table* t, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n == 2:
        return t.pairs[(<uint32_t>p[0] << 8) | p[1]]
    return _lookup(t, p, n, _hash(p, n))


cdef uint8_t _B64[256]
cdef const char* _ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
memset(_B64, 255, 256)
for _k in range(64):
    _B64[<uint8_t>_ALPHABET[_k]] = <uint8_t>_k


cdef Py_ssize_t _b64decode(const uint8_t* src, Py_ssize_t n, uint8_t* out) noexcept nogil:
    """Decode standard base64 (with padding); -1 if malformed."""
    cdef Py_ssize_t i = 0, o = 0
    cdef uint32_t acc = 0
    cdef int bits = 0
    cdef uint8_t v
    while i < n and src[i] != 61:  # '='
        v = _B64[src[i]]
        if v == 255:
            return -1
        acc = (acc << 6) | v
        bits += 6
        if bits >= 8:
            bits -= 8
            out[o] = <uint8_t>((acc >> bits) & 0xFF)
            o += 1
        i += 1
    return o


cdef int _insert(Table* t, const uint8_t* p, Py_ssize_t n, uint32_t offset, uint32_t rank) noexcept nogil:
    cdef uint64_t h = _hash(p, n)
    cdef uint64_t i = h & t.mask
    cdef uint64_t bit = h >> (64 - FILTER_LOG2)
    if _lookup(t, p, n, h) != NO_RANK:
        return -1  # duplicate token
    while t.slots[i].meta != 0:
        i = (i + 1) & t.mask
    t.slots[i].head = _head(p, n)
    t.slots[i].rank = rank
    t.slots[i].meta = (offset << 8) | <uint32_t>n
    t.filter[bit >> 6] |= (<uint64_t>1) << (bit & 63)
    if n == 2:
        t.pairs[(<uint32_t>p[0] << 8) | p[1]] = rank
    return 0
