"""A database created the way New API creates it is migrated and used unchanged.

The schema comes from GORM AutoMigrate's DDL for New API's models (fixtures);
we insert a root user with a bcrypt password, a token and a channel the way New
API writes them, start a real ``newapi serve`` on it, log in and list them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncmy
import asyncpg
import bcrypt
import httpx
import pytest

from tests.support.server import serve
from tests.support.services import MYSQL_HOST, MYSQL_PORT, throwaway_mysql, throwaway_postgres

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "newapi_schema"
PASSWORD = "compat-pass-1"
TOKEN_KEY = "abcdEFGH" * 6
CHANNEL_KEY = "sk-upstream-compat-key"

# What New API itself writes; note the reserved-word columns.
ROWS = [
    (
        "INSERT INTO users (id, username, password, display_name, role, status, email, quota, used_quota,"
        ' request_count, "group", aff_code, created_at, auth_version) VALUES'
        " (1, 'root', :pw, 'Root User', 100, 1, '', 100000000, 0, 0, 'default', 'Ab12', :now, 1)"
    ),
    (
        'INSERT INTO tokens (id, user_id, "key", status, name, created_time, accessed_time, expired_time,'
        ' remain_quota, unlimited_quota, model_limits_enabled, model_limits, allow_ips, used_quota, "group")'
        " VALUES (1, 1, :key, 1, 'legacy token', :now, :now, -1, 5000, :false, :false, '', '', 0, '')"
    ),
    (
        'INSERT INTO channels (id, type, "key", status, name, weight, created_time, base_url, models,'
        ' "group", used_quota, priority, auto_ban, open_ai_organization) VALUES'
        " (1, 1, :ckey, 1, 'legacy channel', 0, :now, '', 'gpt-4o,gpt-4o-mini', 'default', 0, 0, 1, 'org-1')"
    ),
    (
        'INSERT INTO abilities ("group", model, channel_id, enabled, priority, weight)'
        " VALUES ('default', 'gpt-4o', 1, :true, 0, 0)"
    ),
    "INSERT INTO options (\"key\", value) VALUES ('SystemName', 'Legacy Gateway')",
]


def _params(style: str) -> dict[str, object]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    truth = {"true": 1, "false": 0} if style == "sqlite" else {"true": True, "false": False}
    return {"pw": hashed, "now": int(time.time()), "key": TOKEN_KEY, "ckey": CHANNEL_KEY, **truth}


def _older(ddl: str) -> str:
    # Pretend the database comes from an older New API without some later columns.
    return (
        ddl.replace(",\"upstream_request_id\" varchar(128) DEFAULT ''", "")
        .replace(',`upstream_request_id` varchar(128) DEFAULT ""', "")
        .replace(',"auto_groups" text', "")
        .replace(",`auto_groups` text", "")
        .replace(",`upstream_request_id` varchar(128) DEFAULT ''", "")
        .replace(",`auto_groups` longtext", "")
    )


def _ddl_statements(kind: str) -> list[str]:
    text = (FIXTURES / f"{kind}.sql").read_text()
    return [
        _older(line.rstrip(";"))
        for line in text.splitlines()
        if line.startswith("CREATE")
        and "upstream_request_id" not in line.split("(", 1)[0]
        and "idx_logs_upstream_request_id" not in line
    ]


def _sqlite_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in _ddl_statements("sqlite"):
        conn.execute(statement)
    params = _params("sqlite")
    for row in ROWS:
        conn.execute(row.replace('"', "`"), params)
    conn.commit()
    conn.close()


async def _postgres_db(dsn: str) -> None:
    conn = await asyncpg.connect(dsn.split("?")[0])
    try:
        for statement in _ddl_statements("postgres"):
            await conn.execute(statement)
        params = _params("postgres")
        for row in ROWS:
            names = [name for name in params if f":{name}" in row]
            sql = row
            for index, name in enumerate(names, start=1):
                sql = sql.replace(f":{name}", f"${index}")
            await conn.execute(sql, *[params[name] for name in names])
        await conn.execute("SELECT setval(pg_get_serial_sequence('users','id'), 1)")
        await conn.execute("SELECT setval(pg_get_serial_sequence('tokens','id'), 1)")
        await conn.execute("SELECT setval(pg_get_serial_sequence('channels','id'), 1)")
    finally:
        await conn.close()


def _mysql_database(dsn: str) -> str:
    return dsn.split(")/", 1)[1].split("?")[0]


async def _mysql_connect(dsn: str) -> asyncmy.Connection:
    return await asyncmy.connect(
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        user="root",
        password="",
        database=_mysql_database(dsn),
        autocommit=True,
    )


async def _mysql_db(dsn: str) -> None:
    conn = await _mysql_connect(dsn)
    try:
        async with conn.cursor() as cursor:
            for statement in _ddl_statements("mysql"):
                await cursor.execute(statement)
            params = _params("mysql")
            for row in ROWS:
                sql = row.replace('"', "`")
                for name in params:
                    sql = sql.replace(f":{name}", f"%({name})s")
                await cursor.execute(sql, params)
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
async def legacy_env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    if request.param == "sqlite":
        path = tmp_path / "one-api.db"
        _sqlite_db(path)
        yield {"SQLITE_PATH": str(path)}
    elif request.param == "mysql":
        async with throwaway_mysql() as dsn:
            await _mysql_db(dsn)
            yield {"SQL_DSN": dsn}
    else:
        async with throwaway_postgres() as dsn:
            await _postgres_db(dsn)
            yield {"SQL_DSN": dsn}


@pytest.mark.e2e
async def test_new_api_database_is_used_unchanged(legacy_env: dict[str, str], tmp_path: Path) -> None:
    def scenario() -> None:
        with (
            serve(legacy_env, workers=2, cwd=tmp_path) as base,
            httpx.Client(base_url=base, timeout=10) as client,
        ):
            assert client.get("/api/setup").json()["data"]["status"] is True  # root exists: set up
            status = client.get("/api/status").json()["data"]
            assert status["system_name"] == "Legacy Gateway"
            login = client.post("/api/user/login", json={"username": "root", "password": PASSWORD}).json()
            assert login["success"], login
            headers = {"New-Api-User": "1"}
            tokens = client.get("/api/token/", headers=headers).json()["data"]
            assert tokens["total"] == 1 and tokens["items"][0]["name"] == "legacy token"
            assert tokens["items"][0]["key"] == TOKEN_KEY[:4] + "**********" + TOKEN_KEY[-4:]
            channels = client.get("/api/channel/", headers=headers).json()["data"]
            assert channels["items"][0]["name"] == "legacy channel"
            assert channels["items"][0]["openai_organization"] == "org-1"
            assert CHANNEL_KEY not in str(channels)
            # Writing through newapi keeps New API's shapes: a new token and channel.
            created = client.post("/api/token/", json={"name": "new"}, headers=headers).json()
            assert created["success"] and len(created["data"]["key"]) == 48
            made = client.post(
                "/api/channel/",
                json={"mode": "single", "channel": {"type": 1, "key": "k2", "name": "c2", "models": "m"}},
                headers=headers,
            ).json()
            assert made["success"], made

    await asyncio.to_thread(scenario)
    columns, indexes = await _schema_facts(legacy_env)
    # The later columns were added in place; no index was duplicated under another name.
    assert {"upstream_request_id"} <= columns["logs"] and {"auto_groups"} <= columns["tokens"]
    assert sorted(i for i in indexes if i.startswith("idx_tokens")) == [
        "idx_tokens_deleted_at",
        "idx_tokens_key",
        "idx_tokens_name",
        "idx_tokens_user_id",
    ]


async def _schema_facts(env: dict[str, str]) -> tuple[dict[str, set[str]], list[str]]:
    if "SQLITE_PATH" in env:
        conn = sqlite3.connect(env["SQLITE_PATH"])
        columns = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in ("logs", "tokens")}
        indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")]
        conn.close()
        return columns, indexes
    if "@tcp(" in env["SQL_DSN"]:
        return await _mysql_schema_facts(env["SQL_DSN"])
    pg = await asyncpg.connect(env["SQL_DSN"].split("?")[0])
    try:
        columns = {}
        for table in ("logs", "tokens"):
            rows = await pg.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name=$1", table
            )
            columns[table] = {r["column_name"] for r in rows}
        indexes = [
            r["indexname"]
            for r in await pg.fetch("SELECT indexname FROM pg_indexes WHERE schemaname='public'")
        ]
    finally:
        await pg.close()
    return columns, indexes


async def _mysql_schema_facts(dsn: str) -> tuple[dict[str, set[str]], list[str]]:
    conn = await _mysql_connect(dsn)
    try:
        async with conn.cursor() as cursor:
            columns: dict[str, set[str]] = {}
            for table in ("logs", "tokens"):
                await cursor.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE()"
                    " AND table_name = %s",
                    (table,),
                )
                columns[table] = {row[0] for row in await cursor.fetchall()}
            await cursor.execute(
                "SELECT DISTINCT index_name FROM information_schema.statistics"
                " WHERE table_schema = DATABASE()"
            )
            indexes = [row[0] for row in await cursor.fetchall()]
    finally:
        conn.close()
    return columns, indexes
