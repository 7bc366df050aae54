"""Column types that render exactly as GORM's AutoMigrate creates them.

New API may run AutoMigrate on a database we created (and we on one it
created); matching its type names and index names keeps either side from
altering or duplicating the other's schema.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Dialect, Float, Integer, Numeric, String, Text
from sqlalchemy.dialects.sqlite import REAL
from sqlalchemy.types import TypeDecorator, UserDefinedType

# Go int / int64 / uint: bigint on PostgreSQL and MySQL, integer on SQLite
# (where only INTEGER PRIMARY KEY aliases the rowid).
GoInt = BigInteger().with_variant(Integer(), "sqlite")


def sized(length: int) -> Any:
    """GORM ``size:N`` on a string: varchar(N) on PostgreSQL, text on SQLite."""
    return String(length).with_variant(Text(), "sqlite")


# Go float64: decimal on PostgreSQL, real on SQLite.
GoFloat = Numeric(asdecimal=False).with_variant(REAL(), "sqlite").with_variant(Float(), "mysql")

# gorm.DeletedAt / time.Time: timestamptz on PostgreSQL, datetime on SQLite.
GoTime = DateTime(timezone=True)


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
