"""RSS per open stream of newapi's HTTP/1.1 server alone (``newapi/http1``), no gateway.

    python -m bench.load.server_streams [--streams 8000] [--task]

A worker serves a bare ASGI app that reads the body, starts a chunked response, sends one event
and then awaits ``receive()`` for the disconnect, as the relay's disconnect watch does; a client
in this process opens ``--streams`` connections (500 at a time) and waits for every first event.
Printed: the worker's RSS before and with them open, per open stream. ``--task`` wraps that
``receive()`` in a coroutine and a task, as ``newapi/relay/watch.py`` had to while the server's
``receive()`` was a coroutine: the difference is what the plain future saves per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import resource
import socket
import time
from collections.abc import Awaitable
from typing import Any

from newapi.core.types import Receive, Send

_REQUEST = b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n\r\n{}"


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024


async def _awaited(pending: Awaitable[Any]) -> Any:
    return await pending


def _app(wrap_in_task: bool) -> Any:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True})
        pending = receive()
        if wrap_in_task:
            pending = asyncio.ensure_future(_awaited(pending))
        await pending

    return app


def _serve(sock: socket.socket, wrap_in_task: bool, out: multiprocessing.Queue[tuple[int, float]]) -> None:
    import uvloop

    from newapi.http1.listener import Worker

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    worker = Worker(_app(wrap_in_task), sock, max_connections=50_000, header_timeout=120, shutdown_timeout=1)

    async def report() -> None:
        await asyncio.sleep(1.0)
        gc.collect()
        while True:
            out.put((len(worker.connections), _rss_mb()))
            await asyncio.sleep(0.5)

    loop.create_task(report())
    loop.run_until_complete(worker.serve())


async def _open(port: int, count: int) -> list[asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    started = 0
    all_started = loop.create_future()

    class Stream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transport.write(_REQUEST)  # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            nonlocal started
            started += 1
            if started == count and not all_started.done():
                all_started.set_result(None)

    transports: list[asyncio.BaseTransport] = []
    for start in range(0, count, 500):
        batch = min(500, count - start)
        opened = await asyncio.gather(
            *(loop.create_connection(Stream, "127.0.0.1", port) for _ in range(batch))
        )
        transports += [transport for transport, _ in opened]
    await asyncio.wait_for(all_started, 120)
    return transports


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.server_streams")
    parser.add_argument("--streams", type=int, default=8000)
    parser.add_argument("--task", action="store_true", help="wrap the disconnect receive() in a task")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)
    fork = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[tuple[int, float]] = fork.Queue()
    server = fork.Process(target=_serve, args=(sock, args.task, out))
    server.start()
    _, before = out.get(timeout=30)
    import uvloop

    # Not uvloop.run: it closes the loop, and the client's connections with it, on return.
    loop = uvloop.new_event_loop()
    transports = loop.run_until_complete(_open(sock.getsockname()[1], args.streams))
    time.sleep(1.5)
    held, now = 0, before
    while held == 0 or not out.empty():  # the newest report (empty() alone can be stale)
        held, now = out.get(timeout=30)
    server.terminate()
    server.join()
    for transport in transports:
        transport.close()
    loop.close()
    mode = "receive() in a task" if args.task else "receive() a future"
    print(
        f"{mode}: {held} streams open, worker RSS {before:.1f} -> {now:.1f} MB:"
        f" {(now - before) * 1024 / max(held, 1):.2f} KB per open stream"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
