"""Index the Redis ledger's applied-entry ids by age, so the flusher can prune them (additive).

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import inspect

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Checked here rather than with IF NOT EXISTS, which MySQL's CREATE INDEX lacks.
    names = {ix["name"] for ix in inspect(op.get_bind()).get_indexes("newapi_ledger_entries")}
    if "ix_newapi_ledger_entries_created_at" not in names:
        op.create_index("ix_newapi_ledger_entries_created_at", "newapi_ledger_entries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_newapi_ledger_entries_created_at", table_name="newapi_ledger_entries")
