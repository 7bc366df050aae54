"""A worker's memory on SQLite and on PostgreSQL + Redis, as issue 19's table sets them up.

    python -m bench.load.worker_memory [--backend sqlite|pgredis|both] [--rounds 2] [--workers 2]
                                       [--seconds 5] [--connections 64] [--smaps]

Each round starts the gateway (``bench.load.procs.gateway``, the table's three models; for
``pgredis`` a throwaway PostgreSQL database and Redis key prefix, dropped afterwards, as
``bench.load.table`` does), reads every worker's RSS (anonymous and file-backed, from
``/proc/<pid>/smaps_rollup``) once provisioned, runs ``wrk`` for ``--seconds`` at
``--connections`` on chat and then on stream20, and reads each process's VmHWM: the idle worker
(the larger one), the largest worker peak, the supervisor, the tree's peak (sum of VmHWM, the
table's "peak"). With both backends the rounds alternate (sqlite, pgredis, sqlite, ...).
On ``pgredis`` it also waits for the Redis ledger's backlog to drain after the load: the
settlements left when ``wrk`` ended and the seconds until the flusher had written them (its batch
size is what bounds the flushing worker's peak). ``--smaps`` also prints the idle worker's largest
mappings (RSS by mapping name).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import redis

from bench.load import loadgen, per_event, procs
from bench.load.__main__ import _body
from bench.load.ledger import _drop_prefix, _throwaway_postgres
from bench.load.measure import peak_rss_mb, rss_mb
from bench.load.table import CHAT, REDIS_URL

MODELS = [CHAT, per_event.STREAM20, per_event.STREAM200]


def rollup(pid: int) -> dict[str, float]:
    """``smaps_rollup``'s Rss, Anonymous and the file-backed rest, MB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            fields[name] = int(parts[0]) / 1024
    return {"rss": fields["Rss"], "anon": fields["Anonymous"], "file": fields["Rss"] - fields["Anonymous"]}


def mappings(pid: int, top: int = 12) -> list[tuple[str, float]]:
    """RSS by mapping name (``[anon]`` for unnamed mappings), MB, largest first."""
    sizes: dict[str, float] = defaultdict(float)
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 else "[anon]"
        elif head[0] == "Rss:":
            sizes[name] += int(head[1]) / 1024
    return sorted(sizes.items(), key=lambda item: -item[1])[:top]


def _drain(prefix: str, timeout: float = 60.0) -> tuple[int, float]:
    """The ledger's backlog now and the seconds until it is 0."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        left = int(client.get(prefix + "ledger:backlog") or 0)
        started = time.monotonic()
        while int(client.get(prefix + "ledger:backlog") or 0) > 0 and time.monotonic() - started < timeout:
            time.sleep(0.05)
        return left, time.monotonic() - started
    finally:
        client.close()


@contextlib.contextmanager
def _backend(backend: str) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        yield {}
        return
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    with _throwaway_postgres() as dsn:
        try:
            yield {
                "SQL_DSN": dsn,
                "REDIS_CONN_STRING": REDIS_URL,
                "NEWAPI_REDIS_PREFIX": prefix,
                "CRYPTO_SECRET": "bench-crypto-secret-0123456789",
            }
        finally:
            _drop_prefix(prefix)


def one_round(mock: procs.Server, workdir: Path, backend: str, args: argparse.Namespace) -> dict[str, float]:
    with (
        _backend(backend) as env,
        procs.gateway(mock, workdir, MODELS, extra_env=env, workers=args.workers) as (server, key),
    ):
        workers = server.pids[1:]
        idle = max((rollup(pid) for pid in workers), key=lambda r: r["rss"])
        if args.smaps:
            largest = max(workers, key=rss_mb)
            for name, mb in mappings(largest):
                print(f"    {mb:6.1f} MB  {name}", file=sys.stderr)
        url = server.url + "/v1/chat/completions"
        errors = 0
        for model, stream in ((CHAT, False), (per_event.STREAM20, True)):
            body = _body(model, stream)
            result = loadgen.wrk(url, body, key, connections=args.connections, seconds=args.seconds)
            errors += result.errors
        backlog, drain = _drain(env["NEWAPI_REDIS_PREFIX"]) if env else (0, 0.0)
        after = max(rss_mb(pid) for pid in workers)
        return {
            "idle_rss": idle["rss"],
            "idle_anon": idle["anon"],
            "idle_file": idle["file"],
            "after_load": after,
            "worker_peak": max(peak_rss_mb(pid) for pid in workers),
            "supervisor": peak_rss_mb(server.pids[0]),
            "tree_peak": sum(peak_rss_mb(pid) for pid in server.pids),
            "backlog": backlog,
            "drain_s": drain,
            "errors": errors,
        }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.worker_memory")
    parser.add_argument("--backend", choices=["sqlite", "pgredis", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--smaps", action="store_true")
    args = parser.parse_args()
    if args.backend != "sqlite" and shutil.which("psql") is None:
        print("psql missing", file=sys.stderr)
        return 1
    backends = ["sqlite", "pgredis"] if args.backend == "both" else [args.backend]
    columns = ["idle_rss", "idle_anon", "idle_file", "after_load", "worker_peak", "supervisor", "tree_peak"]
    print(f"{'backend':8} {'round':>5} " + " ".join(f"{c:>11}" for c in columns) + "  backlog drain_s errors")
    with tempfile.TemporaryDirectory() as tmp, procs.mock_upstream(chunks=20) as mock:
        for number in range(args.rounds):
            for backend in backends:
                row = one_round(mock, Path(tmp) / f"{backend}{number}", backend, args)
                cells = " ".join(f"{row[c]:11.1f}" for c in columns)
                drained = f"{int(row['backlog']):7} {row['drain_s']:7.2f}"
                print(f"{backend:8} {number + 1:5} {cells}  {drained} {int(row['errors'])}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
