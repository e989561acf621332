"""schedules remember when they were stopped (``/unschedule`` of a stopped one says when)

Revision ID: 0006_schedule_stopped_at
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast_schedules") as batch:
        batch.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that rebuilds the table, and dropping the old one cascades
    # through its foreign keys. SQLite drops a column in place (3.35 and later).
    op.drop_column("broadcast_schedules", "stopped_at")
