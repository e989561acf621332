"""reachability: why a direct chat or a room refuses the bot

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("unreachable", sa.Text(), nullable=True))
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("unreachable", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("unreachable")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("unreachable")
