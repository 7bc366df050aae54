"""CPU time and peak memory of server processes, read from /proc."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after pid and comm)
    return total / _TICKS


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def wait_idle(
    pids: list[int],
    *,
    interval: float = 0.5,
    share: float = 0.03,
    timeout: float = 30.0,
    done: Callable[[], bool] | None = None,
) -> tuple[float, float]:
    """Wait until ``pids`` together use less than ``share`` of one core over ``interval`` seconds
    (their CPU time has stopped rising: the work of earlier runs is done) and ``done()`` holds, if
    given (e.g. a ledger's backlog written out: a flusher waiting on its database uses little CPU
    of its own), at most ``timeout`` seconds. Returns the seconds waited and the share of a core
    of the last interval."""
    start = time.monotonic()
    used = cpu_seconds(pids)
    while True:
        time.sleep(interval)
        now = cpu_seconds(pids)
        busy = (now - used) / interval
        used = now
        waited = time.monotonic() - start
        if (busy < share and (done is None or done())) or waited >= timeout:
            return waited, busy
