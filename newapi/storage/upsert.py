"""One-statement insert-or-update in each dialect's words.

PostgreSQL and SQLite say ``ON CONFLICT (...) DO UPDATE`` and name the proposed row
``excluded``; MySQL and MariaDB say ``ON DUPLICATE KEY UPDATE`` (any unique key) and name it
``inserted`` (SQLAlchemy renders ``VALUES(col)`` or a row alias as the server needs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql.dml import Insert


def upsert(
    dialect: str,
    table: Table,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    update: Callable[[Any], Mapping[str, Any]],
) -> Insert:
    """``INSERT values``; on a clash on ``keys``, set ``update(proposed)`` (``proposed.x``
    is the value the insert brought for column x)."""
    if dialect == "mysql":
        # Imported here: loading SQLAlchemy's MySQL dialect costs a worker ~0.1 s at startup.
        from sqlalchemy.dialects import mysql

        mine = mysql.insert(table).values(values)
        return mine.on_duplicate_key_update(dict(update(mine.inserted)))
    if dialect == "postgresql":
        # Imported here too: SQLAlchemy's PostgreSQL dialect is 2.3 MB of a worker's heap, and
        # a worker on SQLite (the embedded default) never loads it otherwise.
        from sqlalchemy.dialects import postgresql

        ours = postgresql.insert(table).values(values)
        return ours.on_conflict_do_update(index_elements=list(keys), set_=dict(update(ours.excluded)))
    if dialect == "sqlite":
        # And here: a worker on PostgreSQL or MySQL has no use for SQLite's dialect, nor for the
        # sqlite3 module and libsqlite3 it brings (1.6 MB of its RSS).
        from sqlalchemy.dialects import sqlite

        embedded = sqlite.insert(table).values(values)
        return embedded.on_conflict_do_update(index_elements=list(keys), set_=dict(update(embedded.excluded)))
    raise ValueError(f"no upsert for dialect {dialect}")
