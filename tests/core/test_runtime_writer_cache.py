"""The ledger's SQLite writer runs with a page cache bounded at ``WRITER_CACHE_KIB`` (issue 19's
soak: at SQLite's default of 2000 KiB the cache reached its bound only in the larger flushes, a
late step of the writer thread's memory); the request path's engine keeps SQLite's default."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from newapi import runtime
from newapi.storage.engine import WRITER_CACHE_KIB, create_engine, resolve_database
from tests.conftest import make_settings


async def _cache_size(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(text("PRAGMA cache_size"))).scalar_one())


async def test_the_sqlite_writer_has_the_bounded_page_cache(tmp_path: Path) -> None:
    settings = make_settings(SQLITE_PATH=str(tmp_path / "one-api.db"))
    database = resolve_database(settings)
    engine = create_engine(database, settings)
    ledger = runtime._sql_ledger(database, settings, engine, None)
    try:
        assert await _cache_size(ledger._engine) == -WRITER_CACHE_KIB
        assert WRITER_CACHE_KIB < 2000
        assert await _cache_size(engine) == -2000
    finally:
        await ledger._engine.dispose()
        await engine.dispose()
