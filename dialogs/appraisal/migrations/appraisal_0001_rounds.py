"""appraisal: templates, rounds, who may answer, the participation and the answer ledgers

Revision ID: appraisal_0001
Revises:
Depends on: 0001 (members and branches)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "appraisal_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("appraisal",)
depends_on: str | Sequence[str] | None = "0001"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appraisal_templates",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_templates")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_appraisal_templates_key")),
    )
    op.create_table(
        "appraisal_rounds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("template_id", BIG_ID, nullable=False),
        sa.Column("opened_by", BIG_ID, nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["appraisal_templates.id"],
            name=op.f("fk_appraisal_rounds_template_id_appraisal_templates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["members.id"],
            name=op.f("fk_appraisal_rounds_opened_by_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_rounds")),
    )
    op.create_index(op.f("ix_appraisal_rounds_template_id"), "appraisal_rounds", ["template_id"])
    op.create_table(
        "appraisal_round_branches",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_round_branches_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_appraisal_round_branches_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "branch_id", name=op.f("pk_appraisal_round_branches")),
    )
    op.create_table(
        "appraisal_eligible",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_eligible_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_appraisal_eligible_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_appraisal_eligible_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_appraisal_eligible")),
    )
    op.create_index(op.f("ix_appraisal_eligible_branch_id"), "appraisal_eligible", ["branch_id"])
    op.create_table(
        "appraisal_submitted",
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_submitted_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_appraisal_submitted_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", name=op.f("pk_appraisal_submitted")),
    )
    op.create_table(
        "appraisal_staged",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_staged_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_appraisal_staged_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_staged")),
    )
    op.create_index(op.f("ix_appraisal_staged_round_id"), "appraisal_staged", ["round_id"])
    op.create_table(
        "appraisal_staged_grades",
        sa.Column("staged_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("grade", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["staged_id"],
            ["appraisal_staged.id"],
            name=op.f("fk_appraisal_staged_grades_staged_id_appraisal_staged"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_appraisal_staged_grades_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("staged_id", "member_id", name=op.f("pk_appraisal_staged_grades")),
    )
    op.create_table(
        "appraisal_answers",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=True),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_answers_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_appraisal_answers_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_answers")),
    )
    op.create_index(op.f("ix_appraisal_answers_round_id"), "appraisal_answers", ["round_id"])
    op.create_table(
        "appraisal_grades",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("round_id", BIG_ID, nullable=False),
        sa.Column("member_id", BIG_ID, nullable=False),
        sa.Column("grade", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["appraisal_rounds.id"],
            name=op.f("fk_appraisal_grades_round_id_appraisal_rounds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_appraisal_grades_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_grades")),
    )
    op.create_index(op.f("ix_appraisal_grades_round_id"), "appraisal_grades", ["round_id"])
    op.create_index(op.f("ix_appraisal_grades_member_id"), "appraisal_grades", ["member_id"])


def downgrade() -> None:
    for table in (
        "appraisal_grades",
        "appraisal_answers",
        "appraisal_staged_grades",
        "appraisal_staged",
        "appraisal_submitted",
        "appraisal_eligible",
        "appraisal_round_branches",
        "appraisal_rounds",
        "appraisal_templates",
    ):
        op.drop_table(table)
