"""A database we create has New API's columns, types and index names, table by table.

If they matched only loosely, New API's AutoMigrate (run against a database we
made) would alter columns or add duplicate indexes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from newapi.storage.engine import resolve_database
from newapi.storage.migrate import migrate
from tests.conftest import make_settings
from tests.support.services import mysql_admin, throwaway_mysql, throwaway_postgres

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "newapi_schema"
TABLES = (
    "users",
    "tokens",
    "channels",
    "abilities",
    "logs",
    "options",
    "redemptions",
    "top_ups",
    "quota_data",
    "setups",
    "midjourneys",
    "tasks",
)
_ALIASES = {
    "bigserial": "bigint",
    "integer": "bigint",
    "int": "bigint",
    "numeric": "numeric",
    "decimal": "numeric",
    # MariaDB stores MySQL's json as longtext (with a JSON check); both sides go through the same server.
    "bool": "boolean",
    "tinyint(1)": "boolean",
    "tinyint": "boolean",
}


def _norm(type_name: str) -> str:
    t = type_name.lower().replace("character varying", "varchar").replace("character", "char")
    t = t.replace("timestamp with time zone", "timestamptz")
    t = t.split(" collate ")[0].split(" charset ")[0].replace(" ", "")
    return _ALIASES.get(t, t)


async def _describe(url: str) -> dict[str, Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:

            def read(sync: Any) -> dict[str, Any]:
                insp = inspect(sync)
                out: dict[str, Any] = {}
                for table in TABLES:
                    cols = {c["name"]: _norm(str(c["type"])) for c in insp.get_columns(table)}
                    idx = {i["name"]: tuple(i["column_names"]) for i in insp.get_indexes(table)}
                    pk = tuple(insp.get_pk_constraint(table)["constrained_columns"])
                    out[table] = (cols, idx, pk)
                return out

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def _mysql_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    async with throwaway_mysql() as ours_dsn, throwaway_mysql() as theirs_dsn:
        await migrate(make_settings(SQL_DSN=ours_dsn))
        theirs_name = theirs_dsn.split(")/", 1)[1].split("?")[0]
        for line in (FIXTURES / "mysql.sql").read_text().splitlines():
            if line.startswith("CREATE"):
                await mysql_admin(line, theirs_name)
        settings = make_settings()
        return (
            await _describe(resolve_database(settings, ours_dsn).url),
            await _describe(resolve_database(settings, theirs_dsn).url),
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
async def test_created_schema_matches_gorm(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        ours_path, theirs_path = tmp_path / "ours.db", tmp_path / "theirs.db"
        await migrate(make_settings(SQLITE_PATH=str(ours_path)))
        conn = sqlite3.connect(theirs_path)
        for line in (FIXTURES / "sqlite.sql").read_text().splitlines():
            if line.startswith("CREATE"):
                conn.execute(line.rstrip(";"))
        conn.commit()
        conn.close()
        ours = await _describe(f"sqlite+aiosqlite:///{ours_path}")
        theirs = await _describe(f"sqlite+aiosqlite:///{theirs_path}")
    elif kind == "mysql":
        ours, theirs = await _mysql_pair()
    else:
        async with throwaway_postgres() as ours_dsn, throwaway_postgres() as theirs_dsn:
            await migrate(make_settings(SQL_DSN=ours_dsn))
            conn = await asyncpg.connect(theirs_dsn.split("?")[0])
            try:
                for line in (FIXTURES / "postgres.sql").read_text().splitlines():
                    if line.startswith("CREATE"):
                        await conn.execute(line)
            finally:
                await conn.close()
            settings = make_settings()
            ours = await _describe(resolve_database(settings, ours_dsn).url)
            theirs = await _describe(resolve_database(settings, theirs_dsn).url)
    for table in TABLES:
        our_cols, our_idx, our_pk = ours[table]
        their_cols, their_idx, their_pk = theirs[table]
        assert set(our_cols.items()) ^ set(their_cols.items()) == set(), table
        assert our_pk == their_pk, table
        assert set(our_idx.items()) ^ set(their_idx.items()) == set(), table
