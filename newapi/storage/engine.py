"""Database engines from New API's ``SQL_DSN`` / ``SQLITE_PATH`` conventions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import NullPool

from newapi.settings import Settings
from newapi.storage.tables import Log

Dialect = Literal["sqlite", "postgresql", "mysql"]


@dataclass(frozen=True, slots=True)
class Database:
    """A target database: SQLAlchemy URL plus the dialect it speaks."""

    url: str
    dialect: Dialect

    def describe(self) -> str:
        """The URL with any password hidden, for logs."""
        parts = urlsplit(self.url)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.url


def resolve_database(settings: Settings, dsn: str | None = None) -> Database:
    """Translate New API's DSN forms into a SQLAlchemy async URL.

    - empty or ``local``: SQLite at ``SQLITE_PATH`` (inside ``NEWAPI_DATA_DIR`` if set);
    - ``postgres://`` / ``postgresql://``: asyncpg;
    - ``user:pass@tcp(host:port)/db?...`` (Go MySQL DSN) or ``mysql://``: asyncmy (chosen over
      aiomysql by ``bench/load/mysql_driver.py``: less CPU per query and per batch insert).
    """
    dsn = settings.sql_dsn if dsn is None else dsn
    if not dsn or dsn == "local":
        path = settings.sqlite_path
        if settings.data_dir and not os.path.isabs(path):
            path = os.path.join(settings.data_dir, path)
        return Database(f"sqlite+aiosqlite:///{path}", "sqlite")
    if dsn.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        # asyncpg takes ``ssl`` rather than libpq's ``sslmode``; ``disable`` means no TLS.
        sslmode = query.pop("sslmode", None)
        if sslmode and sslmode not in ("disable", "allow", "prefer"):
            query["ssl"] = sslmode
        for key in ("TimeZone", "timezone", "connect_timeout"):
            query.pop(key, None)
        url = parts._replace(scheme="postgresql+asyncpg", query=urlencode(query)).geturl()
        return Database(url, "postgresql")
    if dsn.startswith("sqlite"):
        return Database(dsn.replace("sqlite://", "sqlite+aiosqlite://", 1), "sqlite")
    if dsn.startswith(("mysql://", "mysql+asyncmy://")):
        return Database(_mysql_url(dsn), "mysql")
    if "@tcp(" in dsn or "@unix(" in dsn or "@/" in dsn:
        return Database(_go_mysql_to_url(dsn), "mysql")
    raise ValueError("SQL_DSN is not a PostgreSQL URL, a MySQL DSN, or 'local'")


def _mysql_url(dsn: str) -> str:
    parts = urlsplit(dsn)
    # Go driver options (parseTime, loc, ...) mean nothing to asyncmy; the charset is always utf8mb4.
    return parts._replace(scheme="mysql+asyncmy", query="charset=utf8mb4").geturl()


def _go_mysql_to_url(dsn: str) -> str:
    creds, _, rest = dsn.rpartition("@")
    user, _, password = creds.partition(":")
    address, _, tail = rest.partition(")/") if ")" in rest else ("", "", rest.lstrip("/"))
    host = address.split("(", 1)[1] if "(" in address else "127.0.0.1:3306"
    name, _, _query = tail.partition("?")
    auth = quote(unquote(user), safe="")
    if password:
        auth += ":" + quote(unquote(password), safe="")
    if address.startswith("unix("):
        return f"mysql+asyncmy://{auth}@/{name}?charset=utf8mb4&unix_socket={quote(host, safe='/')}"
    return f"mysql+asyncmy://{auth}@{host}/{name}?charset=utf8mb4"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(
    database: Database, settings: Settings, *, pool: bool = True, writer: bool = False
) -> AsyncEngine:
    """An async engine with pool sizes from New API's ``SQL_MAX_*`` settings.

    ``writer=True`` makes an SQLite engine start every transaction with ``BEGIN
    IMMEDIATE``: a transaction that reads and then writes would otherwise fail at
    once with "database is locked" when another writer committed in between,
    instead of waiting its turn.
    """
    kwargs: dict[str, Any] = {}
    if database.dialect == "sqlite":
        directory = os.path.dirname(database.url.split("///", 1)[-1])
        if directory:
            os.makedirs(directory, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
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
        if writer:
            # The driver no longer begins transactions itself; we do, taking the write lock first.
            event.listen(engine.sync_engine, "begin", _begin_immediate)
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
