"""The client-disconnect watch's own cost per relayed request (``newapi.relay.watch``).

Run: ``.venv/bin/pytest bench/micro/test_watch_bench.py --benchmark-only``. A round relays 1,000
requests through a watch: set it up on a receive that returns a pending future (as Granian's
does), send the response start, ``events`` body messages with ``more_body`` and the final one
through the watch's ``send``, stop it. The server's own receive and send are stand-ins that cost
next to nothing, so this is the watch's Python alone; ``extra_info["us_per_request"]`` is the mean
round over 1,000.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from newapi.core.types import Message
from newapi.relay.watch import DisconnectWatch

REQUESTS = 1000


class _Sent:
    """An awaitable that is already done, like Granian's send future for a buffered message."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())


_SENT = _Sent()


def _send(message: Message) -> _Sent:
    return _SENT


async def _settle() -> None:
    return None


async def _relay(events: int) -> None:
    loop = asyncio.get_running_loop()
    start: Message = {"type": "http.response.start", "status": 200, "headers": []}
    piece: Message = {"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True}
    last: Message = {"type": "http.response.body", "body": b"data: [DONE]\n\n"}
    for _ in range(REQUESTS):
        watch = DisconnectWatch(loop.create_future, _send, _settle)
        send = watch.send
        await send(start)
        for _ in range(events):
            await send(piece)
        await send(last)
        watch.stop()


@pytest.mark.parametrize("events", [1, 20])
def test_watch_per_request(benchmark: BenchmarkFixture, events: int) -> None:
    loop = asyncio.new_event_loop()
    try:
        benchmark(lambda: loop.run_until_complete(_relay(events)))
    finally:
        loop.close()
    benchmark.extra_info["us_per_request"] = round(benchmark.stats.stats.mean / REQUESTS * 1e6, 3)
