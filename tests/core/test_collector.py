"""The cyclic-collector thresholds a worker installs at startup (``newapi.core.collector``).

A worker that opens 10,000 streams in a few seconds grows its heap by ~750,000 tracked objects;
every automatic collection is a pause each request in flight waits out. These check, with the
thresholds the app installs, that collections during such growth stay small, and that cyclic
garbage that reached the oldest generation (a stream's objects, kept past young collections,
then dropped) is still collected without anyone calling ``gc.collect()``.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from newapi.core.collector import GC_THRESHOLDS


@pytest.fixture
def app_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


class _Node:
    __slots__ = ("__weakref__", "peer")

    def __init__(self) -> None:
        self.peer: _Node | None = None


def test_a_growing_heap_is_collected_in_small_steps(app_thresholds: None) -> None:
    scanned: list[tuple[int, int]] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            generation = info["generation"]
            scanned.append((generation, sum(len(gc.get_objects(g)) for g in range(generation + 1))))

    gc.callbacks.append(record)
    try:
        held = [_Node() for _ in range(600_000)]  # what 8,000 open streams hold, long-lived
    finally:
        gc.callbacks.remove(record)
    assert len(held) == 600_000
    generations = {generation for generation, _ in scanned}
    assert generations == {0, 1}  # young collections ran, and no full one
    # Generation 1 is collected instead of the (threshold1 + 2)th generation-0 collection after
    # the last one, so it scans at most threshold0 x (threshold1 + 2) objects; (20_000, 20, 20)
    # let that reach 440,000.
    threshold0, threshold1, _ = GC_THRESHOLDS
    largest = max(objects for _, objects in scanned)
    assert largest <= (threshold0 + 1) * (threshold1 + 2) + 1_000
    # The budget: 25,000 objects, 5-20 ms of a loaded core at the 0.2-0.8 us an object measured
    # in a worker admitting 10,000 streams (bench/README.md).
    assert largest <= 25_000


def test_old_cyclic_garbage_is_still_collected(app_thresholds: None) -> None:
    # Pairs that reference each other, held past young collections (into generation 2), then
    # dropped: only a full collection frees them. CPython runs one when generation 2's count
    # passes its threshold and what was promoted since the last one exceeds a quarter of what it
    # left, hence as many pairs as a quarter of generation 2 now.
    pairs = max(50_000, len(gc.get_objects(2)) // 6)
    held = []
    for _ in range(pairs):
        a, b = _Node(), _Node()
        a.peer, b.peer = b, a
        held.append(a)
    gc.collect(1)
    gc.collect(1)  # promoted into generation 2, as a held stream's objects are
    assert any(obj is held[0] for obj in gc.get_objects(2))
    probe = weakref.ref(held[0])
    del held, a, b
    assert probe() is not None  # cyclic: no reference count frees it
    # Every later allocation that outlives its statement counts towards the next collection;
    # here, one self-referencing list at a time (as a request leaves cycles behind).
    threshold0, threshold1, threshold2 = GC_THRESHOLDS
    # Generation 2 likewise instead of the (threshold2 + 2)th collection of generation 1.
    period = (threshold0 + 1) * (threshold1 + 2) * (threshold2 + 2)
    made = 0
    while probe() is not None and made < 2 * period:
        for _ in range(10_000):
            garbage: list[object] = []
            garbage.append(garbage)
        made += 10_000
    assert probe() is None, f"still alive after {made:,} allocations"
    assert made <= period + 20_000


def test_startup_freezes_the_heap_and_installs_the_thresholds() -> None:
    # In a fresh interpreter: freezing is for the process's whole life.
    code = (
        "import gc; from newapi.core.collector import GC_THRESHOLDS, freeze_long_lived_heap; "
        "assert gc.get_freeze_count() == 0; freeze_long_lived_heap(); "
        "assert gc.get_freeze_count() > 0 and gc.get_threshold() == GC_THRESHOLDS"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
