"""bank owners and bank file jobs: a question's key is unique within its bank; each bank
belongs to the organisation or to one branch; files sent in a chat wait in a job table

Existing banks become the organisation's (they were imported by admins or the CLI).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CHILDREN = ("learning_answers", "learning_reviews")
"""Tables whose rows cascade from a question."""


def upgrade() -> None:
    op.create_table(
        "learning_banks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("branch_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_learning_banks_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_banks")),
    )
    op.create_index(op.f("ix_learning_banks_branch_id"), "learning_banks", ["branch_id"])
    op.create_index(
        "uq_learning_banks_owner_name",
        "learning_banks",
        [sa.text("coalesce(branch_id, 0)"), "name"],
        unique=True,
    )
    with op.batch_alter_table("learning_questions") as batch:
        batch.add_column(sa.Column("bank_id", BigId, nullable=True))
    op.execute("INSERT INTO learning_banks (name) SELECT DISTINCT bank FROM learning_questions")
    op.execute(
        "UPDATE learning_questions SET bank_id = (SELECT b.id FROM learning_banks b "
        "WHERE b.name = learning_questions.bank AND b.branch_id IS NULL)"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds the table to change its constraints, and dropping the old copy
        # would cascade to every answer and review (foreign keys are on, and cannot be turned
        # off inside the migration's transaction): keep them aside and put them back.
        for table in CHILDREN:
            op.execute(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("learning_questions") as batch:
        batch.alter_column("bank_id", existing_type=BigId, nullable=False)
        batch.drop_constraint("uq_learning_questions_key", type_="unique")
        batch.drop_index("ix_learning_questions_bank")
        batch.drop_column("bank")
        batch.create_unique_constraint("uq_learning_questions_bank_id", ["bank_id", "key"])
        batch.create_foreign_key(
            "fk_learning_questions_bank_id_learning_banks",
            "learning_banks",
            ["bank_id"],
            ["id"],
            ondelete="CASCADE",
        )
    if sqlite:
        for table in CHILDREN:
            op.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM keep_{table}")
            op.execute(f"DROP TABLE keep_{table}")
    op.create_table(
        "learning_bank_jobs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("skip_bad", sa.Boolean(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("branch_id", BigId, nullable=True),
        sa.Column("member_id", BigId, nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
            name=op.f("fk_learning_bank_jobs_branch_id_branches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_learning_bank_jobs_member_id_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_bank_jobs")),
    )
    op.create_index(op.f("ix_learning_bank_jobs_status"), "learning_bank_jobs", ["status"])


def downgrade() -> None:
    """Back to one global key: questions of branch banks are dropped (their keys may clash
    with the organisation's)."""
    op.drop_index(op.f("ix_learning_bank_jobs_status"), table_name="learning_bank_jobs")
    op.drop_table("learning_bank_jobs")
    op.execute(
        "DELETE FROM learning_questions WHERE bank_id IN "
        "(SELECT id FROM learning_banks WHERE branch_id IS NOT NULL)"
    )
    with op.batch_alter_table("learning_questions") as batch:
        batch.add_column(sa.Column("bank", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE learning_questions SET bank = "
        "(SELECT b.name FROM learning_banks b WHERE b.id = learning_questions.bank_id)"
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for table in CHILDREN:
            op.execute(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("learning_questions") as batch:
        batch.drop_constraint("fk_learning_questions_bank_id_learning_banks", type_="foreignkey")
        batch.drop_constraint("uq_learning_questions_bank_id", type_="unique")
        batch.drop_column("bank_id")
        batch.alter_column("bank", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_learning_questions_bank", ["bank"])
        batch.create_unique_constraint("uq_learning_questions_key", ["key"])
    if sqlite:
        for table in CHILDREN:
            op.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM keep_{table}")
            op.execute(f"DROP TABLE keep_{table}")
    op.drop_index("uq_learning_banks_owner_name", table_name="learning_banks")
    op.drop_index(op.f("ix_learning_banks_branch_id"), table_name="learning_banks")
    op.drop_table("learning_banks")
