"""onboarding codes: who made a link code, and wrong codes for the guess rate limit

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("link_codes") as batch:
        batch.add_column(sa.Column("user_id", sa.String(length=255), nullable=True))
    op.create_table(
        "code_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_failures")),
    )
    op.create_index(
        op.f("ix_code_failures_failed_at"), "code_failures", ["failed_at"], unique=False
    )
    op.create_index(
        "ix_code_failures_key", "code_failures", ["platform", "scope", "key", "failed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_code_failures_key", table_name="code_failures")
    op.drop_index(op.f("ix_code_failures_failed_at"), table_name="code_failures")
    op.drop_table("code_failures")
    # Not in batch mode: on SQLite that rebuilds the table, and dropping the old one cascades
    # through its foreign keys. SQLite drops a column in place (3.35 and later).
    op.drop_column("link_codes", "user_id")
