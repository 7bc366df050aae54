"""Bringing a database to New API's schema the way GORM's AutoMigrate does.

Tables that are missing are created; tables that exist (made by New API, of any
version) only gain the columns and indexes they lack. Nothing is dropped or
retyped, so New API can keep reading the same database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import Connection, inspect
from sqlalchemy.schema import Column, Table

log = logging.getLogger(__name__)


def _column_ddl(conn: Connection, table: Table, column: Column[object]) -> str:
    dialect = conn.dialect
    preparer = dialect.identifier_preparer
    type_sql = column.type.compile(dialect=dialect)
    sql = f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {preparer.format_column(column)} {type_sql}"
    default = column.server_default
    if default is not None:
        arg = getattr(default, "arg", None)
        if isinstance(arg, str):
            literal = arg.replace("'", "''")
            sql += f" DEFAULT '{literal}'"
    if not column.nullable and default is not None:
        sql += " NOT NULL"
    return sql


def adopt_schema(conn: Connection, tables: Iterable[Table]) -> list[str]:
    """Create missing tables, add missing columns and indexes; returns what was done."""
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    done: list[str] = []
    for table in tables:
        if table.name not in existing:
            table.create(conn)
            done.append(f"created table {table.name}")
            continue
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in columns:
                conn.exec_driver_sql(_column_ddl(conn, table, column))
                done.append(f"added column {table.name}.{column.name}")
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table.name)}
        index_names = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for uc in inspector.get_unique_constraints(table.name):
            indexed.add(tuple(uc["column_names"]))
        for index in table.indexes:
            cols = tuple(c.name for c in index.columns)
            if index.name in index_names or cols in indexed:
                continue
            try:
                with conn.begin_nested():
                    index.create(conn)
                done.append(f"created index {index.name}")
            except Exception:
                # A unique index can fail on legacy duplicate data; New API works without it.
                log.warning("could not create index %s on %s", index.name, table.name, exc_info=True)
    return done
