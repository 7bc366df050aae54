"""Cost of billing on the relay path: price lookup, pre-consume and settlement, per call.

Run: ``.venv/bin/pytest bench/micro/test_pricing_bench.py --benchmark-only``. Each benchmark
records ``us_per_call`` (the mean round divided by the calls in it) in ``extra_info``. A round
makes ``CALLS`` calls on a price book built once, as a worker does between option changes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.billing.pricing import ModelPrice, price_book
from newapi.billing.quota import compute_charge, pre_consume_quota
from newapi.core.usage import Usage
from newapi.options.store import OptionStore

CALLS = 1000
BOOK = price_book(OptionStore())


def _price(name: str) -> ModelPrice:
    price = BOOK.price(name)
    assert price is not None
    return price


def _per_call(benchmark: BenchmarkFixture, fn: Callable[[], object]) -> None:
    def round_() -> None:
        for _ in range(CALLS):
            fn()

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["us_per_call"] = benchmark.stats.stats.mean / CALLS * 1e6


def test_price_lookup(benchmark: BenchmarkFixture) -> None:
    _per_call(benchmark, lambda: BOOK.price("gpt-4o-mini"))


def test_price_book_memo(benchmark: BenchmarkFixture) -> None:
    options = OptionStore()
    _per_call(benchmark, lambda: price_book(options).price("gpt-4o-mini"))


def test_pre_consume(benchmark: BenchmarkFixture) -> None:
    price = _price("gpt-4o-mini")
    _per_call(benchmark, lambda: pre_consume_quota(price, 1.0, 812, 4096, BOOK))


@pytest.mark.parametrize(
    ("model", "usage"),
    [
        ("gpt-4o-mini", Usage(prompt_tokens=812, completion_tokens=245)),
        ("gpt-4o", Usage(prompt_tokens=1812, completion_tokens=345, cached_tokens=1024)),
        (
            "claude-sonnet-4-20250514",
            Usage(
                prompt_tokens=13,
                completion_tokens=300,
                cached_tokens=9000,
                cache_write_tokens=700,
                semantic="anthropic",
            ),
        ),
        ("gpt-4o-mini", Usage(prompt_tokens=10, completion_tokens=0)),  # 0.75 -> 1
        ("dall-e-3", Usage()),
    ],
    ids=["plain", "openai-cache", "anthropic-cache", "small", "price-mode"],
)
def test_compute_charge(benchmark: BenchmarkFixture, model: str, usage: Usage) -> None:
    price = _price(model)
    _per_call(benchmark, lambda: compute_charge(price, 1.0, usage, BOOK))


def test_compute_charge_exact_tie(benchmark: BenchmarkFixture) -> None:
    """A result on a .5 boundary takes the exact Decimal path (the slow case)."""
    price = _price("gpt-4o")
    usage = Usage(prompt_tokens=1000, completion_tokens=500, cached_tokens=200)  # 2900 x 0.625 = 1812.5
    _per_call(benchmark, lambda: compute_charge(price, 0.5, usage, BOOK))


def test_lookup_and_charge(benchmark: BenchmarkFixture) -> None:
    """What one relayed request costs billing: look up, reserve, settle."""
    usage = Usage(prompt_tokens=812, completion_tokens=245, cached_tokens=512)

    options = OptionStore()

    def request() -> int:
        book = price_book(options)
        price = book.price("gpt-4o-mini")
        assert price is not None
        group = book.group_ratio("default", "default")
        pre_consume_quota(price, group, 812, 4096, book)
        return compute_charge(price, group, usage, book).quota

    _per_call(benchmark, request)
