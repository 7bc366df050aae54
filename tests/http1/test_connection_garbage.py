"""A closed connection is freed by reference counting, not left for the cyclic collector.

The workers collect generation 0 only every few thousand net allocations
(``newapi/core/collector.py``), so a closed connection that sits in a reference cycle (its
httptools parser calls back into its bound methods) waits there with its transport, task and
buffers: the soak's workers grew by the garbage of hundreds of connections before a collection
(bench/README.md, "Worker memory over a soak").
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from newapi.http1.connection import Connection
from newapi.http1.listener import Worker
from tests.conftest import instances


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_a_closed_connection_leaves_no_cycle_behind(no_cyclic_collection: None) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    worker = Worker(_ok, sock, max_connections=16, header_timeout=30.0, shutdown_timeout=1.0)
    worker._start_accepting()
    try:
        before = instances(Connection)
        for _ in range(5):
            reader, writer = await asyncio.open_connection(*sock.getsockname())
            writer.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
            assert (await reader.readuntil(b"ok")).startswith(b"HTTP/1.1 200")
            writer.close()
            await writer.wait_closed()
        for _ in range(100):  # the server's side sees each close on a later loop iteration
            if not worker.connections:
                break
            await asyncio.sleep(0.01)
        assert not worker.connections
        assert instances(Connection) == before
    finally:
        worker._stop_accepting()
        sock.close()
