"""The cyclic collector's settings for a long-running server process (a worker, the mock upstream)."""

from __future__ import annotations

import gc

__all__ = ["GC_THRESHOLDS", "freeze_long_lived_heap"]

# The thresholds once startup has frozen the worker's long-lived heap. The
# counts are net: a generation-0 collection runs once 5,000 more container objects were made
# than freed, so a worker whose load holds steady rarely collects (three, 4 ms of CPU in all,
# in 19,000 chat requests at c=64), and one that grows (10,000 streams opened in a few seconds,
# ~75 objects each) collects every ~70 streams. Every fourth of those collects generation 1
# instead, scanning generations 0 and 1: at most 4 x 5,000 objects (9-33 ms of CPU measured on
# a loaded machine), where (20_000, 20, 20) let it reach 22 x 20,000 (142-179 ms while streams
# were admitted, a pause every request in flight waited out; bench/README.md). A full collection
# comes after as many net allocations as before: 484 x 4 x 5,000 against 22 x 22 x 20,000,
# about 9.7 million (tests/core/test_collector.py).
GC_THRESHOLDS = (5_000, 2, 482)


def freeze_long_lived_heap() -> None:
    """At the end of startup: everything built so far lives as long as the process, so keep it
    out of the collector's scans, and collect young garbage by ``GC_THRESHOLDS``."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
