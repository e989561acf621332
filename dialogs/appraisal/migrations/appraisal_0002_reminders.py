"""appraisal: the reminders each member who has not submitted got, and the closing notices

Revision ID: appraisal_0002
Revises: appraisal_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "appraisal_0002"
down_revision: str | None = "appraisal_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appraisal_reminders",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_reminders_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_appraisal_reminders_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_appraisal_reminders")),
    )
    op.create_table(
        "appraisal_closing_notices",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_closing_notices_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_appraisal_closing_notices")),
    )


def downgrade() -> None:
    op.drop_table("appraisal_closing_notices")
    op.drop_table("appraisal_reminders")
