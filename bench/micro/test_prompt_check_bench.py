"""What the sensitive-word check costs a relay request.

Run: ``.venv/bin/pytest bench/micro/test_prompt_check_bench.py --benchmark-only``. Each benchmark
records ``ns_per_call`` in ``extra_info``.

- ``default_1k`` / ``default_32k``: New API's default list (one word: a substring search, see
  ``FEW_WORDS``) over a clean chat body of about 1 KB and 32 KB.
- ``clean_1k`` / ``clean_32k``: the same bodies against 203 words (one automaton pass over the
  raw body, no JSON parse).
- ``hit_confirmed``: a body whose raw bytes hit, confirmed on the prompt's text (a refusal).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.core.endpoints import CHAT
from newapi.core.errors import BadRequest
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.prompt_check import check_prompt

CALLS = 2_000
WORDS = "\n".join(
    ["test_sensitive", "forbidden phrase", "another bad one", *(f"word{i}" for i in range(200))]
)


def _call(content: str) -> Call:
    body = orjson.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": content},
            ],
            "stream": True,
        }
    )
    return Call("r", CHAT, CHAT.path, 0.0, 0, "127.0.0.1", body=body)


def _per_call(benchmark: BenchmarkFixture, fn: Callable[[], object]) -> None:
    def round_() -> None:
        for _ in range(CALLS):
            fn()

    benchmark(round_)
    assert benchmark.stats is not None
    benchmark.extra_info["ns_per_call"] = benchmark.stats.stats.mean / CALLS * 1e9


def test_default_1k(benchmark: BenchmarkFixture) -> None:
    options = OptionStore()
    call = _call("Tell me about the weather in Paris in spring. " * 20)
    _per_call(benchmark, lambda: check_prompt(options, call))


def test_default_32k(benchmark: BenchmarkFixture) -> None:
    options = OptionStore()
    call = _call("Tell me about the weather in Paris in spring. " * 700)
    _per_call(benchmark, lambda: check_prompt(options, call))


def test_clean_1k(benchmark: BenchmarkFixture) -> None:
    options = OptionStore({"SensitiveWords": WORDS})
    call = _call("Tell me about the weather in Paris in spring. " * 20)
    _per_call(benchmark, lambda: check_prompt(options, call))


def test_clean_32k(benchmark: BenchmarkFixture) -> None:
    options = OptionStore({"SensitiveWords": WORDS})
    call = _call("Tell me about the weather in Paris in spring. " * 700)
    _per_call(benchmark, lambda: check_prompt(options, call))


def test_hit_confirmed(benchmark: BenchmarkFixture) -> None:
    options = OptionStore({"SensitiveWords": WORDS})
    call = _call("Tell me about the weather, forbidden phrase. " * 20)

    def refused() -> None:
        try:
            check_prompt(options, call)
        except BadRequest:
            return
        raise AssertionError("not refused")

    _per_call(benchmark, refused)
