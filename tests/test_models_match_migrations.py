"""The models and the migrations describe one schema: a fresh database migrated to head is what
``store.models`` declares, on both stores, so autogenerate would write an empty migration."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from bot.feature import migrations
from dialogs import FEATURES
from store.db import Database
from store.models import Base

Difference = tuple[str, str, str]
"""(operation, table, column or index) of one difference compare_metadata reports."""

ACCEPTED: dict[str, set[Difference]] = {
    # Migration 0010 widens the display names to 255 everywhere but SQLite: SQLite does not
    # enforce VARCHAR lengths, and a type change there rebuilds the table, whose drop cascades
    # through every foreign key to ``members`` (answers, points, memberships). The SQLite
    # schema keeps saying 128 and stores the longer names all the same.
    "sqlite": {
        ("modify_type", "members", "display_name"),
        ("modify_type", "identities", "display_name"),
    },
    "postgresql": set(),
}

EXPRESSION_INDEX = "uq_learning_banks_owner_name"
"""The one index on an expression: SQLite's reflection cannot read it, so compare_metadata
skips it there (with a warning) and the test reads its definition instead."""


def deployed() -> MetaData:
    """The core's tables and those of the features the tree ships: a test that plugs in a
    feature of its own (``tally_counts``) declares it on the shared ``Base`` too, and its table
    is not in the tree's migrations."""
    metadata = MetaData(naming_convention=Base.metadata.naming_convention)
    core = [m.class_ for m in Base.registry.mappers if m.class_.__module__ == "store.models"]
    for model in [*core, *(t for feature in FEATURES for t in feature.tables)]:
        model.__table__.to_metadata(metadata)
    return metadata


def differences(connection: Connection) -> list[Any]:
    """What autogenerate finds between the database and the models, flattened to one list."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=f".*expression-based index '?{EXPRESSION_INDEX}")
        found = compare_metadata(context, deployed())
    flat: list[Any] = []
    for item in found:
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def named(difference: Any) -> Difference | None:
    """A column difference as (operation, table, column); None for any other kind."""
    operation = difference[0]
    if operation.startswith("modify_"):
        return (operation, difference[2], difference[3])
    return None


async def test_a_database_migrated_to_head_is_what_the_models_declare(database_url: str) -> None:
    db = Database(database_url, migrations=migrations(FEATURES))
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            found = await connection.run_sync(differences)
            dialect = connection.dialect.name
            if dialect == "sqlite":
                index = await connection.scalar(
                    text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
                    {"name": EXPRESSION_INDEX},
                )
                assert "UNIQUE" in index and "coalesce(branch_id, 0), name" in index, index
    finally:
        await db.dispose()
    accepted = ACCEPTED[dialect]
    unexpected = [d for d in found if named(d) not in accepted]
    assert not unexpected, "\n".join(map(repr, unexpected))
    # An accepted difference that went away is taken off the list, so the list stays true.
    assert {named(d) for d in found} == accepted
