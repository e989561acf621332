"""Going back a migration keeps the rows it does not own, on both stores.

On SQLite a batch-mode column change rebuilds the table, and dropping the old copy cascades
through every foreign key to it (``PRAGMA foreign_keys=ON``): a downgrade of the branch
language once deleted every secretary, room and invite that way."""

from __future__ import annotations

from sqlalchemy import text

from store.db import Database
from tests.support.migrations import migrate

STAMP = "'2026-01-01 00:00:00'"


async def test_downgrades_keep_the_rows_that_point_at_their_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.upgrade()
        async with db.engine.begin() as connection:
            for sql in (
                "INSERT INTO branches (id, name, key, created_at) "
                f"VALUES (1, 'Lib', 'lib', {STAMP})",
                "INSERT INTO members (id, display_name, branch_id, created_at) "
                f"VALUES (1, 'Sam', 1, {STAMP})",
                "INSERT INTO secretaries (member_id, branch_id) VALUES (1, 1)",
            ):
                await connection.execute(text(sql))
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "0005", True)
        async with db.engine.begin() as connection:
            secretaries = await connection.scalar(text("SELECT count(*) FROM secretaries"))
            branch = await connection.scalar(text("SELECT branch_id FROM members"))
        assert (secretaries, branch) == (1, 1)
    finally:
        await db.dispose()
