"""Issue 19's table: newapi as ``make run`` starts it (two workers, SQLite) beside the nginx floor.

    python -m bench.load.table [--seconds 5] [--rate 200] [--connections 64] [--embedded-only]

One run, about three and a quarter minutes: the mock upstream, nginx ``proxy_pass`` in front of it
(the floor), the gateway with two workers, then for the 2w/1w column one- and two-worker gateways in
front of nginx answering the mock's completion itself (``bench.load.scaling``; its notes add, as
an extra figure, 2w/1w against one worker with its whole load, gateway, nginx and wrk, pinned to
one core); then the same two-worker gateway on PostgreSQL + Redis (``SQL_DSN`` a throwaway
database on 127.0.0.1:5432, ``REDIS_CONN_STRING`` 127.0.0.1:6379 under a key prefix of its own),
unless ``--embedded-only`` or either service does not answer. Every figure of a row comes from
the same run, so the ratios to the floor are what to compare between runs (the machine is
shared; absolute figures move by a quarter). Method: bench/README.md, "Issue 19's table".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from bench.load import loadgen, per_event, procs, scaling
from bench.load.__main__ import _body
from bench.load.ledger import _drop_prefix, _throwaway_postgres
from bench.load.measure import cpu_seconds, peak_rss_mb, rss_mb, wait_idle

ROOT = Path(__file__).resolve().parents[2]

CHAT = "gpt-4o-mini"
STREAM20, STREAM200 = per_event.STREAM20, per_event.STREAM200
#: The longest wait for a gateway to go idle before its steady-rate window (seconds).
IDLE_TIMEOUT = 30.0
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Figures:
    proxy: str
    chat_us: float = 0.0
    stream20_us: float = 0.0
    stream200_us: float = 0.0
    steady_us: float = 0.0
    p50_ms: float = 0.0
    peak_tree_mb: float = 0.0
    idle_worker_mb: float = float("nan")
    supervisor_mb: float = float("nan")
    per_event_us: float = 0.0  # median over alternated rounds (bench.load.per_event)
    per_event_spread: str = ""
    chat_rps: float = 0.0
    two_over_one: float = float("nan")  # req/s, against the static upstream (bench.load.scaling)
    two_over_one_cpu: float = float("nan")  # req per gateway CPU-second, the same runs
    # two workers' req/s over one's with its gateway, nginx and wrk all on one core (the notes)
    two_over_one_pinned: float = float("nan")
    errors: int = 0
    notes: list[str] = field(default_factory=list)
    steady_split: str = ""  # each process's share of the tree's CPU in the steady window


def _closed_loop(
    server: procs.Server, key: str, model: str, stream: bool, args: argparse.Namespace
) -> tuple[float, float, int]:
    """CPU µs per request of the server's process tree at ``--connections`` (closed loop), req/s, errors."""
    url = server.url + "/v1/chat/completions"
    body = _body(model, stream)
    loadgen.wrk(url, body, key, connections=args.connections, seconds=1)  # warm-up
    before = cpu_seconds(server.pids)
    result = loadgen.wrk(url, body, key, connections=args.connections, seconds=args.seconds)
    cpu = cpu_seconds(server.pids) - before
    return cpu / max(result.requests, 1) * 1e6, result.rps, result.errors


def quiesce(
    server: procs.Server,
    label: str,
    rate: float,
    backlog: str = "",
    redis_url: str = REDIS_URL,
    timeout: float = IDLE_TIMEOUT,
) -> str:
    """Wait until the server's process tree is idle before a steady-rate window, so that the
    work of the runs before it is not charged to that window's requests: after the closed loops
    a PostgreSQL + Redis gateway's flusher writes their debits for seconds (``backlog``: the
    ledger's backlog counter in Redis, waited down to 0 as well; the flusher mostly waits on
    PostgreSQL then, so the tree's CPU alone does not show it). The same wait for every row;
    returns what it waited (printed, and kept in the row's notes)."""
    client = redis.Redis.from_url(redis_url) if backlog else None

    def written() -> bool:
        return client is None or int(client.get(backlog) or 0) == 0

    try:
        waited, busy = wait_idle(server.pids, timeout=timeout, done=written)
    finally:
        if client is not None:
            client.close()
    cut = " (timed out)" if waited >= timeout else ""
    what = "idle, ledger backlog 0," if backlog else "idle"
    note = f"{label}: {waited:.1f} s until {what} before {rate:.0f}/s ({busy * 100:.0f}% of a core{cut})"
    print("  " + note, file=sys.stderr, flush=True)
    return note


