"""New API's tables: create what is missing, extend what exists (AutoMigrate semantics).

This revision adopts whatever New API version made the database: it never
drops or retypes a column, so New API keeps working on the same database.

Revision ID: 0001
Revises:
"""

from alembic import op

from newapi.storage.adopt import adopt_schema
from newapi.storage.tables import NEW_API_TABLES

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    adopt_schema(op.get_bind(), NEW_API_TABLES)


def downgrade() -> None:
    # Dropping New API's tables would destroy an operator's data; refuse.
    raise RuntimeError("the base schema cannot be downgraded")
