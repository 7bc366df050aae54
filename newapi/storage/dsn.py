"""New API's ``SQL_DSN`` / ``SQLITE_PATH`` forms as SQLAlchemy URLs, without importing SQLAlchemy.

Apart from the engines (``newapi.storage.engine``) so that Granian's supervisor process, which needs
the node directory of a database but never opens it, stays free of SQLAlchemy (issue 19: its memory).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from newapi.settings import Settings

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
