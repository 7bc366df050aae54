"""A worker's once-a-second jobs woken together, on the event loop's whole seconds.

Each of them (the ledger's flush, the metrics' fold, the load sample, the idle-connection and
idle-body sweeps) slept its period from when it last ran, so their timers fell at different
moments of a second and an idle worker woke three times a second for them; at a steady trickle
of requests each is a wake-up of its own too (a context switch and a cold turn of the loop).
Due on the same loop time, their timers run in one turn. The loop's clock is the system's
monotonic one, so a node's workers tick together too: measured cheaper than a phase of each
worker's own (bench/README.md, "The wake-ups of a steady 200/s", ninth session, helper hF).
"""

from __future__ import annotations

import asyncio
import math


def next_tick(loop: asyncio.AbstractEventLoop, period: float = 1.0) -> float:
    """The loop time of the next whole multiple of ``period`` at least half a period away: a job
    run a little early or late keeps its place, and its period stays within 0.5-1.5 of it."""
    return (math.floor(loop.time() / period + 0.5) + 1) * period


async def sleep_to_tick(period: float = 1.0) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(next_tick(loop, period) - loop.time())
