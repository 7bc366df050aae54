"""Generation counters and a ring of recent invalidations, shared by a node's workers.

Layout (native 8-byte words, the file is a few tens of KB)::

    word 0        layout mark
    word 1        seq: invalidations ever written (the per-request check reads only this)
    words 2..6    a counter per kind (token, user, channels, options, all)
    byte 64...    RING entries of ENTRY bytes: seq, kind, ident length, ident, seq again

A writer holds the file's exclusive lock, writes the entry, then its kind's
counter, then ``seq``. A reader compares ``seq`` with what it last applied (one
aligned 8-byte read, no lock); only when it moved does it take the shared lock
and read what changed. The entries since then name exactly what to drop (one
token, one user); when more than RING were written since, or an entry does not
read back whole, the reader reloads every kind whose counter moved instead.
"""

from __future__ import annotations

import struct

from newapi.node.files import SharedFile

KINDS = ("token", "user", "channels", "options", "all")
_KIND_INDEX = {kind: index for index, kind in enumerate(KINDS)}
MARK = 0x4E41_5047_454E_0001  # "NAPGEN" v1
HEADER = 64
RING = 512
IDENT_MAX = 72
_ENTRY = struct.Struct(f"=QII{IDENT_MAX}sQ")
ENTRY = _ENTRY.size
SIZE = HEADER + RING * ENTRY
_SEQ = 1
_GEN0 = 2

Change = tuple[str, str]


class Generations:
    """One worker's view of the node's generation file."""

    def __init__(self, path: str) -> None:
        self._file = SharedFile(path, SIZE, MARK)
        self._words = memoryview(self._file.map).cast("B").cast("Q")
        with self._file.locked(shared=True):
            self._seen = self._words[_SEQ]
            self._gens = [self._words[_GEN0 + i] for i in range(len(KINDS))]
        # What stale() compares seq with: the applied seq, or -1 to force a look.
        self._expect = self._seen

    @property
    def path(self) -> str:
        return self._file.path

    def stale(self) -> bool:
        """Whether another process wrote since this one last collected (no lock, no syscall)."""
        return self._words[_SEQ] != self._expect

    def force(self) -> None:
        """Make the next :meth:`stale` true (a failed apply to retry)."""
        self._expect = -1

    def bump(self, kind: str, ident: str = "") -> None:
        """Record one invalidation; call after the change is committed to the database."""
        index = _KIND_INDEX.get(kind, _KIND_INDEX["all"])
        raw = ident.encode()
        if len(raw) > IDENT_MAX:
            raw = b""  # too long to name: readers drop the whole kind
        words = self._words
        with self._file.locked():
            seq = words[_SEQ] + 1
            _ENTRY.pack_into(self._file.map, HEADER + (seq % RING) * ENTRY, seq, index, len(raw), raw, seq)
            words[_GEN0 + index] += 1
            words[_SEQ] = seq
            if self._seen == seq - 1:
                # This process applies its own change before answering: nothing to read back.
                self._seen = seq
                self._gens[index] += 1
                if self._expect == seq - 1:  # not while a catch-up is applying, nor after a failed one
                    self._expect = seq

    def collect(self) -> list[Change]:
        """What changed since the last call: (kind, ident) pairs, ident "" for a whole kind.

        :meth:`stale` stays true until :meth:`settle`: a request that arrives while the
        changes are being applied must wait for them, not go on with the old caches.
        """
        words = self._words
        with self._file.locked(shared=True):
            seq = words[_SEQ]
            gens = [words[_GEN0 + i] for i in range(len(KINDS))]
            changes = self._entries(seq) if seq - self._seen <= RING else None
        if changes is None:
            moved = zip(KINDS, self._gens, gens, strict=True)
            changes = [(kind, "") for kind, old, new in moved if old != new]
        self._seen, self._gens = seq, gens
        return changes

    def settle(self) -> None:
        """The changes :meth:`collect` returned are applied."""
        self._expect = self._seen

    def _entries(self, seq: int) -> list[Change] | None:
        changes: list[Change] = []
        view = self._file.map
        for number in range(self._seen + 1, seq + 1):
            first, index, length, raw, last = _ENTRY.unpack_from(view, HEADER + (number % RING) * ENTRY)
            if first != number or last != number or index >= len(KINDS) or length > IDENT_MAX:
                return None  # torn or overwritten: fall back to whole kinds
            try:
                ident = raw[:length].decode()
            except UnicodeDecodeError:
                return None
            changes.append((KINDS[index], ident))
        return changes

    def close(self) -> None:
        self._words.release()
        self._file.close()
