"""tally: its counts table, on a branch of its own beside the core's revisions

Revision ID: tally_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tally_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("tally",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tally_counts",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_tally_counts")),
    )


def downgrade() -> None:
    op.drop_table("tally_counts")
