"""The settlement journal's cost per settled request (newapi.billing.journal), wall clock.

Run: ``.venv/bin/pytest bench/micro/test_journal_bench.py --benchmark-only``. A round journals
``CALLS`` debits of a typical consume log (the line encoded and appended, as a settlement does)
and then seals and retires the segment, as the ledger does about once a second. Both kernels'
work is in the figure: the page faults of the shared mapping, and for the ``write()`` variant
(the design it replaced: one system call per request, to an ``O_APPEND`` file) the call itself.
Each benchmark records ``us_per_call`` in ``extra_info``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.billing.journal import Journal
from newapi.billing.ledger import Debit

CALLS = 5000  # about a second of settlements at 5,000 requests/s
DEBIT = Debit(
    "20261204173100123456789abcdefgh",
    1,
    "root",
    2,
    "load",
    1,
    "gpt-4o-mini",
    "default",
    22,
    13,
    8,
    0,
    False,
    "模型倍率 0.75，补全倍率 4.00，分组倍率 1.00",
    '{"model_ratio":0.75,"group_ratio":1,"completion_ratio":4,"model_price":-1,"frt":12,'
    '"request_path":"/v1/chat/completions","admin_info":{"use_channel":["1"]}}',
    1733333333,
    "",
    "chatcmpl-abc",
    True,
    2,
    False,
)


def _line() -> bytes:
    return orjson.dumps(("s", "", 0, DEBIT.record()), option=orjson.OPT_APPEND_NEWLINE)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    made = Journal(str(tmp_path), "bench")
    made.prepare()
    yield made
    made.close()


def test_journal_append(benchmark: BenchmarkFixture, journal: Journal) -> None:
    def round_() -> None:
        for _ in range(CALLS):
            journal.append(_line())
        journal.seal()
        journal.drop(1 << 62)

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["us_per_call"] = benchmark.stats.stats.mean / CALLS * 1e6


def test_journal_by_write(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    path = tmp_path / "by-write"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def round_() -> None:
        for _ in range(CALLS):
            os.write(fd, _line())
        os.ftruncate(fd, 0)

    try:
        benchmark(round_)
    finally:
        os.close(fd)
    assert benchmark.stats is not None
    benchmark.extra_info["us_per_call"] = benchmark.stats.stats.mean / CALLS * 1e6
