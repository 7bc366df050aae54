"""Background jobs: one runner per period across workers, log retention, channel-test schedule."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import func, select

from newapi.app import Gateway
from newapi.jobs import channel_tests, retention
from newapi.settings import Settings
from newapi.storage.job_leases import claim
from newapi.storage.options import save_option
from newapi.storage.tables import Log
from tests.support.inprocess import running_app


@pytest.fixture
async def gateway(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    async with running_app(settings_for(db_env)) as app:
        yield app


async def _option(gateway: Gateway, key: str, value: str) -> None:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db, db.begin():
        await save_option(db, key, value)
    await gateway.runtime.invalidate("options")


async def _log_count(gateway: Gateway) -> int:
    assert gateway.runtime is not None
    async with gateway.runtime.sessions() as db:
        return int((await db.execute(select(func.count()).select_from(Log))).scalar_one())


async def _old_and_new_logs(gateway: Gateway, old: int, new: int) -> None:
    assert gateway.runtime is not None
    now = int(time.time())
    async with gateway.runtime.sessions() as db, db.begin():
        for i in range(old + new):
            created = now - 3 * 86400 - i if i < old else now
            db.add(Log(user_id=1, created_at=created, type=2, content="x", other=""))


async def test_one_worker_claims_each_period(gateway: Gateway) -> None:
    assert gateway.runtime is not None
    engine = gateway.runtime.engine
    now = 1_000_000
    results = await asyncio.gather(*(claim(engine, "job-a", f"w{i}", 60, now=now) for i in range(10)))
    assert sum(results) == 1
    assert not await claim(engine, "job-a", "late", 60, now=now + 30)
    assert await claim(engine, "job-a", "next", 60, now=now + 61)
    assert await claim(engine, "job-b", "w0", 60, now=now)


async def test_retention_deletes_old_logs_in_batches(gateway: Gateway) -> None:
    assert gateway.runtime is not None
    await _old_and_new_logs(gateway, old=25, new=3)
    assert await retention.prune_once(gateway.runtime) == 0  # 0 days: retention is off
    await _option(gateway, "log_setting.retention_days", "1")
    assert await retention.prune_once(gateway.runtime, batch=10) == 25
    assert await _log_count(gateway) == 3


async def test_retention_loop_runs_once_per_period(gateway: Gateway) -> None:
    assert gateway.runtime is not None
    await _old_and_new_logs(gateway, old=5, new=1)
    await _option(gateway, "log_setting.retention_days", "1")
    task = asyncio.create_task(retention.run_forever(gateway.runtime, period=0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await _log_count(gateway) == 1:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await _log_count(gateway) == 1


async def test_channel_test_schedule(
    gateway: Gateway, db_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    assert gateway.runtime is not None
    assert channel_tests.interval_minutes(gateway.runtime) == 0
    await _option(gateway, "monitor_setting.auto_test_channel_enabled", "true")
    await _option(gateway, "monitor_setting.auto_test_channel_minutes", "7")
    assert channel_tests.interval_minutes(gateway.runtime) == 7
    forced = gateway.runtime.settings.with_overrides(channel_test_frequency=3)
    gateway.runtime.settings = forced
    assert channel_tests.interval_minutes(gateway.runtime) == 3
    # Slave nodes never claim a job.
    gateway.runtime.settings = forced.with_overrides(node_type="slave")
    from newapi.jobs.lease import claim_period

    assert not await claim_period(gateway.runtime, "any-job", 60)


async def test_background_jobs_start_and_stop(gateway: Gateway) -> None:
    from newapi.jobs import background_jobs

    assert gateway.runtime is not None
    tasks = [asyncio.create_task(job) for job in background_jobs(gateway.runtime)]
    await asyncio.sleep(0.05)
    assert all(not t.done() or t.exception() is None for t in tasks)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
