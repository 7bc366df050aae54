"""Which workers of this node are alive: one flock'd file per worker, released by the kernel.

Each worker holds an exclusive ``flock`` on ``workers/<id>.lock`` in the node directory
for as long as it runs. The kernel drops the lock the moment the process dies, however
it dies (SIGKILL, the OOM killer), so a survivor that can take a lock knows, without a
timeout, that its owner is gone. While the survivor holds it, it alone cleans up after
the dead worker (replays its journal, gives its holds and leases back); then it removes
the file. The id is ``<pid>-<random>``, so a recycled pid is never mistaken for its
predecessor.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator

_SUFFIX = ".lock"


def new_worker_id() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Presence:
    """This worker's lock, and the way to find (and claim) the dead ones'."""

    def __init__(self, directory: str, worker_id: str | None = None) -> None:
        self.directory = os.path.join(directory, "workers")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        self.id = worker_id or new_worker_id()
        path = os.path.join(self.directory, self.id + _SUFFIX)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def others(self) -> list[str]:
        """Ids of the other workers that have (or had) a lock file here."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return [n[: -len(_SUFFIX)] for n in names if n.endswith(_SUFFIX) and n[: -len(_SUFFIX)] != self.id]

    @contextlib.contextmanager
    def claim_dead(self, worker_id: str) -> Iterator[bool]:
        """Yields True when ``worker_id`` is dead and now claimed by this worker (nobody else
        cleans up after it meanwhile); the lock file goes when the block ends without error."""
        path = os.path.join(self.directory, worker_id + _SUFFIX)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False  # alive, or being cleaned up by another survivor
                return
            if os.fstat(fd).st_nlink == 0:
                yield False  # another survivor finished and removed it while we opened it
                return
            yield True
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        finally:
            os.close(fd)

    def close(self) -> None:
        """At a clean shutdown: nothing is left to clean up after this worker."""
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.directory, self.id + _SUFFIX))
        with contextlib.suppress(OSError):
            os.close(self._fd)
