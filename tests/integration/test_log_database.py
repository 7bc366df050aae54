"""LOG_SQL_DSN: the logs live in a database of their own, written once per request (issue 13).

Every combination a deployment can reach: main SQLite, PostgreSQL or MySQL, with the embedded
ledger or the Redis one, logs in another PostgreSQL (or MySQL) database. The replays kill a real
flusher process between its two commits, or copy an outbox twice, and count the rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from newapi.billing.flusher import Flusher
from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_redis import RedisLedger
from newapi.billing.ledger_sql import SqlLedger
from newapi.core.constants import LogType
from newapi.runtime import Runtime
from newapi.settings import Settings
from newapi.storage.engine import resolve_database
from newapi.storage.ledger_tables import LogOutbox
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from tests.conftest import make_settings
from tests.support.inprocess import client_for, running_app, setup_root
from tests.support.provision import add_account, add_channel
from tests.support.services import REDIS_URL, throwaway_mysql, throwaway_postgres

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "newapi_schema"
QUIET = {"CRITICAL_RATE_LIMIT_ENABLE": "false", "SEARCH_RATE_LIMIT_ENABLE": "false"}
COST = 23  # (100 + 50 x 4) x 0.075 = 22.5 -> 23 (gpt-4o-mini, usage 100 + 50)


@contextlib.asynccontextmanager
async def _main_env(kind: str, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    if kind == "sqlite":
        yield {"SQLITE_PATH": str(tmp_path / "one-api.db")}
    else:
        async with _throwaway(kind) as dsn:
            yield {"SQL_DSN": dsn}


def _throwaway(kind: str) -> contextlib.AbstractAsyncContextManager[str]:
    return throwaway_mysql() if kind == "mysql" else throwaway_postgres()


@contextlib.asynccontextmanager
async def _engine(dsn: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(resolve_database(make_settings(), dsn).url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _stop_flusher(runtime: Runtime) -> Flusher | None:
    """The tests drain the Redis ledger's flusher themselves; its loop would race them."""
    for task in list(runtime._tasks):
        if task.get_name() == "ledger-flusher":
            task.cancel()
    return runtime.flusher


async def _settle(runtime: Runtime) -> None:
    """Everything settled so far written to both databases."""
    ledger = runtime.ledger
    if isinstance(ledger, RedisLedger):
        await ledger.wait_settled()
        assert runtime.flusher is not None
        await runtime.flusher.drain()
    else:
        assert isinstance(ledger, SqlLedger)
        await ledger.flush()
        await ledger.ship_logs()


async def _rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(select(Log.type, Log.request_id, Log.quota, Log.content).order_by(Log.id))
        return list(result.all())


