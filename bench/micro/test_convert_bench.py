"""Cost of converting streams between families, per event, against passing them through.

Run: ``.venv/bin/pytest bench/micro/test_convert_bench.py --benchmark-only``. The streams are the
mock upstream's own (64 content pieces, forced usage), scanned into events once; a round feeds
every event of one stream to a fresh policy and finishes it. ``extra_info["us_per_event"]`` is the
mean round divided by the number of upstream events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.adaptors.claude.stream import ClaudePassThrough
from newapi.adaptors.claude.stream import Reader as ClaudeReader
from newapi.adaptors.claude.stream import Writer as ClaudeWriter
from newapi.adaptors.openai.stream import OpenAIPassThrough
from newapi.adaptors.openai.stream import Reader as OpenAIReader
from newapi.adaptors.openai.stream import Writer as OpenAIWriter
from newapi.convert.stream import ConvertingPolicy
from newapi.streaming.policy import StreamPolicy
from newapi.streaming.scanner import SSEEvent, SSEScanner
from newapi.testing import MockUpstreamThread


@pytest.fixture(scope="module")
def streams() -> Iterator[dict[str, list[SSEEvent]]]:
    with MockUpstreamThread(chunks=64) as mock:
        model = "bench-usage-120-64"
        messages = [{"role": "user", "content": "hello"}]
        chat = httpx.post(
            mock.url + "/v1/chat/completions",
            json={
                "model": model,
                "messages": messages,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        ).content
        claude = httpx.post(
            mock.url + "/v1/messages",
            json={"model": model, "messages": messages, "max_tokens": 99, "stream": True},
        ).content
    yield {"openai": SSEScanner().feed(chat), "claude": SSEScanner().feed(claude)}


def _run(events: list[SSEEvent], make: Callable[[], StreamPolicy]) -> int:
    policy = make()
    size = 0
    for event in events:
        out = policy.on_event(event)
        if out is not None:
            size += len(out)
    return size + len(policy.finish())


CASES: dict[str, tuple[str, Callable[[], StreamPolicy]]] = {
    "openai_to_claude": ("openai", lambda: ConvertingPolicy(OpenAIReader(), ClaudeWriter("m", "rid"), "rid")),
    "claude_to_openai": (
        "claude",
        lambda: ConvertingPolicy(ClaudeReader(), OpenAIWriter("m", "rid", True), "rid"),
    ),
    "openai_passthrough": ("openai", lambda: OpenAIPassThrough(False, "m", "rid")),
    "claude_passthrough": ("claude", lambda: ClaudePassThrough("rid")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_stream_conversion(
    benchmark: BenchmarkFixture, streams: dict[str, list[SSEEvent]], case: str
) -> None:
    source, make = CASES[case]
    events = streams[source]
    assert _run(events, make) > 0
    benchmark(_run, events, make)
    benchmark.extra_info["events"] = len(events)
    benchmark.extra_info["us_per_event"] = round(benchmark.stats.stats.mean / len(events) * 1e6, 3)
