"""conversation columns: the numbered choices and the direct flag leave the dialog's data

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSATIONS = sa.table(
    "conversations",
    sa.column("platform", sa.String),
    sa.column("chat_id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("slot", sa.String),
    sa.column("data", sa.JSON),
    sa.column("choices", sa.JSON(none_as_null=True)),
    sa.column("direct", sa.Boolean),
)
KEY = ("platform", "chat_id", "user_id", "slot")


def _rewrite(rows: list[dict[str, Any]]) -> None:
    """Write back ``data``, ``choices`` and ``direct`` of rows found by their key."""
    if not rows:
        return
    table = CONVERSATIONS
    op.get_bind().execute(
        table.update()
        .where(*(table.c[name] == sa.bindparam(f"k_{name}") for name in KEY))
        .values(
            data=sa.bindparam("new_data", type_=sa.JSON),
            choices=sa.bindparam("new_choices", type_=sa.JSON(none_as_null=True)),
            direct=sa.bindparam("new_direct", type_=sa.Boolean),
        ),
        rows,
    )


def _keyed(row: Any, data: dict[str, Any], choices: Any, direct: bool) -> dict[str, Any]:
    return {
        **{f"k_{name}": getattr(row, name) for name in KEY},
        "new_data": data,
        "new_choices": choices,
        "new_direct": direct,
    }


def upgrade() -> None:
    op.add_column("conversations", sa.Column("choices", sa.JSON(none_as_null=True), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("direct", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    table = CONVERSATIONS
    moved = []
    for row in op.get_bind().execute(sa.select(*(table.c[n] for n in KEY), table.c.data)):
        data = dict(row.data or {})
        if "_choices" not in data and "_direct" not in data:
            continue
        choices = data.pop("_choices", None)
        moved.append(_keyed(row, data, choices, bool(data.pop("_direct", False))))
    _rewrite(moved)


def downgrade() -> None:
    table = CONVERSATIONS
    moved = []
    query = sa.select(*(table.c[n] for n in KEY), table.c.data, table.c.choices, table.c.direct)
    for row in op.get_bind().execute(query):
        # The engine wrote ``_direct`` into every conversation it started.
        data = {**(row.data or {}), "_direct": bool(row.direct)}
        if row.choices is not None:
            data["_choices"] = row.choices
        moved.append(_keyed(row, data, None, False))
    _rewrite(moved)
    # No foreign key points at conversations, and SQLite drops a column in place.
    op.drop_column("conversations", "direct")
    op.drop_column("conversations", "choices")