@pytest.mark.parametrize(
    ("main", "redis", "logs"),
    [
        ("sqlite", False, "postgres"),
        ("sqlite", True, "postgres"),
        ("postgres", False, "postgres"),
        ("postgres", True, "postgres"),
        ("mysql", False, "mysql"),
        ("mysql", True, "mysql"),
    ],
    ids=["sqlite", "sqlite-redis", "postgres", "postgres-redis", "mysql", "mysql-redis"],
)
async def test_logs_live_in_the_log_database(
    main: str,
    redis: bool,
    logs: str,
    tmp_path: Path,
    redis_env: dict[str, str],
    settings_for: Callable[..., Settings],
    mock: MockUpstreamThread,
) -> None:
    async with _throwaway(logs) as log_dsn, _main_env(main, tmp_path) as main_env:
        settings = settings_for(
            main_env, redis_env if redis else {}, LOG_SQL_DSN=log_dsn, ERROR_LOG_ENABLED="true", **QUIET
        )
        async with running_app(settings) as gateway, _engine(log_dsn) as log_db:
            runtime = gateway.runtime
            assert runtime is not None and runtime.log_engine is not None
            _stop_flusher(runtime)
            mapping = orjson.dumps({"gpt-4o-mini": "gpt-4o-mini-usage-100-50"}).decode()
            await add_channel(gateway, mock.url, model_mapping=mapping)
            account = await add_account(gateway, quota=1_000_000)
            async with client_for(gateway) as client:
                root = await setup_root(client)
                for i in range(4):
                    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
                    reply = await client.post(
                        "/v1/chat/completions",
                        json={**body, "stream": i % 2 == 1},
                        headers={"Authorization": account.key},
                    )
                    assert reply.status_code == 200, reply.text
                refused = await client.post(
                    "/v1/chat/completions",
                    json={"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
                    headers={"Authorization": account.key},
                )
                assert refused.status_code >= 400
                await _settle(runtime)

                rows = await _rows(log_db)
                consume = [r for r in rows if r.type == LogType.CONSUME]
                errors = [r for r in rows if r.type == LogType.ERROR]
                assert len(consume) == 4 and len({r.request_id for r in consume}) == 4
                assert [r.quota for r in consume] == [COST] * 4
                assert len(errors) == 1 and errors[0].request_id
                async with runtime.engine.connect() as conn:
                    main_logs = (await conn.execute(select(func.count()).select_from(Log))).scalar_one()
                    user = (await conn.execute(select(User).where(User.id == account.user_id))).one()
                    outbox = (await conn.execute(select(func.count()).select_from(LogOutbox))).scalar_one()
                assert main_logs == 0 and outbox == 0
                spent = 4 * COST
                assert (user.used_quota, user.request_count, user.quota) == (spent, 4, 1_000_000 - spent)

                # The management API reads the log database; the dashboard's buckets stay in the main one.
                listed = (await root.get("/api/log/", params={"type": 2, "page_size": 10})).json()["data"]
                assert listed["total"] == 4
                assert {item["request_id"] for item in listed["items"]} == {r.request_id for r in consume}
                found = (await root.get("/api/log/search", params={"keyword": errors[0].content[:20]})).json()
                assert [item["type"] for item in found["data"]["items"]] == [LogType.ERROR]
                stat = (await root.get("/api/log/stat", params={"type": 2})).json()["data"]
                assert stat["quota"] == 4 * COST and stat["rpm"] == 4
                data = (await root.get("/api/data/")).json()["data"]
                assert sum(bucket["count"] for bucket in data) == 4
                assert sum(bucket["quota"] for bucket in data) == 4 * COST

                # A management-path log (New API's RecordLog) goes there too.
                managed = await root.post(
                    "/api/user/manage", json={"id": account.user_id, "action": "disable"}
                )
                assert managed.json()["success"], managed.text
                assert [r.type for r in await _rows(log_db)].count(LogType.MANAGE) == 1
                async with runtime.engine.connect() as conn:
                    assert (await conn.execute(select(func.count()).select_from(Log))).scalar_one() == 0

                await asyncio.sleep(1.1)
                cleared = await root.delete("/api/log/", params={"target_timestamp": int(time.time())})
                assert cleared.json()["data"] == 6
                assert await _rows(log_db) == []


def _debit(request_id: str, user_id: int, token_id: int, cost: int) -> Debit:
    return Debit(
        request_id, user_id, "u", token_id, "t", 0, "m", "default", cost, 1, 1, 0, False, "", "{}", 0
    )


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
async def test_a_killed_flusher_writes_each_log_once(
    kind: str, redis_env: dict[str, str], settings_for: Callable[..., Settings]
) -> None:
    """The flusher dies before, between and after its two commits (log database, then main)."""
    async with _throwaway(kind) as main_dsn, _throwaway(kind) as log_dsn:
        settings = settings_for({"SQL_DSN": main_dsn}, redis_env, LOG_SQL_DSN=log_dsn)
        async with running_app(settings) as gateway, _engine(log_dsn) as log_db:
            assert gateway.runtime is not None
            flusher = _stop_flusher(gateway.runtime)
            assert flusher is not None
            ledger = gateway.runtime.ledger
            assert isinstance(ledger, RedisLedger)
            accounts = [await add_account(gateway) for _ in range(3)]
            total = 0
            for i in range(60):
                account = accounts[i % 3]
                cost = 10 + i
                hold = Hold(f"kill-{i}", account.user_id, account.token_id, True, cost)
                await ledger.reserve(hold)
                await ledger.settle(hold, _debit(hold.request_id, account.user_id, account.token_id, cost))
                total += cost
                if i % 3 == 2:
                    await ledger.wait_settled()  # stream entries of three settlements each
            await ledger.wait_settled()
            for point in ["logs", "read", "logs", "claim", "logs", "before_commit", "after_commit", "none"]:
                result = await asyncio.to_thread(
                    subprocess.run,
                    [
                        sys.executable,
                        str(ROOT / "tests/integration/flusher_victim.py"),
                        main_dsn,
                        REDIS_URL,
                        redis_env["NEWAPI_REDIS_PREFIX"],
                        point,
                        "4",
                        log_dsn,
                    ],
                    cwd=ROOT,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    capture_output=True,
                    timeout=60,
                )
                assert result.returncode in (0, -signal.SIGKILL), result.stderr.decode()[-2000:]
            await flusher.drain()
            logs = [r.request_id for r in await _rows(log_db)]
            assert sorted(logs) == sorted(f"kill-{i}" for i in range(60)), "lost or duplicated logs"
            async with gateway.runtime.sessions() as db:
                used = (await db.execute(select(func.sum(User.used_quota)))).scalar_one()
                requests = (await db.execute(select(func.sum(User.request_count)))).scalar_one()
            async with gateway.runtime.engine.connect() as conn:
                assert (await conn.execute(select(func.count()).select_from(Log))).scalar_one() == 0
            assert (used, requests) == (total, 60), "lost or duplicated debits"


async def test_an_outbox_copied_twice_writes_each_log_once(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    """The embedded ledger: a crash after the copy to the log database, before the outbox's delete."""
    async with throwaway_postgres() as log_dsn:
        settings = settings_for({"SQLITE_PATH": str(tmp_path / "one-api.db")}, LOG_SQL_DSN=log_dsn)
        async with running_app(settings) as gateway, _engine(log_dsn) as log_db:
            assert gateway.runtime is not None
            ledger = gateway.runtime.ledger
            assert isinstance(ledger, SqlLedger) and ledger._logs is not None
            account = await add_account(gateway)
            for i in range(30):
                hold = Hold(f"out-{i}", account.user_id, account.token_id, True, 5)
                await ledger.reserve(hold)
                await ledger.settle(hold, _debit(hold.request_id, account.user_id, account.token_id, 5))
            await ledger.flush()
            async with gateway.runtime.engine.connect() as conn:
                waiting = (await conn.execute(select(LogOutbox.payload))).scalars().all()
            assert len(waiting) == 30
            # The copy that a crash cut short of its delete, then the copy after the restart.
            assert await ledger._logs.write([orjson.loads(p) for p in waiting[:20]]) == 20
            assert await ledger.ship_logs() == 30
            logs = [r.request_id for r in await _rows(log_db)]
            assert sorted(logs) == sorted(f"out-{i}" for i in range(30))
            async with gateway.runtime.engine.connect() as conn:
                assert (await conn.execute(select(func.count()).select_from(LogOutbox))).scalar_one() == 0
                user = (await conn.execute(select(User).where(User.id == account.user_id))).one()
            assert (user.used_quota, user.request_count) == (150, 30)


async def test_an_existing_new_api_log_database_is_adopted(settings_for: Callable[..., Settings]) -> None:
    """A log database New API made keeps its rows and gains only our claim table."""
    async with throwaway_postgres() as main_dsn, throwaway_postgres() as log_dsn:
        conn = await asyncpg.connect(log_dsn.split("?")[0])
        try:
            for line in (FIXTURES / "postgres.sql").read_text().splitlines():
                if line.startswith("CREATE") and '"logs"' in line:
                    await conn.execute(line)
            await conn.execute(
                "INSERT INTO logs (user_id, created_at, type, content, username, quota)"
                " VALUES (1, $1, 2, 'from New API', 'old', 7)",
                int(time.time()),
            )
        finally:
            await conn.close()
        settings = settings_for({"SQL_DSN": main_dsn}, LOG_SQL_DSN=log_dsn, **QUIET)
        async with running_app(settings) as gateway, _engine(log_dsn) as log_db:
            async with log_db.connect() as conn:
                tables = {
                    row[0]
                    for row in await conn.execute(
                        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                    )
                }
            assert tables == {"logs", "newapi_log_entries"}
            async with client_for(gateway) as client:
                root = await setup_root(client)
                listed = (await root.get("/api/log/")).json()["data"]
            assert [item["content"] for item in listed["items"]] == ["from New API"]
