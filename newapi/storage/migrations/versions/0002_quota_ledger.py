"""Our quota ledger tables (additive).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from newapi.storage.ledger_tables import FlushBatch, LedgerEntry, QuotaLease
from newapi.storage.tables import Base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables = [Base.metadata.tables[t.__tablename__] for t in (QuotaLease, FlushBatch, LedgerEntry)]
    bind = op.get_bind()
    for table in tables:
        table.create(bind, checkfirst=True)


def downgrade() -> None:
    op.drop_table("newapi_ledger_entries")
    op.drop_table("newapi_flush_batches")
    op.drop_table("newapi_quota_leases")
