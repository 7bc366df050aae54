"""The Redis ledger's own cost, without the server around it: the gateway's ASGI app driven in process.

    python -m bench.load.ledger_inprocess [--requests 15000] [--rounds 7]

The same comparison as ``bench.load.ledger`` (a priced model against a free model with
billing skipped entirely), but the app is called directly from this process, 64 requests
at a time, on uvloop, with real PostgreSQL and Redis and the mock upstream in its own
process. This process's CPU time per request is the relay's and the ledger's alone: no
Granian, no wrk, and far less of the scheduling noise that moves a single load round's
ratio between 1.0 and 1.6 on a shared two-core machine. Each billed round ends by
waiting for its settlements and flushing them to the database, inside the measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import uvloop

from bench.load import procs
from bench.load.__main__ import _body
from newapi.app import Gateway
from newapi.billing.flusher import Flusher
from newapi.billing.ledger_redis import RedisLedger
from newapi.runtime import Runtime
from newapi.settings import load_settings
from tests.support.inprocess import running_app
from tests.support.provision import add_account, add_channel
from tests.support.services import REDIS_URL, throwaway_postgres, throwaway_redis_prefix

PATH = b"/v1/chat/completions"


async def drive(app: Gateway, key: str, body: bytes, count: int, concurrency: int = 64) -> None:
    headers = [
        (b"authorization", b"Bearer " + key.encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def one() -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": PATH.decode(),
            "raw_path": PATH,
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 3000),
        }
        delivered = False
        finished = asyncio.Event()
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not message.get("more_body", False):
                finished.set()

        await app(scope, receive, send)
        if status != 200:
            raise RuntimeError(f"status {status}")

    gate = asyncio.Semaphore(concurrency)

    async def gated() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(gated() for _ in range(count)))


@dataclass
class Bench:
    """The gateway's app with a priced and a free model, one account, and the two bodies."""

    app: Gateway
    runtime: Runtime
    ledger: RedisLedger
    flusher: Flusher
    key: str
    bodies: dict[str, bytes]


@contextlib.asynccontextmanager
async def billing_app(mock_url: str, *, log_db: bool = False) -> AsyncIterator[Bench]:
    """The app on a throwaway PostgreSQL database and Redis prefix; its own flusher task is
    stopped, so a caller flushes inside its measurement. ``log_db``: the logs in a second
    database (LOG_SQL_DSN)."""
    async with contextlib.AsyncExitStack() as stack:
        dsn = await stack.enter_async_context(throwaway_postgres())
        prefix = await stack.enter_async_context(throwaway_redis_prefix())
        log_dsn = await stack.enter_async_context(throwaway_postgres()) if log_db else ""
        settings = load_settings(
            {
                "LOG_SQL_DSN": log_dsn,
                "SQL_DSN": dsn,
                "REDIS_CONN_STRING": REDIS_URL,
                "NEWAPI_REDIS_PREFIX": prefix,
                "SESSION_SECRET": "bench-session-secret-0123456789",
                "CRYPTO_SECRET": "bench-crypto-secret-0123456789",
                "GLOBAL_API_RATE_LIMIT_ENABLE": "false",
                "NODE_TYPE": "master",
            }
        )
        async with running_app(settings) as app:
            runtime = app.runtime
            assert runtime is not None and runtime.flusher is not None
            for task in list(runtime._tasks):
                if task.get_name() == "ledger-flusher":
                    task.cancel()  # flushed inside the measurement instead
            await add_channel(app, mock_url, models="gpt-4o-mini,free-model")
            runtime.options.set("ModelRatio", orjson.dumps({"gpt-4o-mini": 0.075, "free-model": 0}).decode())
            runtime.options.set("quota_setting.enable_free_model_pre_consume", "false")
            account = await add_account(app, quota=10**12)
            ledger = runtime.ledger
            assert isinstance(ledger, RedisLedger)
            bodies = {"billed": _body("gpt-4o-mini", False), "unbilled": _body("free-model", False)}
            yield Bench(app, runtime, ledger, runtime.flusher, account.bare, bodies)


async def _run(mock_url: str, requests: int, rounds: int) -> dict[str, Any]:
    async with billing_app(mock_url) as bench:
        app, ledger, flusher = bench.app, bench.ledger, bench.flusher
        for body in bench.bodies.values():
            await drive(app, bench.key, body, 500)
        await ledger.wait_settled()
        await flusher.drain()
        cpu: dict[str, list[float]] = {"billed": [], "unbilled": []}
        pairs: list[float] = []
        for round_ in range(rounds):
            order = ("billed", "unbilled") if round_ % 2 == 0 else ("unbilled", "billed")
            for label in order:
                started = time.process_time()
                await drive(app, bench.key, bench.bodies[label], requests)
                if label == "billed":
                    await ledger.wait_settled()
                    await flusher.drain()
                cpu[label].append((time.process_time() - started) / requests * 1e6)
            pairs.append(cpu["billed"][-1] / cpu["unbilled"][-1])
    return {
        "billed_cpu_us": round(statistics.median(cpu["billed"]), 1),
        "unbilled_cpu_us": round(statistics.median(cpu["unbilled"]), 1),
        "ratio": round(statistics.median(pairs), 3),
        "pair_ratios": [round(r, 3) for r in pairs],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.ledger_inprocess")
    parser.add_argument("--requests", type=int, default=15000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with procs.mock_upstream(chunks=20) as mock:
        report = uvloop.run(_run(mock.url, args.requests, args.rounds))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
