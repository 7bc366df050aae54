"""Running the Alembic migrations from code (``newapi migrate`` and server startup)."""

from __future__ import annotations

import logging
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from newapi.settings import Settings
from newapi.storage.engine import create_engine, resolve_database
from newapi.storage.log_db import migrate_log_database

log = logging.getLogger(__name__)


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("newapi.storage") / "migrations"))
    config.attributes["connection"] = connection
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
