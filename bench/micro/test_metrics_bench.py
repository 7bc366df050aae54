"""What the relay pays per request for the metrics.

Run: ``.venv/bin/pytest bench/micro/test_metrics_bench.py --benchmark-only``. Each benchmark
records ``ns_per_call`` (the mean round divided by the requests in it) in ``extra_info``.

- ``recorder``: what the relay does per billed request: ``Recorder.request`` (counter key,
  latency and first-byte histograms) and ``Recorder.settled`` (tokens and quota), plain dicts.
- ``fold``: the once-a-second fold of a second's worth of such requests (one series) into
  prometheus-client's multiprocess values, divided by the requests it carries.
- ``direct_multiprocess``: the same updates made straight on prometheus-client's
  multiprocess metrics per request (a lock and an mmap write per value: six values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, values
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.metrics.families import Families
from newapi.metrics.recorder import Recorder

CALLS = 10_000


@pytest.fixture
def multiprocess_families(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Families]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    yield Families(CollectorRegistry())


def _per_call(benchmark: BenchmarkFixture, fn: Callable[[], object], calls: int = CALLS) -> None:
    def round_() -> None:
        for _ in range(calls):
            fn()

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["ns_per_call"] = benchmark.stats.stats.mean / calls * 1e9


def test_recorder(benchmark: BenchmarkFixture) -> None:
    recorder = Recorder()

    def one() -> None:
        recorder.request("chat", "gpt-4o-mini", 7, 200, 0.42, 0.12)
        recorder.settled("gpt-4o-mini", 120, 48, 1530)

    _per_call(benchmark, one)


def test_fold(benchmark: BenchmarkFixture, multiprocess_families: Families) -> None:
    recorder = Recorder()
    per_second = 1000

    def fill_and_fold() -> None:
        for _ in range(per_second):
            recorder.request("chat", "gpt-4o-mini", 7, 200, 0.42, 0.12)
            recorder.settled("gpt-4o-mini", 120, 48, 1530)
        recorder.fold(multiprocess_families)

    benchmark(fill_and_fold)
    assert benchmark.stats is not None
    benchmark.extra_info["ns_per_call"] = benchmark.stats.stats.mean / per_second * 1e9


def test_direct_multiprocess(benchmark: BenchmarkFixture, multiprocess_families: Families) -> None:
    f = multiprocess_families
    requests = f.requests.labels("chat", "gpt-4o-mini", "7", "200")
    duration, ttfb = f.duration.labels("chat"), f.ttfb.labels("chat")
    prompt, completion = (
        f.tokens.labels("gpt-4o-mini", "prompt"),
        f.tokens.labels("gpt-4o-mini", "completion"),
    )
    quota = f.quota.labels("gpt-4o-mini")

    def one() -> None:
        requests.inc()
        duration.observe(0.42)
        ttfb.observe(0.12)
        prompt.inc(120)
        completion.inc(48)
        quota.inc(1530)

    _per_call(benchmark, one)
