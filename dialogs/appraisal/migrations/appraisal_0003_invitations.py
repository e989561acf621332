"""appraisal: the rounds whose invitations are still going out

Revision ID: appraisal_0003
Revises: appraisal_0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "appraisal_0003"
down_revision: str | None = "appraisal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appraisal_invitations",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("report_to", sa.JSON(), nullable=False),
        sa.Column("last_member_id", BIG_ID, nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("unreachable", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_invitations_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_appraisal_invitations")),
    )


def downgrade() -> None:
    op.drop_table("appraisal_invitations")
