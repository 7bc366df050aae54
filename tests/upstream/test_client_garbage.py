"""A closed upstream connection is freed by reference counting, not left for the cyclic collector
(which the workers run only every 20,000 net allocations; see tests/http1/test_connection_garbage.py)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from newapi.upstream import UpstreamClient
from newapi.upstream._connection import Connection
from tests.upstream.servers import Request, response, serve


@pytest.fixture
def no_cyclic_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _connections() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Connection)


async def test_a_closed_upstream_connection_leaves_no_cycle_behind(no_cyclic_collection: None) -> None:
    async def bye(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b"bye", ("Connection: close",)))
        await writer.drain()

    client = UpstreamClient()
    before = _connections()
    try:
        async with serve(bye) as server:
            for _ in range(5):
                response_ = await client.request("GET", server.url, [])
                assert await response_.read(100) == b"bye"
            del response_
            await asyncio.sleep(0.1)  # the client's side sees the last close on a later iteration
        assert _connections() == before
    finally:
        await client.aclose()
