"""Throughput of the SSE scanner, compiled (``c``) and pure-Python twin (``py``).

Run: ``.venv/bin/pytest bench/micro/test_sse_bench.py --benchmark-only``. Each benchmark records
``MB/s`` (10**6 bytes of input per second, from the mean round) in ``extra_info``; a round builds a
fresh scanner, feeds every chunk and calls ``finish()``.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from types import ModuleType

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi._speedups import _sse_py

_sse_c: ModuleType | None
try:
    from newapi._speedups import sse as _sse_c
except ImportError:
    _sse_c = None


@pytest.fixture(params=["py", "c"])
def sse(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "py":
        return _sse_py
    if _sse_c is None:
        pytest.skip("newapi._speedups.sse is not compiled (cythonize newapi/_speedups/sse.pyx)")
    return _sse_c


def _chunks(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def _openai_events(total: int) -> tuple[bytes, int]:
    """About ``total`` bytes of ~200-byte chat.completion.chunk events, and how many there are."""
    rng = random.Random(7)
    words = ["the", " quick", " brown", " fox", " jumps", " over", " a", " lazy", " dog", " ☀️", " 晴れ"]
    out = bytearray()
    count = 0
    while len(out) < total:
        chunk = {
            "id": "chatcmpl-BwQ3r8kE1cZ2m9TQy0vXo6nH4aLpD",
            "object": "chat.completion.chunk",
            "created": 1753358142,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": rng.choice(words)}, "finish_reason": None}],
        }
        out += b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
        count += 1
    return bytes(out), count


def _run(sse: ModuleType, chunks: list[bytes]) -> Callable[[], int]:
    def run() -> int:
        scanner = sse.SSEScanner()
        count = 0
        for chunk in chunks:
            count += len(scanner.feed(chunk))
        return count + len(scanner.finish())

    return run


def _record(benchmark: BenchmarkFixture, size: int, events: int) -> None:
    assert benchmark.stats is not None
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["MB/s"] = round(size / mean / 1e6, 1)
    benchmark.extra_info["events/s"] = round(events / mean)


def test_small_events_4k_chunks(benchmark: BenchmarkFixture, sse: ModuleType) -> None:
    stream, count = _openai_events(1 << 20)
    assert 180 < len(stream) / count < 220
    assert benchmark(_run(sse, _chunks(stream, 4096))) == count
    _record(benchmark, len(stream), count)


def test_one_8mb_line_64k_chunks(benchmark: BenchmarkFixture, sse: ModuleType) -> None:
    image = base64.b64encode(random.Random(8).randbytes(6 << 20))  # 8 MiB of base64
    stream = b"data: " + image + b"\n\n"
    assert benchmark(_run(sse, _chunks(stream, 64 << 10))) == 1
    _record(benchmark, len(stream), 1)
