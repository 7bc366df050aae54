"""Attacks on a real gateway (loopback only), with what each costs the gateway.

    python -m bench.attacks [--flood 2100] [--wait 40] [--only idle,stalled-relay,...]

Starts the mock upstream and ``newapi serve --workers 1`` on SQLite (provisioned like the load
bench), then for each attack: the worker's resident and peak memory before and during, the latency
of a ``GET /api/status`` and of a chat completion made on fresh connections while the attack holds,
and how long until the gateway has closed every attacking connection (up to ``--wait`` seconds).
The gateway runs with its default limits unless ``NEWAPI_*`` variables are set in the environment.
Method and figures: bench/README.md ("Attacks").
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli
import httpx
import zstandard

from bench.load import procs
from tests.support import floods

QUIET = {"CRITICAL_RATE_LIMIT_ENABLE": "false"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@dataclass
class Target:
    base: str
    host: str
    port: int
    key: str
    worker: int
    log: Path


@dataclass
class Row:
    attack: str
    rss_before_mb: float
    rss_during_mb: float
    peak_mb: float
    status_ms: str
    relay_ms: str
    closed: str
    note: str = ""


def _memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _timed(call: Callable[[], httpx.Response], expect: int = 200) -> str:
    started = time.monotonic()
    try:
        response = call()
    except httpx.HTTPError as exc:
        return f"fail ({type(exc).__name__} after {time.monotonic() - started:.1f} s)"
    elapsed = (time.monotonic() - started) * 1000
    return f"{elapsed:.0f}" if response.status_code == expect else f"{elapsed:.0f} ({response.status_code})"


def _probe(target: Target) -> tuple[str, str]:
    """A status call and a relay call, each on a fresh connection (5 s client timeout)."""
    with httpx.Client(base_url=target.base, timeout=5) as client:
        status = _timed(lambda: client.get("/api/status"))
    with httpx.Client(base_url=target.base, timeout=5) as client:
        relay = _timed(
            lambda: client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": target.key})
        )
    return status, relay


def _closed(socks: list[socket.socket], wait: float) -> str:
    after = floods.wait_closed(socks, wait, poll=0.5)
    if after is None:
        return f"> {wait:.0f} s ({len(socks) - floods.count_closed(socks)} open)"
    return f"{after:.1f} s"


def _flood(target: Target, name: str, socks: list[socket.socket], wait: float) -> Row:
    rss_before, _ = _memory(target.worker)
    try:
        time.sleep(1.0)
        rss_during, peak = _memory(target.worker)
        status, relay = _probe(target)
        closed = _closed(socks, wait)
        return Row(name, rss_before, rss_during, peak, status, relay, closed, f"{len(socks)} connections")
    finally:
        floods.close_all(socks)
        time.sleep(1.0)


def idle(target: Target, count: int, wait: float) -> Row:
    return _flood(target, "idle", floods.open_idle(target.host, target.port, count), wait)


def stalled_relay(target: Target, count: int, wait: float) -> Row:
    head = floods.stalled_post("/v1/chat/completions", headers={"Authorization": target.key})
    socks = floods.open_stalled(target.host, target.port, count, head, first_body=b'{"model":')
    return _flood(target, "stalled-relay", socks, wait)


def stalled_login(target: Target, count: int, wait: float) -> Row:
    head = floods.stalled_post("/api/user/login")
    socks = floods.open_stalled(target.host, target.port, count, head, first_body=b'{"username":')
    return _flood(target, "stalled-login", socks, wait)


def _bomb(encoding: str, expanded_mb: int) -> bytes:
    """``{"model":...,"x":"`` and ``expanded_mb`` MiB of zeros, compressed 16 MiB at a time."""
    zeros = bytes(16 * 1024 * 1024)
    head = b'{"model":"gpt-4o-mini","x":"'
    if encoding == "br":
        br = brotli.Compressor(quality=5)
        parts = [br.process(head)] + [br.process(zeros) for _ in range(expanded_mb // 16)]
        return b"".join([*parts, br.finish()])
    zstd = zstandard.ZstdCompressor(level=3).compressobj()
    parts = [zstd.compress(head)] + [zstd.compress(zeros) for _ in range(expanded_mb // 16)]
    return b"".join([*parts, zstd.flush()])


def bomb(target: Target, encoding: str, wait: float) -> Row:
    """1.4 GB of zeros, far past MAX_REQUEST_BODY_MB (128), sent while status is probed."""
    payload = _bomb(encoding, 1400)
    rss_before, _ = _memory(target.worker)
    result: list[str] = []

    def send() -> None:
        with httpx.Client(base_url=target.base, timeout=wait) as client:
            headers = {"Authorization": target.key, "Content-Encoding": encoding}
            result.append(
                _timed(lambda: client.post("/v1/chat/completions", content=payload, headers=headers), 413)
            )

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.05)
    status, relay = _probe(target)
    sender.join()
    rss_during, peak = _memory(target.worker)
    note = f"{len(payload)} B on the wire; answer {result[0]} ms (413 expected)"
    return Row(f"bomb-{encoding}", rss_before, rss_during, peak, status, relay, "-", note)


def _login(target: Target) -> dict[str, str]:
    """Root's session headers (procs.gateway's password)."""
    with httpx.Client(base_url=target.base, timeout=10) as client:
        answer = client.post("/api/user/login", json={"username": "root", "password": "benchpass123"})
        assert answer.json()["success"], answer.text
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return {"Cookie": cookie, "New-Api-User": "1"}


def disconnects(target: Target, count: int) -> Row:
    """Clients that send a request head and part of a body, then reset the connection."""
    session = _login(target)
    before = target.log.stat().st_size
    rss_before, _ = _memory(target.worker)
    heads = [
        floods.stalled_post("/api/user/register", length=1000),
        floods.stalled_post("/api/option/", headers=session, length=1000).replace(b"POST", b"PUT", 1),
        floods.stalled_post("/v1/chat/completions", headers={"Authorization": target.key}, length=1000),
    ]
    for i in range(count):
        sock = socket.create_connection((target.host, target.port))
        sock.sendall(heads[i % len(heads)] + b'{"username": "ro')
        time.sleep(0.002)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    time.sleep(1.0)
    rss_during, peak = _memory(target.worker)
    status, relay = _probe(target)
    with target.log.open("rb") as log:
        log.seek(before)
        text = log.read().decode(errors="replace")
    errors = len(re.findall(r" ERROR ", text))
    tracebacks = text.count("Traceback")
    note = f"{count} disconnects: {errors} ERROR lines, {tracebacks} tracebacks, {len(text)} B of log"
    return Row("disconnects", rss_before, rss_during, peak, status, relay, "-", note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attacks")
    parser.add_argument("--flood", type=int, default=2100, help="connections per flood")
    parser.add_argument(
        "--wait", type=float, default=40.0, help="seconds to wait for the gateway to close them"
    )
    parser.add_argument("--only", default="idle,stalled-relay,stalled-login,bomb-br,bomb-zstd,disconnects")
    args = parser.parse_args(argv)
    floods.raise_fd_limit(args.flood + 1024)
    attacks: dict[str, Callable[[Target], Row]] = {
        "idle": lambda t: idle(t, args.flood, args.wait),
        "stalled-relay": lambda t: stalled_relay(t, args.flood, args.wait),
        "stalled-login": lambda t: stalled_login(t, args.flood, args.wait),
        "bomb-br": lambda t: bomb(t, "br", args.wait),
        "bomb-zstd": lambda t: bomb(t, "zstd", args.wait),
        "disconnects": lambda t: disconnects(t, args.flood),
    }
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="newapi-attacks-") as tmp,
        procs.mock_upstream(2) as mock,
        # Login's per-IP critical limit would refuse most of a one-IP flood before its body is
        # read; an attacker with many addresses is not refused, so the bench turns it off.
        procs.gateway(mock, Path(tmp), ["gpt-4o-mini"], extra_env=QUIET) as (server, key),
    ):
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        workers = server.pids[1:] or server.pids
        target = Target(server.url, host, int(port), key, workers[-1], Path(tmp) / "gateway.log")
        for name in chosen:
            rows.append(attacks[name](target))
            print(_format(rows[-1]), file=sys.stderr, flush=True)
    print(
        f"{'attack':<14} {'RSS MB':>7} {'during':>7} {'peak':>7}  {'status ms':<24} {'relay ms':<24} closed"
    )
    for row in rows:
        print(_format(row))
    return 0


def _format(row: Row) -> str:
    return (
        f"{row.attack:<14} {row.rss_before_mb:7.1f} {row.rss_during_mb:7.1f} {row.peak_mb:7.1f}  "
        f"{row.status_ms:<24} {row.relay_ms:<24} {row.closed}  {row.note}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
