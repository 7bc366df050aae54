"""10,000 open streams held by one worker (issue 19): ``make bench-streams``.

    python -m bench.load.streams [--streams 10000] [--pieces 15] [--timeout 150]

The mock upstream sends one event per second (``latency-1s``), so each stream stays open about
``--pieces`` seconds; the streams are opened in batches within a few seconds, all through one
``newapi serve --workers 1`` on SQLite. Meanwhile other processes send plain (non-stream) chat
completions at 20/s each and time them, from when each is due (a request that finds its probe's 32
keep-alive connections busy opens one, and that connect counts): through the gateway to the mock
serving the streams (issue 19's figure) and straight to it; and the split, through the gateway to a
second mock that serves no stream (the gateway's own share) and straight to that one. The probes
start before the streams and their figures count from the first stream on. Printed: streams
completed, the most open at once, the worker's RSS before and at that moment, memory per open
stream, the plain requests' p50/p99 per phase (whole run, admitting, all held) and the slowest of
them with when they were sent, and the worker's CPU while admitting.

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
import threading
import time
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds, rss_mb

_END = b"\r\n0\r\n\r\n"
# The split probe's model: served by a second channel on a second mock that carries no stream.
_SPLIT = "gpt-4o"
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


async def _timed(url: str, key: str, model: str, begin: float, seconds: float) -> list[tuple[float, float]]:
    """Plain chat requests at 20/s from ``begin`` (monotonic) on keep-alive connections: (monotonic
    start, ms or -1 for an error).

    The pool's connections are opened before ``begin``; a request that
    finds none free opens one, and its time counts from when it was due, connect included (a
    connection waiting in the server's backlog is part of the wait)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    body = _body(model, False)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    results: list[tuple[float, float]] = []

    async def one(record: bool) -> None:
        start = time.monotonic()
        try:
            await loadgen._one(host, port, request, pool)
            ms = (time.monotonic() - start) * 1000
        except Exception:
            ms = -1.0
        if record:
            results.append((start, ms))

    # Warm-up: 32 requests at once, twice, leave 32 open connections in the pool (1.6 s of requests
    # at 20/s; more in flight at once open more, and those wait in the backlog with the streams).
    for _ in range(2):
        await asyncio.gather(*(one(False) for _ in range(32)))
    await asyncio.sleep(max(0.0, begin - time.monotonic()))
    tasks = []
    for i in range(int(20 * seconds)):
        delay = begin + i / 20 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(True)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return results


def _probe(
    url: str,
    key: str,
    model: str,
    begin: float,
    seconds: float,
    out: multiprocessing.Queue[list[tuple[float, float]]],
) -> None:
    import uvloop

    out.put(uvloop.run(_timed(url, key, model, begin, seconds)))


def _summary(results: list[tuple[float, float]], start: float, end: float) -> str:
    """p50/p99 (ms) and errors of the requests sent in [start, end) (monotonic seconds)."""
    inside = [ms for at, ms in results if start <= at < end]
    ok = sorted(ms for ms in inside if ms >= 0)
    if not ok:
        return f"none answered ({len(inside)} sent)"
    p99 = ok[min(len(ok) - 1, int(len(ok) * 0.99))]
    errors = len(inside) - len(ok)
    return f"p50 {statistics.median(ok):.1f} ms, p99 {p99:.1f} ms, max {ok[-1]:.1f} ms, errors {errors}"


def _slowest(results: list[tuple[float, float]], start: float, count: int = 6) -> str:
    """The ``count`` slowest answered requests sent from ``start`` on: when they were sent (seconds
    after ``start``) and how long they took, so a whole-run p99 can be told to come from the
    admission burst or from the streams' ends (they end together, as they were opened)."""
    slowest = sorted(((ms, at) for at, ms in results if at >= start and ms >= 0), reverse=True)[:count]
    return ", ".join(f"+{at - start:.1f} s {ms:.0f} ms" for ms, at in slowest)


def _sample_cpu(pid: int, samples: list[tuple[float, float]], done: threading.Event) -> None:
    """(monotonic, CPU seconds of ``pid``) every 0.1 s until ``done``: the worker's CPU per phase."""
    while not done.wait(0.1):
        samples.append((time.monotonic(), cpu_seconds([pid])))


def _cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    inside = [cpu for at, cpu in samples if start <= at <= end]
    return inside[-1] - inside[0] if len(inside) > 1 else 0.0


def _second_channel(base: str, upstream: str) -> None:
    """A channel for :data:`_SPLIT` on ``upstream`` (the gateway already has the streams' channel)."""
    password = "benchpass123"  # procs.gateway's root
    _, cookie = procs._call(base, "POST", "/api/user/login", {"username": "root", "password": password})
    channel = {"type": 1, "key": "sk-bench", "name": "quiet mock", "base_url": upstream, "models": _SPLIT}
    procs._call(base, "POST", "/api/channel/", {"mode": "single", "channel": channel}, cookie)
    time.sleep(0.5)  # the worker's channel cache hears of it


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
    parser.add_argument(
        "--after", type=float, default=3.0, help="the worker's RSS this long after the last stream ended"
    )
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
        procs.mock_upstream(chunks=20) as quiet,
        procs.gateway(mock, Path(tmp), models, extra_env=env, ratios={_SPLIT: 0.075}, workers=1) as (
            server,
            key,
        ),
    ):
        _second_channel(server.url, quiet.url)
        worker = server.pids[1]
        # Warm the paths (and the upstream pool) so the baseline is a worker that has served.
        for model in ("gpt-4o-mini", _SPLIT):
            loadgen.wrk(
                server.url + "/v1/chat/completions", _body(model, False), key, connections=16, seconds=1
            )
        time.sleep(1)
        baseline = rss_mb(worker)
        cpu_before = cpu_seconds(server.pids)
        # Four probes from one moment on, each its own process: what the issue asks (through the
        # gateway to the mock that serves the streams), the same straight to that mock (what the
        # upstream and this shared machine add by themselves), and the split: through the gateway
        # to a second, otherwise idle mock (the gateway's own share), and straight to that one.
        fork = multiprocessing.get_context("fork")
        begin = time.monotonic() + 2.0
        targets = [
            (server.url, "gpt-4o-mini"),
            (mock.url, "gpt-4o-mini"),
            (server.url, _SPLIT),
            (quiet.url, _SPLIT),
        ]
        queues: list[multiprocessing.Queue[list[tuple[float, float]]]] = [fork.Queue() for _ in targets]
        probes = [
            fork.Process(target=_probe, args=(url, key, model, begin, args.pieces + 8.0, queue))
            for (url, model), queue in zip(targets, queues, strict=True)
        ]
        for probe in probes:
            probe.start()
        # The probes' connections are open and their first requests answered before the streams begin.
        time.sleep(max(0.0, begin + 0.5 - time.monotonic()))
        mock_cpu = cpu_seconds(mock.pids)
        samples: list[tuple[float, float]] = []
        sampling = threading.Event()
        sampler = threading.Thread(target=_sample_cpu, args=(worker, samples, sampling), daemon=True)
        sampler.start()
        import uvloop

        held = uvloop.run(_hold(args, server.url, key, worker))
        # What the streams held is freed once they end (reference counting; the cyclic collector
        # only for what sits in cycles): the worker's RSS a moment later, against before.
        time.sleep(args.after)
        rss_after = rss_mb(worker)
        sampling.set()
        sampler.join()
        through, direct, split, quiet_direct = (q.get(timeout=args.timeout) for q in queues)
        for probe in probes:
            probe.join()
        cpu = cpu_seconds(server.pids) - cpu_before
        mock_cpu = cpu_seconds(mock.pids) - mock_cpu
    # The streams are opened and admitted (a burst: until the last one's response has begun), then
    # held (every stream open, one event a second each) until the first ones end.
    phases = [
        ("whole run", held["started_at"], float("inf")),
        (
            f"while admitting ({held['admitted_at'] - held['started_at']:.1f} s)",
            held["started_at"],
            held["admitted_at"],
        ),
        (
            f"while all held ({held['first_done_at'] - held['admitted_at']:.1f} s)",
            held["admitted_at"],
            held["first_done_at"],
        ),
    ]
    admitting_cpu = _cpu_between(samples, held["started_at"], held["admitted_at"])
    probe_errors = sum(1 for results in (through, split) for _, ms in results if ms < 0)
    per_stream_kb = (held["rss_at_most_open_mb"] - baseline) * 1024 / max(held["most_open"], 1)
    print(
        f"streams {args.streams}: completed {held['completed']:.0f},"
        f" most open at once {held['most_open']:.0f}"
        f" (all opened in {held['opened_in_s']:.1f} s, last done after {held['seconds']:.1f} s)\n"
        f"worker RSS {baseline:.1f} MB before, {held['rss_at_most_open_mb']:.1f} MB with them open:"
        f" {per_stream_kb:.1f} KB per open stream; {rss_after:.1f} MB {args.after:.0f} s after the last"
        " ended\n"
        "plain chat requests at 20/s, through the gateway | straight to the mock (issue 19's figure):\n"
        + "".join(
            f"  {label:<34} {_summary(through, start, end)} | {_summary(direct, start, end)}\n"
            for label, start, end in phases
        )
        + "the split: the same through the gateway to a second mock that serves no stream | straight to it:\n"
        + "".join(
            f"  {label:<34} {_summary(split, start, end)} | {_summary(quiet_direct, start, end)}\n"
            for label, start, end in phases
        )
        + f"slowest through the gateway (issue 19's figure): {_slowest(through, held['started_at'])}\n"
        f"slowest in the split: {_slowest(split, held['started_at'])}\n"
        + f"gateway CPU {cpu:.1f} s in all, the mock's {mock_cpu:.1f} s; the worker's while admitting"
        f" {admitting_cpu:.2f} s ({admitting_cpu * 1000 / max(held['most_open'], 1):.2f} ms a stream)"
    )
    return 0 if held["completed"] == args.streams and not probe_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
