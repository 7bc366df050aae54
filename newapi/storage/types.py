"""Column types that render exactly as GORM's AutoMigrate creates them.

New API may run AutoMigrate on a database we created (and we on one it
created); matching its type names and index names keeps either side from
altering or duplicating the other's schema.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.types import DOUBLE, REAL, TypeDecorator, UserDefinedType

# The MySQL dialect's types are imported only where a MySQL database asks for them: importing
# sqlalchemy.dialects.mysql loads every MySQL driver module SQLAlchemy knows (~0.1 s at startup).
# REAL is the generic type (the SQLite dialect's REAL is the same class), so a worker on
# PostgreSQL or MySQL does not import SQLite's dialect for it.

# Go int / int64 / uint: bigint on PostgreSQL and MySQL, integer on SQLite
# (where only INTEGER PRIMARY KEY aliases the rowid).
GoInt = BigInteger().with_variant(Integer(), "sqlite")


def sized(length: int) -> Any:
    """GORM ``size:N`` on a string: varchar(N) on PostgreSQL, text on SQLite."""
    return String(length).with_variant(Text(), "sqlite")


# Go float64: decimal on PostgreSQL, real on SQLite, double on MySQL.
GoFloat = (
    Numeric(asdecimal=False).with_variant(REAL(), "sqlite").with_variant(DOUBLE(asdecimal=False), "mysql")
)


class _GoTime(TypeDecorator[datetime]):
    """gorm.DeletedAt / time.Time: timestamptz on PostgreSQL, datetime on SQLite, datetime(3) on MySQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return DATETIME(fsp=3)
        return super().load_dialect_impl(dialect)


GoTime = _GoTime()


class _GoString(TypeDecorator[str]):
    """A Go string without a size: text on PostgreSQL and SQLite; on MySQL varchar(191) when
    ``short`` (a key, indexed or with a default), else longtext (see :func:`gorm_mysql_strings`)."""

    impl = Text
    cache_ok = True

    def __init__(self, short: bool) -> None:
        super().__init__()
        self.short = short

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import LONGTEXT

            return String(191) if self.short else LONGTEXT()
        return super().load_dialect_impl(dialect)


class GoText(Text):
    """GORM ``type:text``: text everywhere, MySQL included.

    A plain ``Text`` column stands for a Go string without a size, which GORM
    types per dialect (see :func:`gorm_mysql_strings`).
    """


def gorm_mysql_strings(table: Table) -> None:
    """Give ``table``'s sizeless Go strings the MySQL type GORM gives them.

    gorm.io/driver/mysql makes such a string ``varchar(191)`` (the longest utf8mb4
    key prefix of old InnoDB) when it is a key, is indexed or has a default, and
    ``longtext`` otherwise; PostgreSQL and SQLite call both ``text``.
    """
    keyed = {column.name for index in table.indexes for column in index.columns}
    keyed |= {column.name for column in table.primary_key.columns}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            keyed |= {column.name for column in constraint.columns}
    for column in table.columns:
        if type(column.type) is not Text:
            continue
        column.type = _GoString(column.name in keyed or column.server_default is not None)


@compiles(UniqueConstraint, "mysql")
def _inline_unique(constraint: UniqueConstraint, compiler: DDLCompiler, **kw: Any) -> str:
    # GORM's ``unique`` tag is an inline UNIQUE, which MySQL names after the column
    # (PostgreSQL names it <table>_<column>_key, the name the model carries).
    sql: str = compiler.visit_unique_constraint(constraint, **kw)
    return re.sub(r"^CONSTRAINT \S+ ", "", sql)


class GoBool(TypeDecorator[bool]):
    """Go bool: boolean on PostgreSQL, numeric (0/1) on SQLite."""

    impl = Boolean
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(asdecimal=False))
        return dialect.type_descriptor(Boolean())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return 1 if value else 0
        return bool(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> bool | None:
        if value is None:
            return None
        return bool(value)


class JsonText(UserDefinedType[str]):
    """GORM ``type:json``: a ``json`` column holding JSON text, passed through as ``str``."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "json"

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: Any) -> Any:
            if value is None or isinstance(value, str):
                return value
            if isinstance(value, bytes):
                return value.decode()
            raise TypeError("JsonText columns take JSON text")

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        def process(value: Any) -> Any:
            if isinstance(value, bytes):
                return value.decode()
            if value is None or isinstance(value, str):
                return value
            import orjson

            return orjson.dumps(value).decode()

        return process
