"""Alembic environment: runs on the connection that newapi.storage.migrate hands it."""

from __future__ import annotations

from alembic import context

from newapi.storage import ledger_tables  # noqa: F401 - registers our tables on the metadata
from newapi.storage.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
