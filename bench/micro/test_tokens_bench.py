"""Tokens counted per second: the compiled counter (``c``), its twin (``py``) and tiktoken.

Run: ``.venv/bin/pytest bench/micro/test_tokens_bench.py --benchmark-only``. The input is the
test corpus (tests/fixtures/tokens, about 1 MB in nine samples). tiktoken has no count-only call,
so its figure is ``len(encode_ordinary(text))``; it is built offline from the shipped rank files.
Each benchmark records ``tokens/s`` and ``MB/s`` (from the mean round) in ``extra_info``.

- ``whole``: each sample counted in one call (over 32 KB, so ours releases the GIL and uses a
  fresh private piece cache: a cold start every round).
- ``c`` counts over a table built in the process's heap, ``c-mapped`` over the table file the
  workers share (newapi.tokens.shared_table, an ``mmap``): the same lookups in other memory.
- ``chunks``: the corpus cut into 4 KB prompts, counted one by one the way a worker counts
  requests; ours keeps its piece cache across calls and rounds (the steady state), and
  ``chunks-cold`` clears it before each round.
"""

from __future__ import annotations

import base64
import json
import pathlib
from collections.abc import Callable

import pytest
import tiktoken
from pytest_benchmark.fixture import BenchmarkFixture

from newapi._speedups import _tokens_py
from newapi.tokens import ENCODINGS, shared_table

try:
    from newapi._speedups import tokens as _tokens_c
except ImportError:
    _tokens_c = None  # type: ignore[assignment]

ROOT = pathlib.Path(__file__).parents[2]
DATA = ROOT / "newapi" / "tokens" / "data"
SAMPLES = [
    p.read_bytes().decode("utf-8") for p in sorted((ROOT / "tests" / "fixtures" / "tokens").glob("*.txt"))
]
CHUNKS = [s[i : i + 4096] for s in SAMPLES for i in range(0, len(s), 4096)]
SIZE = sum(len(s.encode("utf-8")) for s in SAMPLES)

Counter = Callable[[str], int]
_counters: dict[tuple[str, str], tuple[Counter, Callable[[], None]]] = {}


def _tiktoken(name: str) -> tiktoken.Encoding:
    spec = ENCODINGS[name]
    ranks = {}
    for line in (DATA / spec.filename).read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=name, pat_str=spec.pat_str, mergeable_ranks=ranks, special_tokens=dict(spec.special_tokens)
    )


def _counter(impl: str, name: str) -> tuple[Counter, Callable[[], None]]:
    """A count function and a cache-clearing function."""
    if (impl, name) not in _counters:
        if impl == "tiktoken":
            enc = _tiktoken(name)
            _counters[impl, name] = (lambda text: len(enc.encode_ordinary(text)), lambda: None)
        else:
            kernel = _tokens_py if impl == "py" else _tokens_c
            if kernel is None:
                pytest.skip("newapi._speedups.tokens is not compiled")
            spec = ENCODINGS[name]
            classes = kernel.CharClasses(json.loads((DATA / "unicode_classes.json").read_text())["runs"])
            ranks = (DATA / spec.filename).read_bytes()
            if impl == "c-mapped":
                mapped = shared_table.mapped_bpe(name, spec.sha256, ranks, spec.pattern, classes)
                if mapped is None:
                    pytest.skip("the table cache directory is not usable")
                bpe = mapped
            else:
                bpe = kernel.BPE(ranks, spec.pattern, classes)
            _counters[impl, name] = (bpe.count, bpe.clear_cache)
    return _counters[impl, name]


def _bench(
    benchmark: BenchmarkFixture, impl: str, texts: list[str], count: Counter, setup: Callable[[], None]
) -> None:
    def run() -> int:
        return sum(count(text) for text in texts)

    rounds = 3 if impl == "py" else 10
    tokens: int = benchmark.pedantic(  # type: ignore[no-untyped-call]
        run, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1
    )
    assert benchmark.stats is not None
    mean = benchmark.stats.stats.mean
    benchmark.extra_info["tokens"] = tokens
    benchmark.extra_info["tokens/s"] = round(tokens / mean)
    benchmark.extra_info["MB/s"] = round(SIZE / mean / 1e6, 2)


IMPLS = ["c", "c-mapped", "tiktoken", "py"]
NAMES = ["o200k_base", "cl100k_base"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("impl", IMPLS)
def test_whole(benchmark: BenchmarkFixture, impl: str, name: str) -> None:
    count, _ = _counter(impl, name)
    benchmark.group = f"{name} whole samples"
    _bench(benchmark, impl, SAMPLES, count, lambda: None)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("impl", IMPLS)
def test_chunks(benchmark: BenchmarkFixture, impl: str, name: str) -> None:
    count, _ = _counter(impl, name)
    benchmark.group = f"{name} 4 KB prompts"
    _bench(benchmark, impl, CHUNKS, count, lambda: None)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("impl", ["c", "c-mapped", "py"])
def test_chunks_cold(benchmark: BenchmarkFixture, impl: str, name: str) -> None:
    count, clear = _counter(impl, name)
    benchmark.group = f"{name} 4 KB prompts"
    _bench(benchmark, impl, CHUNKS, count, clear)
