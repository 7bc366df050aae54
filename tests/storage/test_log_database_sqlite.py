"""LOG_SQL_DSN on the embedded default: the logs in a second SQLite file (no servers needed).

The PostgreSQL combinations, the Redis ledger and the crash replays are in
tests/integration/test_log_database.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.billing.ledger import Debit, Hold
from newapi.billing.ledger_sql import SqlLedger
from newapi.billing.log_sink import LogSink, stream_log_rows
from newapi.core.constants import LogType
from newapi.jobs.retention import prune_once
from newapi.storage.engine import create_engine
from newapi.storage.ledger_tables import LogOutbox
from newapi.storage.log_db import migrate_log_database, resolve_log_database
from newapi.storage.tables import Log, User
from tests.conftest import make_settings
from tests.support.inprocess import client_for, running_app, setup_root
from tests.support.provision import add_account


def _debit(request_id: str, user_id: int = 1, cost: int = 5, **extra: Any) -> Debit:
    return Debit(
        request_id, user_id, "u", 1, "t", 0, "m", "default", cost, 1, 1, 0, False, "", "{}", 0, **extra
    )


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def test_the_log_database_is_separate_only_when_it_names_another_one(tmp_path: Path) -> None:
    main = str(tmp_path / "one-api.db")
    assert resolve_log_database(make_settings(SQLITE_PATH=main)) is None
    assert resolve_log_database(make_settings(SQLITE_PATH=main, LOG_SQL_DSN=f"sqlite:///{main}")) is None
    other = resolve_log_database(make_settings(SQLITE_PATH=main, LOG_SQL_DSN=f"sqlite:///{tmp_path}/logs.db"))
    assert other is not None and other.url.endswith("/logs.db")
    with pytest.raises(ValueError, match="LOG_SQL_DSN"):
        resolve_log_database(make_settings(SQLITE_PATH=main, LOG_SQL_DSN="nonsense"))


async def test_the_sink_writes_each_request_once(tmp_path: Path) -> None:
    settings = make_settings(
        SQLITE_PATH=str(tmp_path / "main.db"), LOG_SQL_DSN=f"sqlite:///{tmp_path}/logs.db"
    )
    assert await migrate_log_database(settings) == "sqlite"
    assert await migrate_log_database(settings) == "sqlite"  # again: nothing to do, nothing breaks
    database = resolve_log_database(settings)
    assert database is not None
    sink = LogSink(create_engine(database, settings), database.dialect)
    try:
        rows = [_debit(f"r{i}").log_row() for i in range(5)]
        assert await sink.write([*rows[:3], rows[0]]) == 3  # a duplicate inside one batch too
        assert await sink.write(rows) == 2
        assert await sink.write([_debit("").log_row(), _debit("").log_row()]) == 2  # nothing to key by
        async with sink.engine.connect() as conn:
            ids = (await conn.execute(select(Log.request_id).order_by(Log.id))).scalars().all()
        assert ids == ["r0", "r1", "r2", "r3", "r4", "", ""]
        assert await sink.prune(now=10**10) == 5
    finally:
        await sink.engine.dispose()


def test_stream_entries_yield_their_logged_rows() -> None:
    logged, silent, error = _debit("a"), _debit("b", log=False), _debit("c", log_type=LogType.ERROR)
    entries = [
        (b"1-0", {b"k": b"debits", b"r": orjson.dumps([logged.record(), silent.record()])}),
        (b"2-0", {b"k": b"adjust", b"id": b"adj:x", b"delta": b"5", b"who": b"1"}),
        (b"3-0", {b"k": b"log", b"id": b"c", b"r": orjson.dumps(error.record())}),
    ]
    assert stream_log_rows(entries) == [list(logged.log_row()), list(error.log_row())]


async def test_the_embedded_ledger_logs_into_a_second_file(tmp_path: Path) -> None:
    settings = make_settings(
        SQLITE_PATH=str(tmp_path / "one-api.db"),
        LOG_SQL_DSN=f"sqlite:///{tmp_path}/logs.db",
        CRITICAL_RATE_LIMIT_ENABLE="false",
    )
    async with running_app(settings) as gateway:
        runtime = gateway.runtime
        assert runtime is not None and runtime.log_engine is not None
        ledger = runtime.ledger
        assert isinstance(ledger, SqlLedger)
        account = await add_account(gateway, quota=1000)
        for i in range(3):
            hold = Hold(f"e{i}", account.user_id, account.token_id, True, 7)
            await ledger.reserve(hold)
            await ledger.settle(hold, _debit(hold.request_id, account.user_id, 7))
        await ledger.record_only(_debit("e-fail", account.user_id, 0, log_type=LogType.ERROR))
        await ledger.flush()
        assert await _count(runtime.engine, LogOutbox) == 4  # committed with the debits
        assert await ledger.ship_logs() == 4
        assert await _count(runtime.engine, LogOutbox) == 0
        assert await _count(runtime.engine, Log) == 0
        assert await _count(runtime.log_engine, Log) == 4
        async with runtime.sessions() as db:
            user = await db.get(User, account.user_id)
        assert user is not None and (user.quota, user.used_quota, user.request_count) == (979, 21, 3)
        async with client_for(gateway) as client:
            root = await setup_root(client)
            listed = (await root.get("/api/log/", params={"page_size": 10})).json()["data"]
            stat = (await root.get("/api/log/stat", params={"type": 2})).json()["data"]
        assert listed["total"] == 4 and stat["quota"] == 21
        # Log retention prunes the log database.
        runtime.options.set("log_setting.retention_days", "1")
        assert await prune_once(runtime, now=int(time.time()) + 2 * 86400) == 4
        assert await _count(runtime.log_engine, Log) == 0
