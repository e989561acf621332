"""mailbox: letters, their threads, files, the relay, blocks and the daily cap

Revision ID: mailbox_0001
Revises:
Depends on: 0001 (members and branches)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "mailbox_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("mailbox",)
depends_on: str | Sequence[str] | None = "0001"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STAMP = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "mail_letters",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("branch_id", BIG_ID, nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("writer_id", BIG_ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("answer_due", sa.Date(), nullable=False),
        sa.Column("resolve_due", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("last_step_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("with_admins", sa.Boolean(), nullable=False),
        sa.Column("assignee_id", BIG_ID, nullable=True),
        sa.Column("reminded", sa.SmallInteger(), nullable=False),
        sa.Column("escalations", sa.SmallInteger(), nullable=False),
        sa.Column("escalated_at", STAMP, nullable=True),
        _fk("mail_letters", "branch_id", "branches", "SET NULL"),
        _fk("mail_letters", "writer_id", "members", "SET NULL"),
        _fk("mail_letters", "assignee_id", "members", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_letters")),
        sa.UniqueConstraint("year", "seq", name=op.f("uq_mail_letters_year")),
    )
    op.create_index(op.f("ix_mail_letters_branch_id"), "mail_letters", ["branch_id"])
    op.create_index(op.f("ix_mail_letters_writer_id"), "mail_letters", ["writer_id"])
    op.create_index("ix_mail_letters_status", "mail_letters", ["status", "resolve_due"])
    op.create_table(
        "mail_entries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("letter_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("author_id", BIG_ID, nullable=True),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", STAMP, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        _fk("mail_entries", "letter_id", "mail_letters", "CASCADE"),
        _fk("mail_entries", "author_id", "members", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_entries")),
    )
    op.create_index(op.f("ix_mail_entries_letter_id"), "mail_entries", ["letter_id"])
    op.create_index(op.f("ix_mail_entries_posted"), "mail_entries", ["posted"])
    op.create_table(
        "mail_files",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("letter_id", BIG_ID, nullable=True),
        sa.Column("draft", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mime", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        _fk("mail_files", "letter_id", "mail_letters", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_files")),
    )
    op.create_index(op.f("ix_mail_files_letter_id"), "mail_files", ["letter_id"])
    op.create_index(op.f("ix_mail_files_draft"), "mail_files", ["draft"])
    op.create_table(
        "mail_relay",
        sa.Column("letter_id", BIG_ID, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["mail_letters.id"],
            name=op.f("fk_mail_relay_letter_id_mail_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", name=op.f("pk_mail_relay")),
    )
    op.create_table(
        "mail_blocks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("letter_id", BIG_ID, nullable=True),
        sa.Column("branch_id", BIG_ID, nullable=True),
        sa.Column("by_id", BIG_ID, nullable=True),
        sa.Column("until", sa.Date(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        _fk("mail_blocks", "letter_id", "mail_letters", "SET NULL"),
        _fk("mail_blocks", "branch_id", "branches", "SET NULL"),
        _fk("mail_blocks", "by_id", "members", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_blocks")),
    )
    op.create_index(op.f("ix_mail_blocks_until"), "mail_blocks", ["until"])
    op.create_table(
        "mail_quota",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_mail_quota")),
    )
    op.create_index(op.f("ix_mail_quota_day"), "mail_quota", ["day"])


def downgrade() -> None:
    op.drop_table("mail_quota")
    op.drop_table("mail_blocks")
    op.drop_table("mail_relay")
    op.drop_table("mail_files")
    op.drop_table("mail_entries")
    op.drop_table("mail_letters")
