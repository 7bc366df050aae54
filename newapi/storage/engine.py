"""Database engines from New API's ``SQL_DSN`` / ``SQLITE_PATH`` conventions."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import NullPool, PoolResetState

from newapi.settings import Settings
from newapi.storage.dsn import Database as Database
from newapi.storage.dsn import Dialect as Dialect
from newapi.storage.dsn import resolve_database as resolve_database
from newapi.storage.tables import Log


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: The page cache of the ledger's SQLite writer, in KiB (``PRAGMA cache_size=-N``; SQLite's
#: default is 2000, about 470 pages). With two workers a flush finds that the other one
#: committed since its own last flush and starts from an empty cache, so the cache holds one
#: flush's pages; at 150 rows a second a flush writes about 115 pages and reads about 80, and
#: with 512 KiB (about 120 pages) it still writes and reads as many as at 2000. At 2000 the
#: bound was reached only by the larger flushes after a stall: steps of up to 1.4 MB of the
#: writer thread's malloc arena at random times in a soak's first ten minutes (bench/README.md,
#: "Worker memory over a soak: the ledger writer's page cache").
WRITER_CACHE_KIB = 512


def _writer_cache(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


#: Set in a pooled connection's ``info`` by code that ran its own transaction on the driver's
#: connection and ended it (newapi.billing.sqlite_flush): its next return to the pool skips the
#: rollback, a hop to aiosqlite's thread and back for a connection with no transaction open.
RETURNED_CLEAN = "newapi_returned_clean"


def _reset_sqlite(dbapi_conn: Any, record: Any, state: PoolResetState) -> None:
    """The pool's rollback on return (SQLAlchemy's own, with ``pool_reset_on_return=None``),
    except for a connection returned as :data:`RETURNED_CLEAN`."""
    clean = record is not None and record.info.pop(RETURNED_CLEAN, False)
    if clean or not state.asyncio_safe or state.transaction_was_reset:
        return
    dbapi_conn.rollback()


def create_engine(
    database: Database, settings: Settings, *, pool: bool = True, writer: bool = False
) -> AsyncEngine:
    """An async engine with pool sizes from New API's ``SQL_MAX_*`` settings.

    ``writer=True`` makes an SQLite engine start every transaction with ``BEGIN
    IMMEDIATE``: a transaction that reads and then writes would otherwise fail at
    once with "database is locked" when another writer committed in between,
    instead of waiting its turn; its page cache is bounded (``WRITER_CACHE_KIB``).
    """
    kwargs: dict[str, Any] = {}
    if database.dialect == "sqlite":
        directory = os.path.dirname(database.url.split("///", 1)[-1])
        if directory:
            os.makedirs(directory, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        kwargs["pool_reset_on_return"] = None  # _reset_sqlite does it
        if writer:
            kwargs["connect_args"]["isolation_level"] = None
    elif pool:
        # One async worker needs few connections; New API's 100/1000 (sized for
        # goroutines) would exhaust PostgreSQL with a handful of workers.
        size = max(1, min(settings.sql_max_idle_conns, 10))
        overflow = max(0, min(settings.sql_max_open_conns, 20) - size)
        kwargs.update(
            pool_size=size,
            max_overflow=overflow,
            pool_recycle=max(settings.sql_max_lifetime, 1) * 60,
            pool_pre_ping=True,
        )
    if not pool:
        kwargs["poolclass"] = NullPool
    engine = create_async_engine(database.url, **kwargs)
    if database.dialect == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "reset", _reset_sqlite)
        if writer:
            # The driver no longer begins transactions itself; we do, taking the write lock first.
            event.listen(engine.sync_engine, "begin", _begin_immediate)
            event.listen(engine.sync_engine, "connect", _writer_cache)
    return engine


def session_factory(
    engine: AsyncEngine, log_engine: AsyncEngine | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine``; with ``log_engine`` (``LOG_SQL_DSN``) the ``logs`` table's reads
    and writes go there instead, as New API's ``LOG_DB`` does (a session that changes both
    commits each database in turn, not atomically, as New API writes its logs after the fact)."""
    if log_engine is None:
        return async_sessionmaker(engine, expire_on_commit=False)
    return async_sessionmaker(engine, binds={Log: log_engine}, expire_on_commit=False)
