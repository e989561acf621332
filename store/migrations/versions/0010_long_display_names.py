"""long display names: members and accounts keep as many characters as the edge lets through

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("members", "identities")


def _sqlite() -> bool:
    """SQLite does not enforce VARCHAR lengths, and changing a column's type there rebuilds the
    table: dropping the old ``members`` would cascade through every foreign key to it and
    delete answers, points and memberships. So there is nothing to do, and nothing is done."""
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if _sqlite():
        return
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "display_name",
                existing_type=sa.String(length=128),
                type_=sa.String(length=255),
                existing_nullable=False,
            )


def downgrade() -> None:
    for table in TABLES:
        op.execute(sa.text(f"UPDATE {table} SET display_name = substr(display_name, 1, 128)"))
        if _sqlite():
            continue
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "display_name",
                existing_type=sa.String(length=255),
                type_=sa.String(length=128),
                existing_nullable=False,
            )
