"""Index the Redis ledger's applied-entry ids by age, so the flusher can prune them (additive).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_newapi_ledger_entries_created_at", "newapi_ledger_entries", ["created_at"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_index("ix_newapi_ledger_entries_created_at", table_name="newapi_ledger_entries")
