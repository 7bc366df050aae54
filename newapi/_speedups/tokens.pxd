from libc.stdint cimport uint8_t, uint32_t, uint64_t


cdef struct RankSlot:
    uint64_t head        # the token's first 8 bytes, zero-padded: most tokens compare here alone
    uint32_t rank
    uint32_t meta        # offset into Table.arena << 8 | length (tokens are 1..255 bytes); 0 = empty


cdef struct CacheSlot:
    uint64_t hash
    uint32_t count
    uint32_t length      # 0 = empty
    uint8_t key[48]      # pieces longer than this are not cached


cdef struct Table:
    RankSlot* slots
    uint64_t mask
    uint8_t* arena
    uint64_t* filter     # one bit per hash bucket, small enough for L2: most misses stop here
    uint32_t* pairs      # rank of every 2-byte string, the hottest lookup of a merge
    const uint8_t* classes
    int pattern


cdef class CharClasses:
    cdef uint8_t* table
    cdef readonly list runs


cdef class BPE:
    cdef Table t
    cdef CharClasses classes
    cdef CacheSlot* cache
    cdef Py_ssize_t arena_len
    cdef object mapping      # the buffer a mapped table points into (None: the table is malloc'd)
    cdef readonly Py_ssize_t size
    cdef readonly int pattern