def _steady(server: procs.Server, key: str, args: argparse.Namespace) -> tuple[float, float, int]:
    """CPU µs per request and p50 ms of chat requests sent at a steady ``--rate``."""
    url = server.url + "/v1/chat/completions"
    before = cpu_seconds(server.pids)
    latency = loadgen.paced(url, _body(CHAT, False), key, rate=args.rate, seconds=args.latency_seconds)
    cpu = cpu_seconds(server.pids) - before
    sent = int(args.rate * args.latency_seconds)
    return cpu / max(sent, 1) * 1e6, latency.p50_ms, latency.errors


def measure(
    server: procs.Server, key: str, args: argparse.Namespace, figures: Figures, backlog: str = ""
) -> None:
    """The row's figures; ``backlog``: the Redis ledger's backlog key (the pg+redis row)."""
    figures.chat_us, figures.chat_rps, errors = _closed_loop(server, key, CHAT, False, args)
    figures.errors += errors
    streams = per_event.measure(server, key, args.event_rounds, args.seconds, args.connections)
    figures.stream20_us = statistics.median(streams.stream20_us)
    figures.stream200_us = statistics.median(streams.stream200_us)
    figures.per_event_us, figures.per_event_spread = streams.us, streams.spread()
    figures.errors += streams.errors
    figures.notes.append(quiesce(server, figures.proxy, args.rate, backlog))
    before = [cpu_seconds([pid]) for pid in server.pids]
    figures.steady_us, figures.p50_ms, errors = _steady(server, key, args)
    figures.errors += errors
    figures.steady_split = _shares(server.pids, before)
    figures.peak_tree_mb = sum(peak_rss_mb(pid) for pid in server.pids)


def _shares(pids: list[int], before: list[float]) -> str:
    """Each process's share of the tree's CPU since ``before`` (its CPU seconds then): whether a
    steady window's requests all went to one worker or to both (the paced client's connections
    land on the workers by the kernel's hash), which moves the CPU per request."""
    spent = [cpu_seconds([pid]) - b for pid, b in zip(pids, before, strict=True)]
    total = sum(spent) or 1.0
    return " / ".join(f"{s / total:.0%}" for s in spent)


HEAD = [
    "proxy",
    "chat µs",
    "×floor",
    "stream20 µs",
    "×floor",
    "200/s µs",
    "×floor",
    "+p50 ms",
    "peak MB",
    "idle worker MB",
    "supervisor MB",
    "µs/event",
    "2w/1w",
    "2w/1w per CPU-s",
    "chat req/s",
    "errors",
]


def _cells(f: Figures, floor: Figures, direct_p50: float) -> list[str]:
    def ratio(value: float, base: float) -> str:
        return f"{value / base:.1f}×" if f is not floor and base else ""

    def num(value: float, spec: str) -> str:
        return "-" if value != value else format(value, spec)

    return [
        f.proxy,
        f"{f.chat_us:.0f}",
        ratio(f.chat_us, floor.chat_us),
        f"{f.stream20_us:.0f}",
        ratio(f.stream20_us, floor.stream20_us),
        f"{f.steady_us:.0f}",
        ratio(f.steady_us, floor.steady_us),
        f"{f.p50_ms - direct_p50:+.2f}",
        f"{f.peak_tree_mb:.0f}",
        num(f.idle_worker_mb, ".0f"),
        num(f.supervisor_mb, ".0f"),
        f"{f.per_event_us:.2f}",
        num(f.two_over_one, ".2f"),
        num(f.two_over_one_cpu, ".2f"),
        f"{f.chat_rps:.0f}",
        str(f.errors),
    ]


def table(rows: list[Figures], direct_p50: float) -> str:
    """The rows as a Markdown table, the floor first."""
    cells = [HEAD, *(_cells(f, rows[0], direct_p50) for f in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEAD))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    return "\n".join(lines)


