"""CPU affinity of whole process trees, every thread of them: a load run confined to some cores.

``os.sched_setaffinity(pid)`` sets one task's affinity (the thread whose id is ``pid``); a process's
other threads keep theirs. So each task under ``/proc/<pid>/task`` is set on its own; a thread
started later inherits its creator's, so a tree pinned once stays pinned.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path


def parse_cpu_list(text: str) -> frozenset[int]:
    """The cores of a kernel CPU list (``Cpus_allowed_list``, ``taskset -c``): ``"0-2,5"``."""
    cores: set[int] = set()
    for part in text.strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cores.update(range(int(first), int(last or first) + 1))
    return frozenset(cores)


def format_cpu_list(cores: Iterable[int]) -> str:
    """The inverse of :func:`parse_cpu_list`, runs of consecutive cores as ``a-b``."""
    runs: list[list[int]] = []
    for core in sorted(set(cores)):
        if runs and core == runs[-1][-1] + 1:
            runs[-1].append(core)
        else:
            runs.append([core])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def tasks(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """The thread ids of ``pid`` (none once it has exited)."""
    try:
        return sorted(int(name) for name in os.listdir(proc / str(pid) / "task"))
    except OSError:
        return []


def allowed(pid: int, tid: int, proc: Path = Path("/proc")) -> frozenset[int] | None:
    """The cores task ``tid`` of ``pid`` may run on, as the kernel reports them (None if gone)."""
    try:
        status = (proc / str(pid) / "task" / str(tid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return parse_cpu_list(line.split(":", 1)[1])
    return None


def pin(pids: Iterable[int], cores: Iterable[int]) -> int:
    """Every task of each of ``pids`` onto ``cores``; returns how many tasks were set. A task that
    exits meanwhile is skipped (its process's others are still set)."""
    wanted = set(cores)
    done = 0
    for pid in pids:
        for tid in tasks(pid):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid, wanted)
                done += 1
    return done


def seen(pids: Iterable[int]) -> Counter[str]:
    """How many tasks of ``pids`` may run on each set of cores, keyed by CPU list (``{"0": 9}``):
    what the kernel holds, to check that :func:`pin` took effect."""
    found: Counter[str] = Counter()
    for pid in pids:
        for tid in tasks(pid):
            cores = allowed(pid, tid)
            if cores is not None:
                found[format_cpu_list(cores)] += 1
    return found


@contextlib.contextmanager
def pinned(pids: Iterable[int], cores: Iterable[int], restore: Iterable[int]) -> Iterator[int]:
    """Every task of ``pids`` on ``cores`` inside the block, on ``restore`` after it (also after
    an error: the same processes are measured unpinned in the next run). Yields the tasks set."""
    pids = list(pids)
    try:
        yield pin(pids, cores)
    finally:
        pin(pids, restore)


def children_named(name: str, parent: int | None = None) -> list[int]:
    """The direct children of ``parent`` (this process) whose command name is ``name``."""
    parent = os.getpid() if parent is None else parent
    found = []
    for tid in tasks(parent):
        try:
            kids = Path(f"/proc/{parent}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{kid}/comm").read_text().strip() == name:
                    found.append(int(kid))
    return found
