"""Where a node's shared files live, and opening one as a fixed-size shared mapping.

A node is every ``newapi serve`` on one machine that shares the embedded SQLite
file (they already share its data), or, with a server database, the workers of
one ``newapi serve`` (its database, Redis prefix and port). Files are created
zero-filled; a layout mark at the start lets a newer layout reset an older file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import mmap
import os
import struct
import tempfile
from collections.abc import Iterator

from newapi.settings import Settings

_MARK = struct.Struct("=Q")


def node_dir(settings: Settings, database_url: str, dialect: str) -> str:
    """The directory holding this node's shared files (created, private to the user)."""
    if dialect == "sqlite":
        path = database_url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            directory = os.path.abspath(path) + ".node"
            os.makedirs(directory, mode=0o700, exist_ok=True)
            return directory
    identity = "\n".join(
        (database_url, settings.redis_conn_string, settings.redis_prefix, str(settings.port))
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    base = settings.data_dir or os.path.join(tempfile.gettempdir(), f"newapi-{os.getuid()}")
    directory = os.path.join(base, f"node-{digest}")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return directory


class SharedFile:
    """A file of ``size`` bytes mapped shared, with an exclusive lock for writers.

    The first 8 bytes hold ``mark`` (the layout's identity); a file with another
    mark or size is cleared, so every process of a node agrees on the layout.
    """

    def __init__(self, path: str, size: int, mark: int) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                current = os.fstat(self._fd).st_size
                mapped_mark = _MARK.unpack(os.pread(self._fd, 8, 0))[0] if current >= 8 else 0
                if current != size or mapped_mark != mark:
                    os.ftruncate(self._fd, 0)
                    os.ftruncate(self._fd, size)
                    os.pwrite(self._fd, _MARK.pack(mark), 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.map = mmap.mmap(self._fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self._fd)
            raise

    @contextlib.contextmanager
    def locked(self, shared: bool = False) -> Iterator[None]:
        """Hold the file's lock; writers take it exclusive, consistent readers shared.

        Holders only touch memory, so the wait is microseconds even when contended.
        """
        fcntl.flock(self._fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self.map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)
