"""members: an index on branch_id

Every branch's board, its member list and a broadcast's expansion look members up by branch;
without the index each of them read the whole table (bench/scale.py: a 20-member branch's
board took 66 ms over 1 million members, as long as counting them all).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_members_branch_id", "members", ["branch_id"])


def downgrade() -> None:
    op.drop_index("ix_members_branch_id", table_name="members")
