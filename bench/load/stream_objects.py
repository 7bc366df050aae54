"""What one open stream holds in the relay, counted in process (no Granian, no wrk).

    python -m bench.load.stream_objects [--streams 1000] [--pieces 30] [--top 25] [--lines 0]

The gateway's ASGI app on SQLite in this process, the mock upstream in its own sending one event
a second; ``--streams`` streams are opened at once with a server stand-in whose ``receive()`` hands
back futures, as Granian's does. When every stream has sent its first event the objects the
collector tracks are counted by type against before, and ``tracemalloc``'s traced memory
(everything Python allocated, bytes and strings included) likewise: per open stream, with the
stand-in's own share (its scope dict, closures and task) measured by a bare app holding the same
streams and shown beside it. A deterministic figure for A/B of the relay's per-stream state,
beside ``make bench-streams``' RSS, which this machine's other jobs move by several KB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.load import procs
from bench.load.__main__ import _body
from bench.load.inprocess_gateway import priced_gateway
from tests.support.provision import add_account

PATH = "/v1/chat/completions"
_PIECES = 30.0  # the bare app's stream length, seconds (set from --pieces)
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _census() -> tuple[Counter[str], Counter[str]]:
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    return counts, sizes


async def _hold(
    app: App, key: str, body: bytes, streams: int, lines: int = 0
) -> tuple[dict[str, float], int]:
    """Open ``streams`` streams; once all have begun, (per-stream figures, traced bytes per stream)."""
    loop = asyncio.get_running_loop()
    headers = [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    started = ended = 0
    all_started = loop.create_future()
    release = loop.create_future()

    async def one() -> None:
        nonlocal started
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 3000),
        }
        finished = loop.create_future()
        first = True

        def receive() -> asyncio.Future[dict[str, Any]]:
            nonlocal first
            if first:
                first = False
                done = loop.create_future()
                done.set_result({"type": "http.request", "body": body, "more_body": False})
                return done
            return finished

        def send(message: dict[str, Any]) -> asyncio.Future[None]:
            nonlocal started, ended
            if message["type"] == "http.response.start":
                started += 1
                if started == streams and not all_started.done():
                    all_started.set_result(None)
            elif not message.get("more_body", False) and not finished.done():
                ended += 1
                finished.set_result({"type": "http.disconnect"})
            done = loop.create_future()
            done.set_result(None)
            return done

        await app(scope, receive, send)

    gc.collect()
    counts0, sizes0 = _census()
    traced0 = tracemalloc.get_traced_memory()[0]
    before = tracemalloc.take_snapshot() if lines else None
    tasks = [asyncio.ensure_future(one()) for _ in range(streams)]
    await asyncio.wait_for(all_started, 120)
    await asyncio.sleep(0.2)
    if ended:
        # A machine too busy to open them all within a stream's length: the count is not per stream.
        raise RuntimeError(f"{ended} of {streams} streams ended before all had begun; use more --pieces")
    gc.collect()
    counts1, sizes1 = _census()
    traced1 = tracemalloc.get_traced_memory()[0]
    if before is not None:
        print(f"where the memory held per stream was allocated (top {lines} lines):")
        for stat in tracemalloc.take_snapshot().compare_to(before, "lineno")[:lines]:
            frame = stat.traceback[0]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            print(f"  {where:<40} {stat.count_diff / streams:5.1f} blocks {stat.size_diff / streams:7.0f} B")
    figures = {name: (sizes1[name] - sizes0[name]) / streams for name in sizes1}
    figures |= {f"#{name}": (counts1[name] - counts0[name]) / streams for name in counts1}
    release.set_result(None)
    await asyncio.gather(*tasks)
    return figures, (traced1 - traced0) // streams


async def _bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The stand-in's own share: read the body, answer a stream, wait for the last event."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.sleep(_PIECES)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _report(label: str, figures: dict[str, float], traced: int, top: int) -> None:
    tracked = sum(v for k, v in figures.items() if not k.startswith("#"))
    print(f"{label}: traced {traced / 1024:.2f} KB per stream, tracked objects {tracked / 1024:.2f} KB")
    rows = sorted(((v, k) for k, v in figures.items() if not k.startswith("#")), reverse=True)[:top]
    for size, name in rows:
        print(f"  {name:<40} {figures.get('#' + name, 0):5.1f} objects {size:7.0f} B")


async def _run(mock_url: str, args: argparse.Namespace, workdir: Path) -> None:
    model = f"gpt-4o-mini-chunks-{args.pieces}-latency-1s"
    async with priced_gateway(mock_url, [model], workdir) as app:
        account = await add_account(app, quota=10**12)
        body = _body(model, True)
        await _hold(app, account.bare, body, 50)  # warm-up: pools, caches, first-use imports
        tracemalloc.start()
        bare, bare_traced = await _hold(_bare, account.bare, body, args.streams)
        figures, traced = await _hold(app, account.bare, body, args.streams, args.lines)
        tracemalloc.stop()
    _report("stand-in alone (bare app)", bare, bare_traced, args.top)
    _report("gateway (stand-in included)", figures, traced, args.top)
    print(f"gateway's own: traced {(traced - bare_traced) / 1024:.2f} KB per stream")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.stream_objects")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--pieces", type=int, default=30, help="events a stream, one a second")
    parser.add_argument("--top", type=int, default=25, help="types shown")
    parser.add_argument("--lines", type=int, default=0, help="also the top allocating source lines")
    args = parser.parse_args()
    global _PIECES
    _PIECES = float(args.pieces)
    with procs.mock_upstream(chunks=20) as mock, tempfile.TemporaryDirectory() as tmp:
        uvloop.run(_run(mock.url, args, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
