"""A closed upstream connection is freed by reference counting, not left for the cyclic collector
(which the workers run only every few thousand net allocations; see
tests/http1/test_connection_garbage.py)."""

from __future__ import annotations

import asyncio

from newapi.upstream import UpstreamClient
from newapi.upstream._connection import Connection
from tests.conftest import instances
from tests.upstream.servers import Request, response, serve


async def test_a_closed_upstream_connection_leaves_no_cycle_behind(no_cyclic_collection: None) -> None:
    async def bye(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(response(200, b"bye", ("Connection: close",)))
        await writer.drain()

    client = UpstreamClient()
    before = instances(Connection)
    try:
        async with serve(bye) as server:
            for _ in range(5):
                response_ = await client.request("GET", server.url, [])
                assert await response_.read(100) == b"bye"
            del response_
            await asyncio.sleep(0.1)  # the client's side sees the last close on a later iteration
        assert instances(Connection) == before
    finally:
        await client.aclose()
