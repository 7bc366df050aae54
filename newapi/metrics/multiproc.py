"""Where a ``newapi serve``'s workers keep their metrics: ``metrics/<serve pid>/`` in the node
directory, made fresh before the workers start.

prometheus-client's multiprocess mode keeps each process's values in ``<kind>_<pid>.db``
files under PROMETHEUS_MULTIPROC_DIR and sums them at scrape time. Counters of dead workers
stay (their counts happened); their live gauges (open streams) are removed when they die.
Each ``newapi serve`` has its own directory (two of them may share a node directory, over
one SQLite file); those of processes that are gone are removed at the next start.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil

from newapi.node.files import node_dir
from newapi.settings import Settings, apply_overrides
from newapi.storage.dsn import resolve_database

log = logging.getLogger(__name__)


def prepare(settings: Settings) -> str:
    """Empty the node's metrics directory and export it to the workers; returns its path."""
    database = resolve_database(settings)
    base = os.path.join(node_dir(settings, database.url, database.dialect), "metrics")
    os.makedirs(base, mode=0o700, exist_ok=True)
    for entry in os.listdir(base):
        if entry.isdigit() and int(entry) != os.getpid() and _alive(int(entry)):
            continue  # another newapi serve of this node
        path = os.path.join(base, entry)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
    directory = os.path.join(base, str(os.getpid()))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # Files left by an earlier process with this pid would add its counts to ours.
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.unlink(path)
    apply_overrides({"PROMETHEUS_MULTIPROC_DIR": directory})
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


def mark_dead(pid: int | None, directory: str | None) -> None:
    """Drop a dead worker's live gauges (its open streams are closed)."""
    if pid is None or not directory:
        return
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    except OSError:
        log.warning("could not drop the metrics of worker %d", pid, exc_info=True)


def use_multiprocess_values() -> None:
    """Make sure metrics created from now on write to the multiprocess files.

    prometheus-client picks its value class when first imported; a worker forked from a
    parent that imported it before PROMETHEUS_MULTIPROC_DIR was exported would keep the
    in-memory one and count in private.
    """
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
