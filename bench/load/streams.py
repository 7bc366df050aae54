"""10,000 open streams held by one worker (issue 19): ``make bench-streams``.

    python -m bench.load.streams [--streams 10000] [--pieces 15] [--timeout 150]

The mock upstream sends one event per second (``latency-1s``), so each stream stays open about
``--pieces`` seconds; the streams are opened in batches within a few seconds, all through one
``newapi serve --workers 1`` on SQLite. Meanwhile another process sends plain (non-stream) chat
completions at 20/s and times them. Printed: streams completed, the most open at once, the worker's
RSS before and at that moment, memory per open stream, and the plain requests' p50/p99.

A proxy holds two descriptors per stream (the client's and the upstream's), so the worker needs
2 x streams + a few hundred; the harness raises the soft RLIMIT_NOFILE to the hard limit (children
inherit it) and, when the hard limit is lower, runs as many streams as fit and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds, rss_mb

_END = b"\r\n0\r\n\r\n"
_DONE = b"data: [DONE]"


class _Stream(asyncio.Protocol):
    """One streaming request; done when the chunked body ends, ok if it was a 200 with [DONE]."""

    def __init__(self, request: bytes, finished: asyncio.Future[bool]) -> None:
        self.request = request
        self.finished = finished
        self.head = b""
        self.tail = b""
        self.saw_done = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.head:
            self.head = data[:12]
        # Only the last bytes matter: the terminator and [DONE] may be split across reads.
        window = self.tail + data
        if not self.saw_done and _DONE in window:
            self.saw_done = True
        self.tail = window[-32:]
        if self.tail.endswith(_END) and not self.finished.done():
            self.finished.set_result(self.head.startswith(b"HTTP/1.1 200") and self.saw_done)
            assert self.transport is not None
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(False)


def _request(url: str, key: str, model: str) -> bytes:
    parts = urlsplit(url)
    body = _body(model, True)
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _hold(args: argparse.Namespace, url: str, key: str, worker: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = _request(url, key, f"gpt-4o-mini-chunks-{args.pieces}-latency-1s")
    results: list[asyncio.Future[bool]] = []

    async def open_one() -> None:
        finished: asyncio.Future[bool] = loop.create_future()
        results.append(finished)
        try:
            await loop.create_connection(lambda: _Stream(request, finished), host, port)
        except OSError:
            finished.set_result(False)

    started = time.monotonic()
    for start in range(0, args.streams, args.batch):
        await asyncio.gather(*(open_one() for _ in range(min(args.batch, args.streams - start))))
        await asyncio.sleep(0.1)
    opened = time.monotonic() - started
    peak_rss = rss_mb(worker)
    most_open = 0
    deadline = started + args.timeout
    while time.monotonic() < deadline:
        open_now = sum(1 for f in results if not f.done())
        if open_now > most_open:
            most_open, peak_rss = open_now, rss_mb(worker)
        elif open_now == most_open:
            peak_rss = max(peak_rss, rss_mb(worker))
        if not open_now:
            break
        await asyncio.sleep(0.5)
    completed = sum(1 for f in results if f.done() and f.result())
    return {
        "opened_in_s": opened,
        "most_open": most_open,
        "completed": completed,
        "rss_at_most_open_mb": peak_rss,
        "seconds": time.monotonic() - started,
    }


def _probe(url: str, key: str, seconds: float, out: multiprocessing.Queue[tuple[float, float, int]]) -> None:
    latency = loadgen.paced(
        url + "/v1/chat/completions", _body("gpt-4o-mini", False), key, rate=20, seconds=seconds
    )
    out.put((latency.p50_ms, latency.p99_ms, latency.errors))


def _descriptors(wanted: int) -> int:
    """Raise the soft descriptor limit to the hard one; the streams one worker can hold with it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, (limit - 300) // 2)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.streams")
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--pieces", type=int, default=15, help="content pieces, one a second")
    parser.add_argument("--batch", type=int, default=500, help="streams opened at once")
    parser.add_argument("--timeout", type=float, default=150.0, help="give up on streams after this")
    args = parser.parse_args()
    wanted = args.streams
    args.streams = _descriptors(wanted)
    if args.streams < wanted:
        print(
            f"ulimit -n hard limit {resource.getrlimit(resource.RLIMIT_NOFILE)[1]} fits {args.streams}"
            f" streams (two descriptors each in the worker), not {wanted}",
            file=sys.stderr,
        )
    models = ["gpt-4o-mini", f"gpt-4o-mini-chunks-{args.pieces}-latency-1s"]
    env = {"NEWAPI_MAX_CONNECTIONS": str(args.streams + 1000)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(mock, Path(tmp), models, extra_env=env, workers=1) as (server, key),
    ):
        worker = server.pids[1]
        # Warm the paths (and the upstream pool) so the baseline is a worker that has served.
        loadgen.wrk(
            server.url + "/v1/chat/completions", _body("gpt-4o-mini", False), key, connections=16, seconds=1
        )
        time.sleep(1)
        baseline = rss_mb(worker)
        cpu_before = cpu_seconds(server.pids)
        # The same plain requests straight to the mock, meanwhile: what the upstream (and this
        # shared machine) add by themselves.
        fork = multiprocessing.get_context("fork")
        queues: list[multiprocessing.Queue[tuple[float, float, int]]] = [fork.Queue(), fork.Queue()]
        probes = [
            fork.Process(target=_probe, args=(target.url, key, args.pieces + 8.0, queue))
            for target, queue in zip((server, mock), queues, strict=True)
        ]
        for probe in probes:
            probe.start()
        mock_cpu = cpu_seconds(mock.pids)
        import uvloop

        held = uvloop.run(_hold(args, server.url, key, worker))
        (p50, p99, probe_errors), (direct50, direct99, _) = (q.get(timeout=args.timeout) for q in queues)
        for probe in probes:
            probe.join()
        cpu = cpu_seconds(server.pids) - cpu_before
        mock_cpu = cpu_seconds(mock.pids) - mock_cpu
    per_stream_kb = (held["rss_at_most_open_mb"] - baseline) * 1024 / max(held["most_open"], 1)
    print(
        f"streams {args.streams}: completed {held['completed']:.0f},"
        f" most open at once {held['most_open']:.0f}"
        f" (all opened in {held['opened_in_s']:.1f} s, last done after {held['seconds']:.1f} s)\n"
        f"worker RSS {baseline:.1f} MB before, {held['rss_at_most_open_mb']:.1f} MB with them open:"
        f" {per_stream_kb:.1f} KB per open stream\n"
        f"plain chat requests during the run (20/s): p50 {p50:.1f} ms, p99 {p99:.1f} ms,"
        f" errors {probe_errors}; straight to the mock: p50 {direct50:.1f} ms, p99 {direct99:.1f} ms\n"
        f"gateway CPU {cpu:.1f} s in all, the mock's {mock_cpu:.1f} s"
    )
    return 0 if held["completed"] == args.streams and not probe_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
