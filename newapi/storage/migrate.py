"""Running the Alembic migrations from code (``newapi migrate`` and server startup)."""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from newapi.settings import Settings
from newapi.storage.engine import create_engine, resolve_database
from newapi.storage.log_db import migrate_log_database

log = logging.getLogger(__name__)


def _config(connection: Connection) -> Config:
    config = _config_without_connection()
    config.attributes["connection"] = connection
    return config


def _head() -> str:
    head = ScriptDirectory.from_config(_config_without_connection()).get_current_head()
    assert head is not None
    return head


def _config_without_connection() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("newapi.storage") / "migrations"))
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_config(connection), "head")


async def migrate(settings: Settings, dsn: str | None = None) -> str:
    """Bring the database up to date, and the log database (``LOG_SQL_DSN``) with it unless
    ``dsn`` names another database; returns the main database's kind."""
    database = resolve_database(settings, dsn)
    engine = create_engine(database, settings, pool=False)
    try:
        async with engine.begin() as connection:
            if database.dialect == "postgresql":
                # One migrator at a time when several nodes start together.
                await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7301190417)")
            elif database.dialect == "mysql":
                # MySQL commits each DDL statement at once; a session lock (freed when this
                # unpooled connection closes) keeps the migrators in turn instead.
                await connection.exec_driver_sql("SELECT GET_LOCK('newapi-migrate-7301190417', 300)")
            await connection.run_sync(_upgrade)
    finally:
        await engine.dispose()
    log.info("database %s is up to date", database.describe())
    if dsn is None:
        await migrate_log_database(settings)
    return database.dialect


class SchemaNotReady(RuntimeError):
    """A slave node found no up-to-date schema within ``NEWAPI_SCHEMA_WAIT`` seconds."""


async def schema_revision(settings: Settings) -> str | None:
    """The database's Alembic revision, or None when it was never migrated (read-only)."""
    database = resolve_database(settings)
    engine = create_engine(database, settings, pool=False)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
                return None
            # Read directly: alembic's MigrationContext logs a line per look, and a slave looks often.
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            return None if revision is None else str(revision)
    finally:
        await engine.dispose()


def _is_current(revision: str | None, head: str) -> bool:
    if revision is None:
        return False
    if revision == head:
        return True
    known = {
        script.revision
        for script in ScriptDirectory.from_config(_config_without_connection()).walk_revisions()
    }
    # A revision we do not know is a newer release's: its masters migrated first, and our
    # migrations are additive, so this node reads the tables it knows.
    return revision not in known


async def wait_for_schema(settings: Settings, *, poll: float = 1.0) -> str:
    """A slave's start: wait (read-only, creating nothing) until a master has migrated.

    ``NODE_TYPE=slave`` runs no migrations (New API), so a slave started with, or before,
    its master would otherwise serve from tables that are missing or behind. Raises
    SchemaNotReady after ``settings.schema_wait`` seconds; returns the revision found.
    """
    head = _head()
    deadline = time.monotonic() + settings.schema_wait
    logged = False
    while True:
        try:
            revision: str | None = await schema_revision(settings)
            problem = f"at revision {revision or 'none (never migrated)'}, not {head}"
        except (SQLAlchemyError, OSError) as exc:
            revision, problem = None, f"unreachable ({exc.__class__.__name__})"
        if _is_current(revision, head):
            assert revision is not None
            if logged:
                log.info("database schema is at %s; starting", revision)
            return revision
        if time.monotonic() >= deadline:
            raise SchemaNotReady(
                f"the database is {problem} after {settings.schema_wait:g} s; NODE_TYPE=slave runs "
                "no migrations: start a master node (or run `newapi migrate`) on this database first"
            )
        if not logged:
            log.warning("NODE_TYPE=slave: waiting for a master to migrate the database (%s)", problem)
            logged = True
        await asyncio.sleep(poll)
