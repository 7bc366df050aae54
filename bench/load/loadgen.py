"""Driving load: wrk for throughput at a fixed concurrency, a paced client for latency at a fixed rate."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import procs

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


@dataclass
class Throughput:
    requests: int
    seconds: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    url: str,
    body: bytes,
    key: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    cores: Iterable[int] | None = None,
) -> Throughput:
    """Run wrk, on ``cores`` only if given (``taskset``, which execs wrk: its CPU is still this
    process's waited child's); the caller reads /proc around the call for the server's CPU."""
    # taskset rather than a preexec_fn: the callers run a sampler thread while wrk starts.
    pinned = (
        [] if cores is None else [procs.ensure_tool("taskset", "util-linux"), "-c", ",".join(map(str, cores))]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=json.dumps(body.decode()), key=key))
    started = time.monotonic()
    out = subprocess.run(
        [
            *pinned,
            procs.ensure_wrk(),
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "-s",
            script.name,
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed = time.monotonic() - started
    Path(script.name).unlink(missing_ok=True)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    duration = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))  # type: ignore[union-attr]
    unit = re.search(r"requests in [\d.]+(m?s)", out).group(1)  # type: ignore[union-attr]
    seconds_run = duration / 1000 if unit == "ms" else duration
    return Throughput(requests, seconds_run or elapsed, errors)


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    count: int
    errors: int


async def _one(
    host: str,
    port: int,
    request: bytes,
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]],
) -> float:
    try:
        reader, writer = pool.get_nowait()
    except asyncio.QueueEmpty:
        reader, writer = await asyncio.open_connection(host, port)
    start = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        length = int(re.search(rb"content-length: (\d+)", lowered).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
    elapsed = time.perf_counter() - start
    pool.put_nowait((reader, writer))
    if status != 200:
        raise RuntimeError(f"status {status}")
    return elapsed


async def _paced(url: str, body: bytes, key: str, rate: float, seconds: float) -> Latency:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0
    tasks: list[asyncio.Task[float]] = []
    total = int(rate * seconds)
    begin = time.perf_counter()
    for i in range(total):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(host, port, request, pool)))
    for task in tasks:
        try:
            latencies.append(await task)
        except Exception:
            errors += 1
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    # The first second warms connections and caches; leave it out.
    steady = latencies[int(rate) :] or latencies
    steady.sort()
    p99 = steady[min(len(steady) - 1, int(len(steady) * 0.99))]
    return Latency(statistics.median(steady) * 1000, p99 * 1000, len(steady), errors)


def paced(url: str, body: bytes, key: str, *, rate: float, seconds: float) -> Latency:
    try:
        import uvloop

        return uvloop.run(_paced(url, body, key, rate, seconds))
    except ImportError:
        return asyncio.run(_paced(url, body, key, rate, seconds))
