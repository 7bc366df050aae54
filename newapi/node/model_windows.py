"""The model request limit's windows (without Redis), shared by a node's workers.

Per user: a fixed window counting every request (as New API's total limit), and
the successes of the sliding window kept as BUCKETS counts of window/BUCKETS
each, so a user's state has a fixed size. A success leaves the window at the end
of its bucket: at most 1/BUCKETS of the window later than an exact log would.
Users live in an open-addressed table; when a probe run is full the least
recently active user there is forgotten (the limit errs on the lenient side).
"""

from __future__ import annotations

import struct

from newapi.node.files import SharedFile

MARK = 0x4E41_504D_4C4D_0001  # "NAPMLM" v1
HEADER = 64
SLOTS = 4096
PROBES = 16
BUCKETS = 60
_HEAD = struct.Struct("=qqqqq")  # user id (0 = free), last activity ms, total start ms, total count, width ms
_BUCKETS = struct.Struct(f"={2 * BUCKETS}q")  # (bucket number, count) pairs
_PAIR = struct.Struct("=qq")
SLOT = _HEAD.size + _BUCKETS.size
SIZE = HEADER + SLOTS * SLOT


class SharedModelWindows:
    def __init__(self, path: str) -> None:
        self._file = SharedFile(path, SIZE, MARK)

    def check(self, user_id: int, now_ms: int, window_ms: int, total: int, success: int) -> int:
        """Count one request; 0 when allowed, else the seconds to wait."""
        width = max(1, window_ms // BUCKETS)
        view = self._file.map
        with self._file.locked():
            offset = self._slot(user_id, now_ms)
            start: int
            count: int
            _, _, start, count, old_width = _HEAD.unpack_from(view, offset)
            if old_width != width:
                _BUCKETS.pack_into(view, offset + _HEAD.size, *([0] * (2 * BUCKETS)))
            if success:
                current = now_ms // width
                pairs = _BUCKETS.unpack_from(view, offset + _HEAD.size)
                live = [(pairs[i], pairs[i + 1]) for i in range(0, 2 * BUCKETS, 2)]
                live = [(number, n) for number, n in live if n and current - BUCKETS < number <= current]
                if sum(n for _, n in live) >= success:
                    _HEAD.pack_into(view, offset, user_id, now_ms, start, count, width)
                    oldest: int = min(number for number, _ in live)
                    return max(1, -(-((oldest + BUCKETS) * width - now_ms) // 1000))
            if total:
                if now_ms - start >= window_ms:
                    start, count = now_ms, 0
                count += 1
            _HEAD.pack_into(view, offset, user_id, now_ms, start, count, width)
            if total and count > total:
                return max(1, (start + window_ms - now_ms) // 1000 + 1)
            return 0

    def record_success(self, user_id: int, now_ms: int) -> None:
        view = self._file.map
        with self._file.locked():
            offset = self._slot(user_id, now_ms)
            width = _HEAD.unpack_from(view, offset)[4]
            if width <= 0:
                return  # forgotten since its check: nothing to count against
            current = now_ms // width
            at = offset + _HEAD.size + (current % BUCKETS) * 16
            number, n = _PAIR.unpack_from(view, at)
            _PAIR.pack_into(view, at, current, (n + 1) if number == current else 1)

    def _slot(self, user_id: int, now_ms: int) -> int:
        """The user's slot, claiming a free or the stalest one in its probe run."""
        view = self._file.map
        start = (user_id * 2654435761) % SLOTS
        stalest, stalest_at = -1, 0
        for probe in range(PROBES):
            offset = HEADER + ((start + probe) % SLOTS) * SLOT
            owner, last = _PAIR.unpack_from(view, offset)
            if owner == user_id:
                return offset
            if owner == 0:
                stalest, stalest_at = offset, -1
                break
            if stalest < 0 or last < stalest_at:
                stalest, stalest_at = offset, last
        view[stalest : stalest + SLOT] = bytes(SLOT)
        _HEAD.pack_into(view, stalest, user_id, now_ms, now_ms, 0, 0)
        return stalest

    def close(self) -> None:
        self._file.close()
