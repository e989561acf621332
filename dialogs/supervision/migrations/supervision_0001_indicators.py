"""supervision: indicators, reports and their files, rectification tasks, notices, web tokens,
board requests

Revision ID: supervision_0001
Revises:
Depends on: 0001 (members and branches)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "supervision_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("supervision",)
depends_on: str | Sequence[str] | None = "0001"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)
TABLES = (
    "sup_board_requests",
    "sup_files",
    "sup_task_steps",
    "sup_tasks",
    "sup_reports",
    "sup_web_tokens",
    "sup_notices",
    "sup_indicators",
)
"""In the order they are dropped (each before the tables it refers to)."""


def upgrade() -> None:
    op.create_table(
        "sup_indicators",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("imported_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_indicators")),
        sa.UniqueConstraint("key", name=op.f("uq_sup_indicators_key")),
    )
    op.create_table(
        "sup_notices",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sup_notices")),
    )
    op.create_table(
        "sup_board_requests",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("asker", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("thread", sa.String(length=255), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("branch_ids", sa.JSON(), nullable=True),
        sa.Column("asked_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_board_requests")),
        sa.UniqueConstraint("asker", name=op.f("uq_sup_board_requests_asker")),
    )
    op.create_table(
        "sup_web_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=200), nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_web_tokens")),
        sa.UniqueConstraint("digest", name=op.f("uq_sup_web_tokens_digest")),
    )
    op.create_index(
        op.f("ix_sup_web_tokens_expires_at"), "sup_web_tokens", ["expires_at"], unique=False
    )
    op.create_table(
        "sup_reports",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("indicator_id", BIG_ID, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("by_id", BIG_ID, nullable=True),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_sup_reports_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_id"],
            ["members.id"],
            name=op.f("fk_sup_reports_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["sup_indicators.id"],
            name=op.f("fk_sup_reports_indicator_id_sup_indicators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_reports")),
        sa.UniqueConstraint(
            "indicator_id",
            "branch_id",
            "period",
            "version",
            name=op.f("uq_sup_reports_indicator_id"),
        ),
    )
    op.create_index(
        "ix_sup_reports_current", "sup_reports", ["branch_id", "current", "period"], unique=False
    )
    op.create_index("ix_sup_reports_period", "sup_reports", ["period", "current"], unique=False)
    op.create_table(
        "sup_tasks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", BIG_ID, nullable=True),
        sa.Column("made_by_id", BIG_ID, nullable=True),
        sa.Column("made_by", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reminded", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_sup_tasks_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["made_by_id"],
            ["members.id"],
            name=op.f("fk_sup_tasks_made_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["members.id"],
            name=op.f("fk_sup_tasks_owner_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_tasks")),
    )
    op.create_index(op.f("ix_sup_tasks_branch_id"), "sup_tasks", ["branch_id"], unique=False)
    op.create_index(op.f("ix_sup_tasks_owner_id"), "sup_tasks", ["owner_id"], unique=False)
    op.create_index("ix_sup_tasks_status", "sup_tasks", ["status", "due"], unique=False)
    op.create_table(
        "sup_task_steps",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("task_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", STAMP, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["sup_tasks.id"],
            name=op.f("fk_sup_task_steps_task_id_sup_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_task_steps")),
    )
    op.create_index(op.f("ix_sup_task_steps_task_id"), "sup_task_steps", ["task_id"], unique=False)
    op.create_table(
        "sup_files",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("report_id", BIG_ID, nullable=True),
        sa.Column("step_id", BIG_ID, nullable=True),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["sup_reports.id"],
            name=op.f("fk_sup_files_report_id_sup_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["sup_task_steps.id"],
            name=op.f("fk_sup_files_step_id_sup_task_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sup_files")),
    )
    op.create_index(op.f("ix_sup_files_report_id"), "sup_files", ["report_id"], unique=False)
    op.create_index(op.f("ix_sup_files_step_id"), "sup_files", ["step_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
