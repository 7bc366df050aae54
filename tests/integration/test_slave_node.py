"""``NODE_TYPE=slave`` runs no migrations and no scheduled jobs (issue 18 §4, New API's §13).

A slave started on a database nobody migrated creates nothing: it refuses after
``NEWAPI_SCHEMA_WAIT`` seconds, or waits for a master and starts once the master has
migrated. Left alone (its master stopped) under billed load for longer than one period of
the scheduled channel tests (``CHANNEL_TEST_FREQUENCY=1``, one minute), it flushes no
settlement to the database, claims no job lease and tests no channel; the master, back,
flushes everything it served to the exact sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from newapi.settings import Settings
from newapi.storage.migrate import SchemaNotReady, migrate, schema_revision, wait_for_schema
from newapi.testing import MockUpstreamThread
from tests.support.ledger_checks import counters, expected_after, pg_query
from tests.support.nodes import PRICE_QUOTA, PRICE_USD, burst, node_env, set_prices, settled, until
from tests.support.server import ROOT, serve
from tests.support.services import REDIS_URL
from tests.support.worker_kills import MODEL, provision

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

#: Longer than one period of the scheduled channel tests (CHANNEL_TEST_FREQUENCY is in minutes).
ALONE_SECONDS = 65.0
JOBS = {"CHANNEL_TEST_FREQUENCY": "1"}


async def _tables(dsn: str) -> list[str]:
    rows = await pg_query(dsn)("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", ())
    return sorted(str(r[0]) for r in rows)


def test_a_slave_refuses_a_database_nobody_migrated(
    pg_env: dict[str, str], redis_env: dict[str, str]
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SQL_DSN", "REDIS_CONN"))},
        **node_env({**pg_env, **redis_env}, "slave-node", NODE_TYPE="slave", NEWAPI_SCHEMA_WAIT="2"),
        "SESSION_SECRET": "e2e-session-secret",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "newapi", "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr[-2000:]
    assert "NODE_TYPE=slave runs no migrations" in done.stderr
    assert "waiting for a master to migrate" in done.stderr
    assert 2.0 <= took < 30.0
    assert asyncio.run(_tables(pg_env["SQL_DSN"])) == []


@contextlib.contextmanager
def _logs_on_failure(tmp_path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
        raise


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/status", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_a_slave_waits_for_its_master_and_runs_no_jobs(
    mock: MockUpstreamThread, pg_env: dict[str, str], redis_env: dict[str, str], tmp_path: Path
) -> None:
    dsn, prefix = pg_env["SQL_DSN"], redis_env["NEWAPI_REDIS_PREFIX"]
    shared = {**pg_env, **redis_env, **JOBS}
    query = pg_query(dsn)
    redis = aioredis.from_url(REDIS_URL)
    slave_env = node_env(shared, "slave-node", NODE_TYPE="slave", NEWAPI_SCHEMA_WAIT="120")
    master_env = node_env(shared, "master-node")
    try:
        with _logs_on_failure(tmp_path), contextlib.ExitStack() as stack:
            slave = stack.enter_context(
                serve(slave_env, workers=2, cwd=tmp_path, keep_log=tmp_path / "slave.log", ready=False)
            )
            # Waiting: no port open, no table made, the wait in its log.
            await asyncio.sleep(3.0)
            assert not _answers(slave)
            assert await _tables(dsn) == []
            slave_log = next(tmp_path.glob(".server-*.log")).read_text(errors="replace")
            assert "waiting for a master to migrate" in slave_log
            with serve(master_env, workers=1, cwd=tmp_path, keep_log=tmp_path / "master.log") as master:

                async def slave_up() -> bool:
                    return await asyncio.to_thread(_answers, slave)

                up = await until(slave_up, 30.0)
                assert up is not None, "the slave did not start after the master migrated"
                setup = await asyncio.to_thread(provision, master, mock.url)
                await asyncio.to_thread(set_prices, [master, slave], {MODEL: PRICE_USD})
            # The master stopped: the slave alone, past one channel-test period, under load.
            before = await counters(query, setup)
            (test_time_before,) = await query(
                "SELECT test_time FROM channels WHERE id = $1", (setup.channel_id,)
            )
            alone_from = time.monotonic()
            served = 0
            while time.monotonic() - alone_from < ALONE_SECONDS:
                spread = await burst([slave], setup.key, 10)
                assert len(spread.complete) == 10, spread
                served += 10
                assert await query("SELECT COUNT(*) FROM logs WHERE type = 2", ()) == [(0,)]
                await asyncio.sleep(5.0)
            backlog = int(await redis.get(f"{prefix}ledger:backlog") or 0)
            leases = await query("SELECT name, holder FROM newapi_job_leases", ())
            (test_time_after,) = await query(
                "SELECT test_time FROM channels WHERE id = $1", (setup.channel_id,)
            )
            assert await counters(query, setup) == before, "the slave wrote settlements to the database"
            assert backlog == served, "every settlement waits in Redis for a master's flusher"
            assert leases == [], f"the slave claimed job leases: {leases}"
            assert test_time_after == test_time_before, "the slave ran the scheduled channel tests"
            # The master back: its flusher applies what the slave served, to the unit.
            stack.enter_context(serve(master_env, workers=1, cwd=tmp_path, keep_log=tmp_path / "master2.log"))

            async def flushed() -> bool:
                return await settled(redis, prefix)

            flush = await until(flushed, 30.0)
            assert flush is not None, "the master did not flush the slave's settlements"
        assert await counters(query, setup) == expected_after(before, PRICE_QUOTA * served, served)
        print(
            f"slave started {up:.1f} s after the master migrated; "
            f"alone {ALONE_SECONDS:.0f} s: {served} requests served, {backlog} settlements left in Redis, "
            f"0 in the database, no job lease, channel test_time unchanged; the master back flushed them "
            f"in {flush:.1f} s"
        )
    finally:
        await redis.aclose()


async def test_the_schema_a_slave_accepts(
    pg_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    """Never migrated or behind: wait (here refuse at once); at head, or at a newer release's
    revision (its master migrated first, additively): start."""
    settings = settings_for(pg_env, NODE_TYPE="slave").with_overrides(schema_wait=0.0)
    with pytest.raises(SchemaNotReady, match="never migrated"):
        await wait_for_schema(settings, poll=0.01)
    head = await _migrated(settings)
    assert await wait_for_schema(settings) == head
    query = pg_query(pg_env["SQL_DSN"])
    for revision, accepted in (("0004", False), ("f00dfeed0001", True)):
        await query("UPDATE alembic_version SET version_num = $1", (revision,))
        if accepted:
            assert await wait_for_schema(settings) == revision
        else:
            with pytest.raises(SchemaNotReady, match=f"at revision {revision}, not {head}"):
                await wait_for_schema(settings, poll=0.01)


async def _migrated(settings: Settings) -> str:
    await migrate(settings.with_overrides(node_type="master"))
    revision = await schema_revision(settings)
    assert revision is not None
    return revision
