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
import statistics
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
        self.first_byte_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if not self.head:
            self.head = data[:12]
            self.first_byte_at = time.monotonic()
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
    streams: list[_Stream] = []

    def stream(finished: asyncio.Future[bool]) -> _Stream:
        streams.append(_Stream(request, finished))
        return streams[-1]

    async def open_one() -> None:
        finished: asyncio.Future[bool] = loop.create_future()
        results.append(finished)
        try:
            await loop.create_connection(lambda: stream(finished), host, port)
        except OSError:
            finished.set_result(False)

    started = time.monotonic()
    for start in range(0, args.streams, args.batch):
        await asyncio.gather(*(open_one() for _ in range(min(args.batch, args.streams - start))))
        await asyncio.sleep(0.1)
    opened = time.monotonic() - started
    peak_rss = rss_mb(worker)
    most_open = 0
    first_done = 0.0
    deadline = started + args.timeout
    while time.monotonic() < deadline:
        open_now = sum(1 for f in results if not f.done())
        if not first_done and open_now < len(results) - len(results) // 100:
            first_done = time.monotonic()  # the first streams (beyond 1 %) are ending: no longer all held
        if open_now > most_open:
            most_open, peak_rss = open_now, rss_mb(worker)
        elif open_now == most_open:
            peak_rss = max(peak_rss, rss_mb(worker))
        if not open_now:
            break
        await asyncio.sleep(0.5)
    completed = sum(1 for f in results if f.done() and f.result())
    # Every stream admitted: the last one's response had begun (its first bytes arrived).
    admitted = max((s.first_byte_at for s in streams if s.first_byte_at), default=started + opened)
    return {
        "started_at": started,
        "admitted_at": admitted,
        "first_done_at": first_done or time.monotonic(),
        "opened_in_s": opened,
        "most_open": most_open,
        "completed": completed,
        "rss_at_most_open_mb": peak_rss,
        "seconds": time.monotonic() - started,
    }


async def _timed(url: str, key: str, seconds: float) -> list[tuple[float, float]]:
    """Plain chat requests at 20/s on keep-alive connections: (monotonic start, ms or -1 for an error)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    body = _body("gpt-4o-mini", False)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    results: list[tuple[float, float]] = []

    async def one() -> None:
        start = time.monotonic()
        try:
            results.append((start, await loadgen._one(host, port, request, pool) * 1000))
        except Exception:
            results.append((start, -1.0))

    begin = time.monotonic()
    tasks = []
    for i in range(int(20 * seconds)):
        delay = begin + i / 20 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return results


def _probe(url: str, key: str, seconds: float, out: multiprocessing.Queue[list[tuple[float, float]]]) -> None:
    import uvloop

    out.put(uvloop.run(_timed(url, key, seconds)))


def _summary(results: list[tuple[float, float]], start: float, end: float) -> str:
    """p50/p99 (ms) and errors of the requests sent in [start, end) (monotonic seconds)."""
    inside = [ms for at, ms in results if start <= at < end]
    ok = sorted(ms for ms in inside if ms >= 0)
    if not ok:
        return f"none answered ({len(inside)} sent)"
    p99 = ok[min(len(ok) - 1, int(len(ok) * 0.99))]
    errors = len(inside) - len(ok)
    return f"p50 {statistics.median(ok):.1f} ms, p99 {p99:.1f} ms, max {ok[-1]:.1f} ms, errors {errors}"


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
        queues: list[multiprocessing.Queue[list[tuple[float, float]]]] = [fork.Queue(), fork.Queue()]
        probes = [
            fork.Process(target=_probe, args=(target.url, key, args.pieces + 8.0, queue))
            for target, queue in zip((server, mock), queues, strict=True)
        ]
        for probe in probes:
            probe.start()
        mock_cpu = cpu_seconds(mock.pids)
        import uvloop

        held = uvloop.run(_hold(args, server.url, key, worker))
        through, direct = (q.get(timeout=args.timeout) for q in queues)
        for probe in probes:
            probe.join()
        cpu = cpu_seconds(server.pids) - cpu_before
        mock_cpu = cpu_seconds(mock.pids) - mock_cpu
    # The probes' first second warms their connections; then the streams are opened and admitted
    # (a burst: until the last one's response has begun), then held (every stream open, one event
    # a second each) until the first ones end.
    phases = [
        ("whole run", held["started_at"] + 1, float("inf")),
        (
            f"while admitting ({held['admitted_at'] - held['started_at']:.1f} s)",
            held["started_at"] + 1,
            held["admitted_at"],
        ),
        (
            f"while all held ({held['first_done_at'] - held['admitted_at']:.1f} s)",
            held["admitted_at"],
            held["first_done_at"],
        ),
    ]
    probe_errors = sum(1 for _, ms in through if ms < 0)
    per_stream_kb = (held["rss_at_most_open_mb"] - baseline) * 1024 / max(held["most_open"], 1)
    print(
        f"streams {args.streams}: completed {held['completed']:.0f},"
        f" most open at once {held['most_open']:.0f}"
        f" (all opened in {held['opened_in_s']:.1f} s, last done after {held['seconds']:.1f} s)\n"
        f"worker RSS {baseline:.1f} MB before, {held['rss_at_most_open_mb']:.1f} MB with them open:"
        f" {per_stream_kb:.1f} KB per open stream\n"
        "plain chat requests at 20/s, through the gateway | straight to the mock:\n"
        + "".join(
            f"  {label:<34} {_summary(through, start, end)} | {_summary(direct, start, end)}\n"
            for label, start, end in phases
        )
        + f"gateway CPU {cpu:.1f} s in all, the mock's {mock_cpu:.1f} s"
    )
    return 0 if held["completed"] == args.streams and not probe_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
