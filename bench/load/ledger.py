"""The Redis ledger's cost: the same gateway, billed vs unbilled requests, in one run.

    python -m bench.load.ledger [--seconds 3] [--rounds 10]

The gateway runs with REDIS_CONN_STRING (the Redis ledger) on a throwaway PostgreSQL
database. "billed" is a priced model (admission by reserve.lua or a credit block, the
batched settle.lua, the stream, the flusher's database writes); "unbilled" is a free
model with New API's quota_setting.enable_free_model_pre_consume off, which skips
billing entirely. The two alternate, and the ratio is the median of the per-round
ratios. A round ends when the flusher has applied its last settlements, so each billed round
carries its own flush. Redis round trips per request come from INFO commandstats around each billed run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.load import loadgen, procs
from bench.load.__main__ import _body
from bench.load.measure import cpu_seconds

# Commands only clients send. INFO commandstats also counts what scripts call inside EVALSHA
# (GET, HSET, XADD, XACK...), so those names can't tell a round trip; the gateway's own
# top-level commands are these (the sweeper's rare HMGET per orphaned hold is left out).
_CLIENT_COMMANDS = ("evalsha", "eval", "script", "xreadgroup", "zrangebyscore", "publish")


def _redis_calls() -> int:
    out = subprocess.run(
        ["redis-cli", "INFO", "commandstats"], capture_output=True, text=True, check=True
    ).stdout
    total = 0
    for name, calls in re.findall(r"cmdstat_([a-z|]+):calls=(\d+)", out):
        if name in _CLIENT_COMMANDS:
            total += int(calls)
    return total


def _wait_flushed(prefix: str, timeout: float = 15.0) -> None:
    """Until the flusher has applied every settlement of the last run (its backlog counter is
    0), so a billed round's tail flush counts in that round and not in the next one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(
            ["redis-cli", "GET", f"{prefix}ledger:backlog"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if out in ("", "0"):
            return
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.ledger")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--sql-dsn", default="", help="PostgreSQL DSN (default: a throwaway database on 127.0.0.1:5432)"
    )
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    args = parser.parse_args()
    if not args.sql_dsn and not args.sqlite:
        with _throwaway_postgres() as dsn:
            args.sql_dsn = dsn
            return _run(args)
    return _run(args)


@contextlib.contextmanager
def _throwaway_postgres() -> Iterator[str]:
    name = f"newapi_bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f'CREATE DATABASE "{name}"'], check=True
    )
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-q",
                "-c",
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            ],
            check=False,
        )


def _drop_prefix(prefix: str) -> None:
    """The run's keys go with it (its credit blocks, balances and stream)."""
    keys = subprocess.run(
        ["redis-cli", "--scan", "--pattern", prefix + "*"], capture_output=True, text=True, check=False
    ).stdout.split()
    for start in range(0, len(keys), 500):
        subprocess.run(["redis-cli", "DEL", *keys[start : start + 500]], capture_output=True, check=False)


def _run(args: argparse.Namespace) -> int:
    env = {
        "REDIS_CONN_STRING": "redis://127.0.0.1:6379/0",
        "NEWAPI_REDIS_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
        "CRYPTO_SECRET": "bench-crypto-secret-0123456789",
        "BATCH_UPDATE_INTERVAL": "1",
    }
    if args.sql_dsn:
        env["SQL_DSN"] = args.sql_dsn
    models = ["gpt-4o-mini", "free-model"]
    results: dict[str, list[float]] = {"billed": [], "unbilled": [], "billed_no_flusher": []}
    pairs: list[float] = []
    trips: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        procs.mock_upstream(chunks=20) as mock,
        procs.gateway(
            mock,
            Path(tmp),
            models,
            extra_env=env,
            ratios={"free-model": 0.0},
            options={"quota_setting.enable_free_model_pre_consume": "false"},
        ) as (gateway, key),
    ):
        url = gateway.url + "/v1/chat/completions"
        bodies = {"billed": _body("gpt-4o-mini", False), "unbilled": _body("free-model", False)}
        for body in bodies.values():
            loadgen.wrk(url, body, key, connections=64, seconds=2)  # warm-up
        for round_ in range(args.rounds):
            # Alternate which goes first: this machine's noise drifts over seconds, and a
            # ratio is only fair between two runs that saw the same conditions.
            order = ("billed", "unbilled") if round_ % 2 == 0 else ("unbilled", "billed")
            for label in order:
                calls = _redis_calls()
                before = cpu_seconds(gateway.pids)
                run = loadgen.wrk(url, bodies[label], key, connections=64, seconds=args.seconds)
                _wait_flushed(env["NEWAPI_REDIS_PREFIX"])
                cpu = cpu_seconds(gateway.pids) - before
                results[label].append(cpu / max(run.requests, 1) * 1e6)
                if label == "billed":
                    trips.append((_redis_calls() - calls) / max(run.requests, 1))
            pairs.append(results["billed"][-1] / results["unbilled"][-1])
        # A second node of the same deployment with NODE_TYPE=slave runs no flusher: its billed
        # requests show the request path's share; the flusher's is the rest.
        slave_env = {**env, "NODE_TYPE": "slave"}
        with procs.gateway(
            mock, Path(tmp) / "slave", models, extra_env=slave_env, ratios={"free-model": 0.0}
        ) as (slave, slave_key):
            slave_url = slave.url + "/v1/chat/completions"
            loadgen.wrk(slave_url, bodies["billed"], slave_key, connections=64, seconds=2)
            for _ in range(max(1, args.rounds // 2)):
                before = cpu_seconds(slave.pids)
                run = loadgen.wrk(
                    slave_url, bodies["billed"], slave_key, connections=64, seconds=args.seconds
                )
                results["billed_no_flusher"].append(
                    (cpu_seconds(slave.pids) - before) / max(run.requests, 1) * 1e6
                )
    _drop_prefix(env["NEWAPI_REDIS_PREFIX"])
    billed = statistics.median(results["billed"])
    unbilled = statistics.median(results["unbilled"])
    report = {
        "billed_cpu_us": round(billed, 1),
        "unbilled_cpu_us": round(unbilled, 1),
        "ratio": round(statistics.median(pairs), 3),
        "ratio_of_medians": round(billed / unbilled, 3),
        "billed_without_flusher_cpu_us": round(statistics.median(results["billed_no_flusher"]), 1),
        "redis_round_trips_per_request": round(statistics.median(trips), 3),
        "pair_ratios": [round(r, 3) for r in pairs],
        "rounds": {k: [round(v, 1) for v in vals] for k, vals in results.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
