"""Management API: our job-lease table (additive; New API never reads it).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from newapi.storage.job_leases import JobLease
from newapi.storage.tables import Base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    Base.metadata.tables[JobLease.__tablename__].create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.drop_table("newapi_job_leases")
