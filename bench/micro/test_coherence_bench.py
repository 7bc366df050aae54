"""Cost of the per-request check that keeps a node's workers coherent.

Run: ``.venv/bin/pytest bench/micro/test_coherence_bench.py --benchmark-only``. Each benchmark
records ``ns_per_call`` (the mean round divided by the calls in it) in ``extra_info``.

- ``stale_check``: what every request pays when nothing changed (the Gateway's guard plus one
  read of the shared generation counter).
- ``sqlite_data_version``: the alternative considered, ``PRAGMA data_version`` on an open SQLite
  connection, called synchronously (the event loop would add a thread hop on top with aiosqlite,
  and it works only for SQLite).
- ``collect_one_token``: what a worker pays when another changed one token (lock, read, decode).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.node.coherence import Coherence
from newapi.node.generations import Generations

CALLS = 10_000


async def _apply(kind: str, ident: str) -> None:
    return None


def _per_call(benchmark: BenchmarkFixture, fn: Callable[[], object], calls: int = CALLS) -> None:
    def round_() -> None:
        for _ in range(calls):
            fn()

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["ns_per_call"] = benchmark.stats.stats.mean / calls * 1e9


@pytest.fixture
def generations(tmp_path: Path) -> Iterator[Generations]:
    generations = Generations(str(tmp_path / "generations"))
    yield generations
    generations.close()


class _Gate:
    """Holds the coherence the way Gateway does (an attribute that may be None)."""

    def __init__(self, coherence: Coherence | None) -> None:
        self._coherence = coherence


def test_stale_check(benchmark: BenchmarkFixture, generations: Generations) -> None:
    gate = _Gate(Coherence(generations, _apply))

    def round_() -> None:
        for _ in range(CALLS):
            # The lines Gateway.__call__ runs before dispatching each request.
            coherence = gate._coherence
            if coherence is not None and coherence.stale():
                raise AssertionError("nothing was written")

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["ns_per_call"] = benchmark.stats.stats.mean / CALLS * 1e9


def test_sqlite_data_version(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "one-api.db")
    connection.execute("PRAGMA journal_mode=WAL")

    def check() -> bool:
        return bool(connection.execute("PRAGMA data_version").fetchone()[0] != 1)

    _per_call(benchmark, check, calls=1000)
    connection.close()


def test_collect_one_token(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    path = str(tmp_path / "generations")
    writer, reader = Generations(path), Generations(path)

    def one() -> None:
        writer.bump("token", "k" * 48)
        reader.collect()

    _per_call(benchmark, one, calls=1000)
    writer.close()
    reader.close()
