"""The relay's side of the metrics: plain per-worker counters, folded into the families each second.

prometheus-client's multiprocess values take a lock and write an mmap per increment (a few
microseconds each, several per request); here a request costs a few dict updates, and
:meth:`Recorder.fold` pays the library once per distinct series per second.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from newapi.metrics.families import LATENCY_BUCKETS, Families

_BOUNDS = LATENCY_BUCKETS
_SLOTS = len(_BOUNDS) + 1  # the last slot is +Inf


def _histogram() -> list[float]:
    # Bucket counts (non-cumulative, as prometheus-client stores them), then the sum.
    return [0.0] * (_SLOTS + 1)


class Recorder:
    """One per worker. Every method is synchronous and allocation-light: the hot path calls them."""

    def __init__(self) -> None:
        self.open_streams = 0
        self._requests: dict[tuple[str, str, int, int], int] = {}
        self._duration: dict[str, list[float]] = {}
        self._ttfb: dict[str, list[float]] = {}
        self._errors: dict[tuple[int, int], int] = {}
        self._retries: dict[int, int] = {}
        self._tokens: dict[str, list[int]] = {}  # model -> [prompt, completion, quota]
        self._reloads: dict[str, int] = {}
        self._notifications: dict[tuple[str, str], int] = {}

    # -- the hot path ------------------------------------------------------------------------

    def request(
        self, endpoint: str, model: str, channel: int, status: int, seconds: float, ttfb: float
    ) -> None:
        """One answered relay request; ``ttfb`` < 0 when no byte of an answer went out."""
        key = (endpoint, model, channel, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        hist = self._duration.get(endpoint)
        if hist is None:
            hist = self._duration[endpoint] = _histogram()
        hist[bisect_left(_BOUNDS, seconds)] += 1
        hist[_SLOTS] += seconds
        if ttfb >= 0:
            hist = self._ttfb.get(endpoint)
            if hist is None:
                hist = self._ttfb[endpoint] = _histogram()
            hist[bisect_left(_BOUNDS, ttfb)] += 1
            hist[_SLOTS] += ttfb

    def upstream_error(self, channel: int, status: int, retried: bool) -> None:
        key = (channel, status)
        self._errors[key] = self._errors.get(key, 0) + 1
        if retried:
            self._retries[channel] = self._retries.get(channel, 0) + 1

    def settled(self, model: str, prompt: int, completion: int, quota: int) -> None:
        row = self._tokens.get(model)
        if row is None:
            row = self._tokens[model] = [0, 0, 0]
        row[0] += prompt
        row[1] += completion
        row[2] += quota

    def cache_reload(self, cache: str) -> None:
        self._reloads[cache] = self._reloads.get(cache, 0) + 1

    def notification(self, via: str, result: str) -> None:
        key = (via, result)
        self._notifications[key] = self._notifications.get(key, 0) + 1

    # -- once a second ---------------------------------------------------------------------

    def fold(self, families: Families) -> None:
        """Add everything recorded since the last fold to ``families`` and start afresh."""
        requests, self._requests = self._requests, {}
        for (endpoint, model, channel, status), count in requests.items():
            families.child(families.requests, endpoint, model, str(channel), str(status)).inc(count)
        duration, self._duration = self._duration, {}
        for endpoint, hist in duration.items():
            _fold_histogram(families.child(families.duration, endpoint), hist)
        ttfb, self._ttfb = self._ttfb, {}
        for endpoint, hist in ttfb.items():
            _fold_histogram(families.child(families.ttfb, endpoint), hist)
        errors, self._errors = self._errors, {}
        for (channel, status), count in errors.items():
            families.child(families.upstream_errors, str(channel), str(status)).inc(count)
        retries, self._retries = self._retries, {}
        for channel, count in retries.items():
            families.child(families.retries, str(channel)).inc(count)
        tokens, self._tokens = self._tokens, {}
        for model, (prompt, completion, quota) in tokens.items():
            if prompt:
                families.child(families.tokens, model, "prompt").inc(prompt)
            if completion:
                families.child(families.tokens, model, "completion").inc(completion)
            if quota > 0:
                families.child(families.quota, model).inc(quota)
        reloads, self._reloads = self._reloads, {}
        for cache, count in reloads.items():
            families.child(families.cache_reloads, cache).inc(count)
        notifications, self._notifications = self._notifications, {}
        for (via, result), count in notifications.items():
            families.child(families.notifications, via, result).inc(count)
        families.open_streams.set(self.open_streams)


def _fold_histogram(child: Any, hist: list[float]) -> None:
    # prometheus-client has no "observe these bucket counts" call; a histogram child keeps one
    # value per bucket (non-cumulative) and one for the sum, which is what we add to here.
    buckets = child._buckets
    for slot in range(_SLOTS):
        if hist[slot]:
            buckets[slot].inc(hist[slot])
    child._sum.inc(hist[_SLOTS])
