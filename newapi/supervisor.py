"""Granian's process manager, with crashed workers respawned after a growing delay.

Granian 2.8 respawns a worker that died (``respawn_failed_workers``), but ends the
whole server, every worker and every in-flight request with it, when a worker dies
again within 5.5 seconds of its respawn ("Worker crash loop detected, exiting"; the
threshold is a constant, no option moves it). Two quick OOM kills would take the
node down. Here a worker that dies is respawned at once, and while its successors
keep dying young (within MATURE seconds) after a delay that doubles (1 s, 2 s, 4 s ...
at most MAX_DELAY); the other workers serve meanwhile. Only a worker slot whose
workers die young GIVE_UP_AFTER times in a row (it cannot start: a bad
configuration, a database that refuses it) ends the server, with exit status 1, for
the operator's process manager (``Restart=always``; see the README) to restart.
Reloads and lifetime respawns are Granian's own. (Granian's ``Granian`` is its
multiprocess server on a GIL build of Python, which is what this subclasses.)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from granian.server.mp import MPServer

from newapi.metrics.multiproc import mark_dead

log = logging.getLogger("newapi.supervisor")

#: Seconds a worker must live for its death to start a new streak (respawned at once).
MATURE = 30.0
#: The longest wait before a respawn, in seconds.
MAX_DELAY = 30.0
#: Deaths in a row of one worker slot, each within MATURE of its spawn, after which the
#: server gives up.
GIVE_UP_AFTER = 10


def streak_after(streak: int, lived: float) -> int:
    """A slot's deaths in a row once its worker died after ``lived`` seconds."""
    return streak + 1 if lived < MATURE and streak else 1


def respawn_delay(streak: int) -> float:
    """The wait before a respawn: none after a first death (Granian's own respawn), then 1 s,
    2 s, 4 s ... while the successors keep dying young."""
    return 0.0 if streak <= 1 else min(MAX_DELAY, 2.0 ** (streak - 2))


class Supervisor(MPServer):
    def __init__(self, *args: Any, metrics_dir: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._metrics_dir = metrics_dir
        self._streaks: dict[int, int] = {}

    def _respawn_workers(self, workers: Any, spawn_target: Any, target_loader: Any, delay: float = 0) -> None:
        if delay:  # a reload or a lifetime respawn, not a crash: Granian's own way
            super()._respawn_workers(workers, spawn_target, target_loader, delay=delay)
            return
        for idx in workers:
            mark_dead(self.wrks[idx]._id(), self._metrics_dir)
            lived = time.monotonic() - self.wrks[idx].birth
            streak = self._streaks[idx] = streak_after(self._streaks.get(idx, 0), lived)
            wait = respawn_delay(streak)
            if streak >= GIVE_UP_AFTER:
                log.error("worker-%d keeps dying at start; stopping the server", idx + 1)
                self.interrupt_children.append(idx)  # exit status 1
                self.interrupt_signal = True
                self.main_loop_interrupt.set()
                return
            if wait:
                log.warning("worker-%d died after %.1f s; respawning it in %.0f s", idx + 1, lived, wait)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and not self.interrupt_signal:
                    time.sleep(0.1)
                if self.interrupt_signal:
                    return  # shutting down: the main loop stops every worker
            super()._respawn_workers([idx], spawn_target, target_loader, delay=0)
            # Granian compares the next crash with this time and exits within 5.5 s of it.
            self.respawned_wrks.pop(idx, None)
