"""The embedded ledger's outbox for a separate log database (LOG_SQL_DSN; additive).

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from newapi.storage.ledger_tables import LogOutbox
from newapi.storage.tables import Base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    Base.metadata.tables[LogOutbox.__tablename__].create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.drop_table("newapi_log_outbox")
