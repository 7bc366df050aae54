"""asyncmy vs aiomysql through SQLAlchemy's async engine, against the local MariaDB/MySQL.

``python -m bench.load.mysql_driver [--rounds N]``: for each driver, in a throwaway database,
(1) a loop of 2,000 primary-key SELECTs on one pooled connection and (2) an executemany INSERT of
1,000 ``logs`` rows (New API's table, the shape the flusher writes), repeated ``--rounds`` times;
prints wall and process-CPU time per operation (best round). The drivers alternate so machine noise
falls on both.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from newapi.storage.tables import Log, User

SERVER = "root@127.0.0.1:3306"
DRIVERS = ("asyncmy", "aiomysql")
SELECTS = 2_000
ROWS = 1_000


def _rows(batch: int) -> list[dict[str, Any]]:
    return [
        {
            "user_id": 1 + i % 50,
            "created_at": 1_700_000_000 + i,
            "type": 2,
            "content": "model ratio 1.0, completion ratio 4.0",
            "username": f"user{i % 50}",
            "token_name": "default",
            "model_name": "gpt-4o-mini",
            "quota": 150 + i,
            "prompt_tokens": 100,
            "completion_tokens": 25,
            "use_time": 1,
            "is_stream": i % 2 == 0,
            "channel_id": 1,
            "token_id": 7,
            "group": "default",
            "ip": "",
            "request_id": f"{batch:04d}-{i:06d}-{uuid.uuid4().hex[:16]}",
            "other": '{"frt":120}',
        }
        for i in range(ROWS)
    ]


async def _measure(engine: AsyncEngine, batch: int) -> tuple[float, float, float, float]:
    query = select(User.quota, User.used_quota).where(User.id == 1)
    async with engine.connect() as conn:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(SELECTS):
            (await conn.execute(query)).one()
        select_wall, select_cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = _rows(batch)
        wall, cpu = time.perf_counter(), time.process_time()
        await conn.execute(Log.__table__.insert(), rows)
        await conn.commit()
        insert_wall, insert_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return select_wall / SELECTS, select_cpu / SELECTS, insert_wall, insert_cpu


async def main(rounds: int) -> None:
    name = f"newapi_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(f"mysql+asyncmy://{SERVER}/mysql")
    async with admin.begin() as conn:
        await conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engines = {d: create_async_engine(f"mysql+{d}://{SERVER}/{name}?charset=utf8mb4") for d in DRIVERS}
    try:
        async with engines["asyncmy"].begin() as conn:
            await conn.run_sync(lambda sync: Log.__table__.create(sync))
            await conn.run_sync(lambda sync: User.__table__.create(sync))
            await conn.execute(User.__table__.insert(), [{"id": 1, "password": "x", "quota": 5}])
        best: dict[str, list[float]] = {d: [float("inf")] * 4 for d in DRIVERS}
        for batch in range(rounds):
            for driver in DRIVERS if batch % 2 == 0 else reversed(DRIVERS):
                figures = await _measure(engines[driver], batch * 2 + DRIVERS.index(driver))
                best[driver] = [min(a, b) for a, b in zip(best[driver], figures, strict=True)]
        heads = ("select µs wall", "select µs CPU", "insert 1k ms wall", "insert 1k ms CPU")
        print(f"{'driver':10} " + " ".join(f"{h:>17}" for h in heads))
        for driver, (sw, sc, iw, ic) in best.items():
            print(f"{driver:10} {sw * 1e6:17.1f} {sc * 1e6:17.1f} {iw * 1e3:17.1f} {ic * 1e3:17.1f}")
    finally:
        for engine in engines.values():
            await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        await admin.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
