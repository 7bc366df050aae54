"""What the pre-consume estimate costs a relay request, before and after New API's counting.

Run: ``.venv/bin/pytest bench/micro/test_pre_consume_bench.py --benchmark-only``. Each benchmark
records ``us_per_call`` in ``extra_info``: the hold of one chat request (gpt-4o-mini), from the
body to the quota to reserve.

- ``bytes4_*``: the old estimate, body bytes / 4 (the cost floor: no parse, no count).
- ``count_*``: New API's estimate (``estimate_prompt``: JSON parse, message rules, o200k count;
  a text of 64 K characters or more is counted in a worker thread).
- ``trusted``: a user past the trust bypass: the check alone, nothing counted.

Bodies: ``1k`` a system and a user message of about 1 KB; ``100k`` a user message of 100 KB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import orjson
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.billing.pricing import price_book
from newapi.billing.quota import pre_consume_quota
from newapi.core.endpoints import CHAT
from newapi.core.structs import TokenInfo, UserInfo
from newapi.options.store import OptionStore
from newapi.relay.admission import trusted
from newapi.relay.call import Call
from newapi.relay.prompt_estimate import estimate_prompt

BOOK = price_book(OptionStore())
PRICE = BOOK.price("gpt-4o-mini")
assert PRICE is not None


def _call(content: str) -> Call:
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": content},
    ]
    body = orjson.dumps({"model": "gpt-4o-mini", "messages": messages, "max_tokens": 256})
    return Call("r", CHAT, CHAT.path, 0.0, 0, "127.0.0.1", body=body, model="gpt-4o-mini", max_tokens=256)


ONE_K = _call("Tell me about the weather in Paris in spring, please. " * 18)
HUNDRED_K = _call("The quick brown fox jumps over the lazy dog, again and again. " * 1630)


def _per_call(benchmark: BenchmarkFixture, calls: int, fn: Callable[[], Awaitable[object]]) -> None:
    async def many() -> None:
        for _ in range(calls):
            await fn()

    benchmark(lambda: asyncio.run(many()))
    assert benchmark.stats is not None
    benchmark.extra_info["us_per_call"] = benchmark.stats.stats.mean / calls * 1e6


async def _bytes4(call: Call) -> int:
    return pre_consume_quota(PRICE, 1.0, len(call.body) // 4, call.max_tokens, BOOK)  # type: ignore[arg-type]


async def _count(call: Call) -> int:
    prompt = await estimate_prompt(call)
    return pre_consume_quota(PRICE, 1.0, prompt, call.max_tokens, BOOK)  # type: ignore[arg-type]


def test_bytes4_1k(benchmark: BenchmarkFixture) -> None:
    _per_call(benchmark, 2_000, lambda: _bytes4(ONE_K))


def test_count_1k(benchmark: BenchmarkFixture) -> None:
    assert len(ONE_K.body) > 1_000
    _per_call(benchmark, 2_000, lambda: _count(ONE_K))


def test_bytes4_100k(benchmark: BenchmarkFixture) -> None:
    _per_call(benchmark, 200, lambda: _bytes4(HUNDRED_K))


def test_count_100k(benchmark: BenchmarkFixture) -> None:
    assert len(HUNDRED_K.body) > 100_000
    _per_call(benchmark, 200, lambda: _count(HUNDRED_K))


def test_trusted(benchmark: BenchmarkFixture) -> None:
    user = UserInfo(1, "u", 1, 1, "default", 100_000_000)
    token = TokenInfo(1, 1, "k", "t", 1, -1, 0, True, False, frozenset(), (), "")

    async def check() -> bool:
        return trusted(user, token, BOOK)

    _per_call(benchmark, 2_000, check)