def _worker_pids(server: procs.Server) -> list[int]:
    return server.pids[1:]


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _server_row(
    mock: procs.Server, workdir: Path, models: list[str], args: argparse.Namespace
) -> Figures | None:
    """The two-worker gateway on PostgreSQL + Redis, as a deployment with a server database runs it."""
    if not (_answers(5432) and _answers(6379)) or shutil.which("psql") is None:
        print("  PostgreSQL, psql or Redis missing: no server-database row", file=sys.stderr)
        return None
    figures = Figures("newapi pg+redis")
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    with _throwaway_postgres() as dsn:
        env = {
            "SQL_DSN": dsn,
            "REDIS_CONN_STRING": REDIS_URL,
            "NEWAPI_REDIS_PREFIX": prefix,
            "CRYPTO_SECRET": "bench-crypto-secret-0123456789",
        }
        try:
            with procs.gateway(mock, workdir, models, extra_env=env, workers=args.workers) as (server, key):
                figures.supervisor_mb = rss_mb(server.pids[0])
                figures.idle_worker_mb = max(rss_mb(pid) for pid in _worker_pids(server))
                measure(server, key, args, figures, backlog=prefix + "ledger:backlog")
        finally:
            _drop_prefix(prefix)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.table")
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk run per closed-loop figure")
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="paced run at --rate")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="the gateway's workers (make run: 2 here)")
    parser.add_argument("--event-rounds", type=int, default=3, help="alternated stream20/stream200 rounds")
    parser.add_argument("--scale-rounds", type=int, default=3, help="alternated one/two-worker rounds")
    parser.add_argument("--scale-seconds", type=float, default=4.0, help="wrk run per worker count and round")
    parser.add_argument(
        "--embedded-only", action="store_true", help="no PostgreSQL + Redis row (SQLite only)"
    )
    args = parser.parse_args()
    started = time.time()
    models = [CHAT, STREAM20, STREAM200]
    with tempfile.TemporaryDirectory() as tmp, procs.mock_upstream(chunks=20) as mock:
        workdir = Path(tmp)
        direct = loadgen.paced(
            mock.url + "/v1/chat/completions",
            _body(CHAT, False),
            "x",
            rate=args.rate,
            seconds=args.latency_seconds,
        )
        nginx = Figures("nginx")
        with procs.nginx_floor(mock, workdir) as server:
            measure(server, "x", args, nginx)
        print("  measured nginx", file=sys.stderr, flush=True)
        gateway = Figures("newapi")
        with procs.gateway(mock, workdir / "two", models, workers=args.workers) as (server, key):
            gateway.supervisor_mb = rss_mb(server.pids[0])
            gateway.idle_worker_mb = max(rss_mb(pid) for pid in _worker_pids(server))
            measure(server, key, args, gateway)
        print("  measured newapi", file=sys.stderr, flush=True)
        scale = scaling.measure(
            mock, workdir / "scale", args.scale_rounds, args.scale_seconds, args.connections
        )
        gateway.two_over_one, gateway.two_over_one_cpu = scale.ratio, scale.cpu_ratio
        gateway.two_over_one_pinned = scale.pinned_ratio
        gateway.errors += sum(run.errors for run in scale.one + scale.two + scale.pinned)
        print("  measured newapi with one and two workers, static upstream", file=sys.stderr, flush=True)
        rows = [nginx, gateway]
        server_row = None if args.embedded_only else _server_row(mock, workdir / "pg", models, args)
        if server_row is not None:
            print("  measured newapi on PostgreSQL + Redis", file=sys.stderr, flush=True)
            rows.append(server_row)
    text = table(rows, direct.p50_ms)
    print(text)
    if server_row is not None:
        print(
            f"(PostgreSQL + Redis over the embedded row: chat {server_row.chat_us / gateway.chat_us:.2f},"
            f" stream20 {server_row.stream20_us / gateway.stream20_us:.2f},"
            f" 200/s {server_row.steady_us / gateway.steady_us:.2f}; its 2w/1w is not measured)"
        )
    spreads = ", ".join(f"{r.proxy} {r.per_event_spread}" for r in rows)
    print(f"(µs/event: median of {args.event_rounds} alternated rounds; over rounds {spreads})")
    print(
        "(2w/1w, against nginx answering the mock's completion with return 200, wrk -t1: "
        + scale.summary()
        + ")"
    )
    print("(idle before each steady window: " + "; ".join(n for r in rows for n in r.notes) + ")")
    print(
        f"(CPU share by process in the {args.rate:.0f}/s window, the parent first, then its children: "
        + "; ".join(f"{r.proxy} {r.steady_split}" for r in rows if r.steady_split)
        + ")"
    )
    print(
        f"(c={args.connections} closed loop {args.seconds:.0f} s each; {args.rate:.0f} req/s for"
        f" {args.latency_seconds:.0f} s; +p50 over the mock direct {direct.p50_ms:.2f} ms;"
        f" {time.time() - started:.0f} s in all)"
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    payload = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "settings": vars(args),
        "direct_p50_ms": direct.p50_ms,
        "rows": [asdict(r) for r in rows],
        "scaling": asdict(scale),
        "table": text,
    }
    (results / "table.json").write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
