"""The settlement journal: a worker's settled debits, kept where its death cannot reach them.

Both ledgers settle in memory and write to their store a little later (the Redis ledger
within milliseconds, in batches; the embedded ledger at its next flush, about a second).
A worker killed in between would lose debits whose responses the clients already have.
So before the last bytes of a response go out, the settlement adds one line (the debit
record, with what the ledger needs to apply it again) to this worker's journal in the
node directory (``journal/<worker>.<segment>``).

A segment is a file mapped shared into the worker (``MAP_SHARED``): a line is a copy into
the mapping, then an 8-byte length in the file's header is moved past it. No system
call: the mapped pages are the kernel's page cache, so what the copy put there outlives
the process the moment the copy is done (not the machine: no fsync; a power loss takes
the last second with it, as it takes Redis' ``appendfsync everysec``). A kill in the
middle of a copy leaves the length before the line, so a replay never reads half a
line, and that request's final bytes had not gone out. Its blocks are reserved when the
segment is made (``posix_fallocate``): a full disk then refuses a new segment (logged;
billing goes on without the journal) instead of a SIGBUS on a later copy.

The ledger seals the open segment (later lines go to a new one) at a moment when
everything in it is on its way to the store: the embedded ledger at each flush, the
Redis ledger once a second; it deletes a sealed segment once the store has every line in
it (the flush committed; the settle.lua calls of every batch queued before the seal
returned). A segment therefore holds about a second of settlements.

When a worker dies (``newapi.node.workers``: its lock is free) a survivor of the node
replays its remaining segments, and ``newapi serve`` does the same at start-up for
workers of an earlier run. Replays are idempotent: the embedded ledger records each
flushed or replayed segment in ``newapi_flush_batches`` in the same transaction as its
debits; the Redis ledger's settlements are idempotent per hold (settle.lua), so a line
the store had already applied is skipped.

Why not ``write()`` to an ``O_APPEND`` file: the same guarantee for a process crash, but a
system call per request (about 1.7 µs here, against about 0.3 µs for the copy), and
batching requests into one write would hold each response's last bytes for the batch.
Measured cost: bench/README.md, "Settlement journal".
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import struct
import time
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)

#: Bytes of a segment file (reserved on disk when it is made; a second of settlements at
#: 5,000 requests/s is about 2.5 MB). A line longer than this gets a segment of its own size.
CAPACITY = 4 << 20
_HEADER = struct.Struct("<Q")  # the bytes of lines committed after the header
#: Segment files kept ready (applied segments, and new ones written through in a thread):
#: a copy into a page whose block is allocated and written costs about 0.2 µs; into a fresh
#: or merely reserved file's, whose pages the kernel allocates on the first touch, 1.5-2.5 µs.
SPARES = 3
#: A spare is written in writes of this size, and the page cache keeps its pages in folios of
#: that size (ext4 and others with large folios): a touch of the mapping maps the whole folio
#: in. With 1 MB writes a segment was 1 MB of the worker's RSS from its first line, and 0 once
#: sealed and unmapped, so the worker's RSS moved by 1 MB with whether it had served in the
#: last second; at 64 KB it moves by what a second's lines fill (~80 KB at 150 lines/s), for
#: one page fault per ~120 lines instead of per ~2,000.
_ZEROS = bytes(64 << 10)


class Journal:
    """One worker's journal: the open segment, and the sealed ones not yet deleted."""

    def __init__(
        self, directory: str, worker_id: str, overflow_mark: Callable[[], int] | None = None
    ) -> None:
        self.directory = os.path.join(directory, "journal")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.worker = worker_id
        # The mark of a segment sealed because it filled up (the segment's number by default).
        self._overflow_mark = overflow_mark
        self._segment = 0
        self._map: mmap.mmap | None = None
        self._used = 0  # bytes of lines in the open segment
        self._room = 0
        self._broken = False
        self._retry_at = 0.0
        self._spares: list[str] = []
        self._spare_seq = 0
        self.lines = 0  # lines in the open segment
        self.sealed: list[tuple[int, int]] = []  # (segment, sealing mark) not yet deleted

    def append(self, line: bytes) -> None:
        """One line (ending in a newline) to the open segment: a copy into its mapping, then
        the header's length (a kill in the middle of the copy leaves the line out)."""
        used = self._used
        end = used + len(line)
        if end > self._room:
            if self._broken and time.monotonic() < self._retry_at:
                return  # the disk refused a segment a moment ago: no attempt per request
            if not self._open(len(line)):
                return
            used, end = 0, len(line)
        mapped = self._map
        assert mapped is not None
        mapped[_HEADER.size + used : _HEADER.size + end] = line
        _HEADER.pack_into(mapped, 0, end)
        self._used = end
        self.lines += 1

    def _open(self, need: int) -> bool:
        """A new segment (sealing a full one); False when the disk refuses it."""
        if self._map is not None:
            if self.lines:
                self._seal(None if self._overflow_mark is None else self._overflow_mark())
            else:  # opened ahead and too small for this line: it goes
                self._unmap()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(self._segment))
        size = max(CAPACITY, need + _HEADER.size)
        path = self._path(self._segment + 1)
        try:
            mapped = self._reuse(path, size) or self._make(path, size)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
            if not self._broken:
                # A full disk must not stop billing; debits are only less safe from a crash.
                log.warning("could not make a settlement journal segment", exc_info=True)
            self._broken = True
            self._retry_at = time.monotonic() + 1.0
            return False
        self._broken = False
        self._segment += 1
        self._map = mapped
        self._used = 0
        self._room = size - _HEADER.size
        _HEADER.pack_into(mapped, 0, 0)  # the first page mapped in now, not by the first line
        return True

    def wants_spares(self) -> bool:
        return len(self._spares) < SPARES

    def prepare(self) -> None:
        """Make spare segments until there are SPARES (blocking: run it in a thread)."""
        while len(self._spares) < SPARES:
            self._spare_seq += 1
            spare = os.path.join(self.directory, f"{self.worker}.spare{self._spare_seq}")
            fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                for _ in range(CAPACITY // len(_ZEROS)):
                    os.write(fd, _ZEROS)
                os.fdatasync(fd)
            finally:
                os.close(fd)
            self._spares.append(spare)

    def _reuse(self, path: str, size: int) -> mmap.mmap | None:
        """A spare segment emptied (its length first, then its new name) and mapped."""
        while self._spares:
            spare = self._spares.pop(0)  # the oldest: its pages the likeliest written back
            fd = os.open(spare, os.O_RDWR | os.O_CLOEXEC)
            try:
                if os.fstat(fd).st_size < size:
                    os.unlink(spare)
                    continue
                os.pwrite(fd, _HEADER.pack(0), 0)
                os.rename(spare, path)
                return mmap.mmap(fd, size)
            finally:
                os.close(fd)
        return None

    def _make(self, path: str, size: int) -> mmap.mmap:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                # Blocks reserved now: a full disk under a shared mapping is a SIGBUS later.
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                os.ftruncate(fd, size)
            return mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def seal(self, mark: int | None = None) -> int:
        """Close the open segment and open the next; returns its number, 0 when nothing was
        written (the open segment then stays open). ``mark`` (the segment's number by default)
        is what the ledger compares with its progress to know when the segment may go
        (:meth:`drop`)."""
        segment = self._seal(mark)
        if segment and not (self._broken and time.monotonic() < self._retry_at):
            # Opened here, in the ledger's flush or upkeep, rather than by the first request
            # after the seal (an open, a rename and an mmap off the request path), and mapped
            # in now: a segment stays mapped while the worker serves, so what the journal adds
            # to its RSS does not depend on when the worker last served.
            self._open(0)
        return segment

    def _seal(self, mark: int | None) -> int:
        if self._map is None or not self.lines:
            return 0
        self._unmap()
        self.lines = 0
        self.sealed.append((self._segment, self._segment if mark is None else mark))
        return self._segment

    def drop(self, upto_mark: int) -> None:
        """Delete the sealed segments whose mark is at most ``upto_mark``."""
        keep: list[tuple[int, int]] = []
        for segment, mark in self.sealed:
            if mark <= upto_mark:
                self._retire(self._path(segment))
            else:
                keep.append((segment, mark))
        self.sealed = keep

    def _retire(self, path: str) -> None:
        """An applied segment: kept as a spare (under a name no replay reads), or deleted."""
        with contextlib.suppress(FileNotFoundError):
            if len(self._spares) < SPARES:
                self._spare_seq += 1
                spare = os.path.join(self.directory, f"{self.worker}.spare{self._spare_seq}")
                os.rename(path, spare)
                self._spares.append(spare)
            else:
                os.unlink(path)

    def empty(self) -> bool:
        """Nothing written that the store may not have: no line in the open segment (one opened
        ahead may be empty), no sealed segment left."""
        return not self.lines and not self.sealed

    def close(self) -> None:
        """Unmap the open segment (what it holds stays for a replay; one without a line is
        deleted); delete the spares."""
        if self._map is not None:
            self._unmap()
            if not self.lines:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(self._segment))
        for spare in self._spares:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spare)
        self._spares.clear()

    def _unmap(self) -> None:
        assert self._map is not None
        self._map.close()
        self._map = None
        self._used = self._room = 0

    def _path(self, segment: int) -> str:
        return os.path.join(self.directory, f"{self.worker}.{segment:08d}")


def segments_of(directory: str, worker_id: str) -> list[tuple[int, str]]:
    """A (dead) worker's segments in the node directory, oldest first."""
    folder = os.path.join(directory, "journal")
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    prefix = worker_id + "."
    found = []
    for name in names:
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            found.append((int(name[len(prefix) :]), os.path.join(folder, name)))
    return sorted(found)


def discard(directory: str, worker_id: str) -> None:
    """Delete what is left of a dead worker's journal (its spares) once it was replayed."""
    folder = os.path.join(directory, "journal")
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(folder):
            if name.startswith(worker_id + "."):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))


def owners(directory: str) -> set[str]:
    """Workers that have segments in the node directory."""
    try:
        names = os.listdir(os.path.join(directory, "journal"))
    except FileNotFoundError:
        return set()
    return {name.rsplit(".", 1)[0] for name in names if "." in name}


def read_segment(path: str) -> list[list[Any]]:
    """The committed lines of a segment; a line that does not parse is skipped."""
    try:
        with open(path, "rb") as file:
            head = file.read(_HEADER.size)
            if len(head) < _HEADER.size:
                return []
            data = file.read(_HEADER.unpack(head)[0])
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            log.warning("skipped an unreadable journal line in %s", path)
    return out
