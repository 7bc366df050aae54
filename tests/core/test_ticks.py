"""newapi.core.ticks: a worker's periodic jobs wake on the same loop turn, whenever they started;
workers on phases of their own."""

from __future__ import annotations

import asyncio
import itertools
import os

import pytest

from newapi.core.ticks import next_tick, phase, sleep_to_tick


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.mark.parametrize("now", [0.0, 3.2, 3.49, 3.5, 3.51, 3.999, 4.0, 4.001, 1234.567])
@pytest.mark.parametrize("period", [1.0, 0.25])
def test_the_next_tick_is_a_whole_period_half_to_1_5_periods_away(now: float, period: float) -> None:
    tick = next_tick(_Clock(now), period)  # type: ignore[arg-type]
    whole = tick / period - phase()
    assert whole == pytest.approx(round(whole))
    assert 0.5 * period - 1e-9 <= tick - now <= 1.5 * period + 1e-9


def test_jobs_started_apart_wake_on_the_same_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    period = 0.2
    real_sleep = asyncio.sleep
    due: list[float] = []  # the loop time each sleep_to_tick asked to wake at

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def recording(delay: float) -> None:
            due.append((loop.time() + delay) / period - phase())
            await real_sleep(delay)

        monkeypatch.setattr(asyncio, "sleep", recording)

        async def job(start: float) -> None:
            await real_sleep(start)
            for _ in range(2):
                await sleep_to_tick(period)

        # Started 0.3 and 0.6 of a period apart: with a plain sleep of the period they would
        # ask to wake 0.3 of a period apart. What they ask for, not when a busy machine's loop
        # gets round to it, so the check holds under any load.
        await asyncio.gather(job(0.0), job(0.3 * period), job(0.6 * period))

    asyncio.run(main())
    assert len(due) == 6
    assert all(abs(d - round(d)) <= 0.05 for d in due), due  # loop.time() is read twice


def test_each_process_gets_a_phase_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read again whenever the pid changed (a forked worker), from the pid: workers forked one
    # after the other tick far apart, so their flushes do not meet on SQLite's lock.
    phases = []
    for pid in (1000, 1001, 1002):
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        phases.append(phase())
    gaps = [abs(a - b) for a, b in itertools.pairwise(phases)]
    assert all(min(gap, 1 - gap) > 0.3 for gap in gaps), phases
