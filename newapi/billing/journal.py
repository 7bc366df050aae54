"""The settlement journal: a worker's settled debits, kept where its death cannot reach them.

Both ledgers settle in memory and write to their store a little later (the Redis ledger
within milliseconds, in batches; the embedded ledger at its next flush, about a second).
A worker killed in between would lose debits whose responses the clients already have.
So before the last byte of a response goes out, the settlement writes one line, the
debit record with what the ledger needs to apply it again, to an append-only file of
this worker in the node directory (``journal/<worker>.<segment>``): a single
``write()`` to an ``O_APPEND`` descriptor. Once ``write()`` returns the bytes are in
the kernel's page cache, which outlives the process (not the machine: no fsync; a
power loss takes the unflushed second with it, as it takes Redis' everysec AOF).

The journal is cut into segments. The ledger seals the current one (later lines go
to a new file) at the moment everything written to it is on its way to the store:
the embedded ledger at each flush, the Redis ledger once a second; it deletes a sealed
segment when the store has taken every line in it (the flush committed; settle.lua
applied the batches). A segment therefore holds about a second of settlements.

When a worker dies (``newapi.node.workers``: its lock is free) a survivor of the node
replays its remaining segments, and ``newapi serve`` does the same at start-up for
workers of an earlier run. Replays are idempotent: the embedded ledger records each
flushed or replayed segment in ``newapi_flush_batches`` in the same transaction as its
debits; the Redis ledger's settlements are idempotent per hold (settle.lua), so a line
the store had already taken is skipped. Each line is one ``write()``, so a torn last
line cannot happen short of a full disk; a line that does not parse is skipped.

Hot-path cost: one ``orjson.dumps`` of the record and one ``write()`` system call per
settled request (``bench/README.md``, "Journal").
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

import orjson

log = logging.getLogger(__name__)

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


class Journal:
    """One worker's journal: the open segment, and the sealed ones not yet deleted."""

    def __init__(self, directory: str, worker_id: str) -> None:
        self.directory = os.path.join(directory, "journal")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.worker = worker_id
        self._segment = 0
        self._fd = -1
        self.lines = 0  # lines in the open segment
        self.sealed: list[tuple[int, int]] = []  # (segment, sealing mark) not yet deleted

    def append(self, line: bytes) -> None:
        """One line (ending in a newline) to the open segment, in one system call."""
        if self._fd < 0:
            self._segment += 1
            self._fd = os.open(self._path(self._segment), _FLAGS, 0o600)
        try:
            os.write(self._fd, line)
        except OSError:
            # A full disk must not stop billing; the debit is only less safe from a crash.
            log.warning("could not write the settlement journal", exc_info=True)
        self.lines += 1

    def seal(self, mark: int | None = None) -> int:
        """Close the open segment (later lines start another); returns its number, 0 when
        nothing was written. ``mark`` (the segment's number by default) is what the ledger
        compares with its progress to know when the segment may go (:meth:`drop`)."""
        if self._fd < 0:
            return 0
        os.close(self._fd)
        self._fd = -1
        self.lines = 0
        self.sealed.append((self._segment, self._segment if mark is None else mark))
        return self._segment

    def drop(self, upto_mark: int) -> None:
        """Delete the sealed segments whose mark is at most ``upto_mark``."""
        keep: list[tuple[int, int]] = []
        for segment, mark in self.sealed:
            if mark <= upto_mark:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(segment))
            else:
                keep.append((segment, mark))
        self.sealed = keep

    def empty(self) -> bool:
        return self._fd < 0 and not self.sealed

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

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


def owners(directory: str) -> set[str]:
    """Workers that have segments in the node directory."""
    try:
        names = os.listdir(os.path.join(directory, "journal"))
    except FileNotFoundError:
        return set()
    return {name.rsplit(".", 1)[0] for name in names if "." in name}


def read_segment(path: str) -> list[list[Any]]:
    """The lines of a segment; a line that does not parse (a full disk) is skipped."""
    try:
        with open(path, "rb") as file:
            data = file.read()
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
