"""The log database: New API's ``LOG_SQL_DSN`` puts the ``logs`` table in a database of its own.

Everything else stays in the main database (``SQL_DSN``), ``quota_data`` included,
as in New API. The log database holds New API's ``logs`` table and one additive
table of ours, ``newapi_log_entries``: the request ids whose logs were written,
so that a ledger flush replayed after a crash writes each log once (see
:mod:`newapi.billing.log_sink`).
"""

from __future__ import annotations

import logging
from typing import cast

from sqlalchemy import Column, Connection, Index, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncEngine

from newapi.settings import Settings
from newapi.storage.adopt import adopt_schema
from newapi.storage.engine import Database, create_engine, resolve_database
from newapi.storage.tables import Log
from newapi.storage.types import GoInt

log = logging.getLogger(__name__)

#: Tables that live only in a separate log database (never in the main one's metadata).
LOG_METADATA = MetaData()
LOG_ENTRIES = Table(
    "newapi_log_entries",
    LOG_METADATA,
    Column("id", String(96), primary_key=True),
    # When it was written; claims older than any replay can reach are pruned.
    Column("created_at", GoInt, nullable=False, default=0),
    Index("ix_newapi_log_entries_created_at", "created_at"),
)
LOGS = cast(Table, Log.__table__)


def resolve_log_database(settings: Settings, main: Database | None = None) -> Database | None:
    """The log database when ``LOG_SQL_DSN`` names one other than the main database, else None."""
    if not settings.log_sql_dsn:
        return None
    try:
        database = resolve_database(settings, settings.log_sql_dsn)
    except ValueError:
        raise ValueError("LOG_SQL_DSN is not a PostgreSQL URL, a MySQL DSN, or 'local'") from None
    main = resolve_database(settings) if main is None else main
    return None if database.url == main.url else database


def open_log_engine(settings: Settings, main: Database) -> tuple[Database, AsyncEngine] | None:
    """An engine on the separate log database, or None when the logs share the main one."""
    database = resolve_log_database(settings, main)
    if database is None:
        return None
    return database, create_engine(database, settings)


def _adopt(connection: Connection) -> list[str]:
    return adopt_schema(connection, [LOGS, LOG_ENTRIES])


async def migrate_log_database(settings: Settings) -> str | None:
    """Create or adopt the log database's tables; returns its kind, or None when there is none.

    An existing New API log database keeps its rows: missing tables are created and
    existing ones only gain the columns and indexes they lack (AutoMigrate semantics).
    """
    database = resolve_log_database(settings)
    if database is None:
        return None
    engine = create_engine(database, settings, pool=False)
    try:
        async with engine.begin() as connection:
            if database.dialect == "postgresql":
                # One migrator at a time when several nodes start together.
                await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7301190418)")
            elif database.dialect == "mysql":
                # MySQL commits each DDL statement at once; a session lock (freed when this
                # unpooled connection closes) keeps the migrators in turn instead.
                await connection.exec_driver_sql("SELECT GET_LOCK('newapi-migrate-7301190418', 300)")
            done = await connection.run_sync(_adopt)
    finally:
        await engine.dispose()
    for step in done:
        log.info("log database: %s", step)
    log.info("log database %s is up to date", database.describe())
    return database.dialect
