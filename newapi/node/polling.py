"""Multi-key polling positions shared by a node's workers.

New API keeps the position in its one process; with several worker processes a
per-process position would hand the same key to each worker in turn. Here the
position lives in a small open-addressed table of (channel id, position) in a
shared file; a claim reads, chooses and writes under the file's lock.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from newapi.node.files import SharedFile

MARK = 0x4E41_5050_4F4C_0001  # "NAPPOL" v1
HEADER = 64
SLOTS = 4096
PROBES = 32
_SLOT = struct.Struct("=qq")  # channel id (0 = free), next position
SIZE = HEADER + SLOTS * _SLOT.size


class SharedPolling:
    """Satisfies ``newapi.routing.select.PollingPositions`` for every worker of a node."""

    def __init__(self, path: str) -> None:
        self._file = SharedFile(path, SIZE, MARK)
        # Channels beyond the table's probe reach rotate per worker rather than fail.
        self._overflow: dict[int, int] = {}

    def claim(self, channel_id: int, default: int, choose: Callable[[int], tuple[int, int]]) -> int:
        view = self._file.map
        with self._file.locked():
            offset = self._slot(channel_id)
            if offset is None:
                index, after = choose(self._overflow.get(channel_id, default))
                self._overflow[channel_id] = after
                return index
            owner, position = _SLOT.unpack_from(view, offset)
            index, after = choose(position if owner == channel_id else default)
            _SLOT.pack_into(view, offset, channel_id, after)
            return index

    def _slot(self, channel_id: int) -> int | None:
        view = self._file.map
        start = (channel_id * 2654435761) % SLOTS
        for probe in range(PROBES):
            offset = HEADER + ((start + probe) % SLOTS) * _SLOT.size
            owner = _SLOT.unpack_from(view, offset)[0]
            if owner == channel_id or owner == 0:
                return offset
        return None

    def close(self) -> None:
        self._file.close()
