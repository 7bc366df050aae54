"""A worker's once-a-second jobs woken together, on its own phase of each second.

Each of them (the ledger's flush, the metrics' fold, the load sample, the idle-connection and
idle-body sweeps) slept its period from when it last ran, so their timers fell at different
moments of a second and an idle worker woke three times a second for them; at a steady trickle
of requests each is a wake-up of its own too (a context switch and a cold turn of the loop).
Due on the same loop time, their timers run in one turn. The loop's clock is the system's
monotonic one, shared by a node's workers: each worker keeps a phase of its own (from its pid),
or their ledgers would flush into SQLite at the same moment and one wait on the other's lock
(seen: sqlite's busy handler sleeping 1, 2, 5 ms in the second worker each second).
"""

from __future__ import annotations

import asyncio
import math
import os

_GOLDEN = 0.6180339887498949  # consecutive pids get phases far apart
_phase = (0, 0.0)  # (pid, phase), computed again in a forked child


def phase() -> float:
    """This process's ticks fall at ``(n + phase()) * period`` of the loop's time."""
    global _phase
    pid = os.getpid()
    if _phase[0] != pid:
        _phase = (pid, pid * _GOLDEN % 1.0)
    return _phase[1]


def next_tick(loop: asyncio.AbstractEventLoop, period: float = 1.0) -> float:
    """The loop time of this process's next tick at least half a period away: a job run a little
    early or late keeps its place, and its period stays within 0.5-1.5 of it."""
    offset = phase()
    return (math.floor(loop.time() / period - offset + 0.5) + 1 + offset) * period


def seconds_to_tick(loop: asyncio.AbstractEventLoop, period: float = 1.0) -> float:
    """How long until :func:`next_tick`: a sleep's or a wait's timeout."""
    return next_tick(loop, period) - loop.time()


async def sleep_to_tick(period: float = 1.0) -> None:
    await asyncio.sleep(seconds_to_tick(asyncio.get_running_loop(), period))
