"""A flusher that kills itself (SIGKILL) at a chosen point, for the crash tests.

    python tests/integration/flusher_victim.py <sql_dsn> <redis_url> <prefix> <point> <batch> [<log_dsn>]

Points: read (entries read, nothing written), logs (with a separate log database:
its logs committed, nothing else), claim (inside the transaction, after the
request ids), before_commit (everything written, not committed), after_commit
(committed, not acknowledged), none (one clean batch).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncConnection

from newapi.billing.flusher import Flusher
from newapi.billing.log_sink import LogSink
from newapi.settings import load_settings
from newapi.storage.engine import create_engine, resolve_database


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Victim(Flusher):
    point = "none"

    async def _claim(self, conn: AsyncConnection, idents: list[str], now: int) -> set[str]:
        new = await super()._claim(conn, idents, now)
        if self.point == "claim":
            die()
        return new

    async def _write_logs(self, entries: Any) -> None:
        await super()._write_logs(entries)
        if self.point == "logs":
            die()

    async def _apply(self, conn: AsyncConnection, entries: Any) -> int:
        settlements = await super()._apply(conn, entries)
        if self.point == "before_commit":
            die()
        return settlements

    async def _apply_with_retry(self, entries: Any) -> int:
        if self.point == "read":
            die()
        settlements = await super()._apply_with_retry(entries)
        if self.point == "after_commit":
            die()
        return settlements


async def main() -> None:
    dsn, redis_url, prefix, point, batch = sys.argv[1:6]
    log_dsn = sys.argv[6] if len(sys.argv) > 6 else ""
    settings = load_settings({"SQL_DSN": dsn, "SESSION_SECRET": "victim"})
    database = resolve_database(settings)
    engine = create_engine(database, settings, pool=False)
    logs = None
    if log_dsn:
        log_database = resolve_database(settings, log_dsn)
        logs = LogSink(create_engine(log_database, settings, pool=False), log_database.dialect)
    redis = aioredis.from_url(redis_url)
    victim = Victim(redis, engine, database.dialect, prefix=prefix, batch=int(batch), logs=logs)
    victim.point = point
    try:
        await victim.flush_once()
    finally:
        await redis.aclose()
        await engine.dispose()
        if logs is not None:
            await logs.engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
