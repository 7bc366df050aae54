"""The node's metrics directory: emptied by ``newapi serve`` before its workers start.

prometheus-client's multiprocess mode keeps each process's values in ``<kind>_<pid>.db``
files under PROMETHEUS_MULTIPROC_DIR and sums them at scrape time. Counters of dead workers
stay (their counts happened); their live gauges (open streams) are removed when they die.
"""

from __future__ import annotations

import glob
import logging
import os

from newapi.node.files import node_dir
from newapi.settings import Settings, apply_overrides
from newapi.storage.engine import resolve_database

log = logging.getLogger(__name__)


def prepare(settings: Settings) -> str:
    """Empty the node's metrics directory and export it to the workers; returns its path."""
    database = resolve_database(settings)
    directory = os.path.join(node_dir(settings, database.url, database.dialect), "metrics")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # A previous run's files would add its counts to this run's (and its pids may be reused).
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.unlink(path)
    apply_overrides({"PROMETHEUS_MULTIPROC_DIR": directory})
    return directory


def mark_dead(pid: int | None, directory: str | None) -> None:
    """Drop a dead worker's live gauges (its open streams are closed)."""
    if pid is None or not directory:
        return
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    except OSError:
        log.warning("could not drop the metrics of worker %d", pid, exc_info=True)
