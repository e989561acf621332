"""Going back a migration keeps the rows it does not own, on both stores, and every migration
goes down and up again on a database with rows in it.

On SQLite a batch-mode column change rebuilds the table, and dropping the old copy cascades
through every foreign key to it (``PRAGMA foreign_keys=ON``): a downgrade of the branch
language once deleted every secretary, room and invite that way."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from store.db import Database, alembic_config
from tests.support.broadcasts import broadcast, organisation
from tests.support.chat import BotFactory, ask
from tests.support.learning import yes_bank
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


def row_counts(connection: Connection) -> dict[str, int]:
    """The number of rows of every table (but Alembic's own)."""
    tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
    return {t: connection.scalar(text(f"SELECT count(*) FROM {t}")) or 0 for t in tables}


def revisions() -> list[tuple[str, str | None]]:
    """Every migration with the one below it, newest first (the history is a line)."""
    steps = []
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        below = script.down_revision
        assert below is None or isinstance(below, str), f"{script.revision} merges {below}"
        steps.append((script.revision, below))
    return steps


async def test_every_migration_goes_down_and_up_again_with_rows_in_the_tables(
    make_bot: BotFactory, database_url: str, tmp_path: Path
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await yes_bank(bot, tmp_path)
    assert "1/2" in await ask(bot, adapter, "mei", "/quiz")
    await ask(bot, adapter, "mei", "True")
    await ask(bot, adapter, "mei", "True")
    await broadcast(bot)
    await ask(bot, adapter, "mei", "/link")
    await ask(bot, adapter, "guest", "/join ABCDEFGH")
    await bot.stop()

    db = Database(database_url)
    try:
        async with db.engine.connect() as connection:
            at_head = await connection.run_sync(row_counts)
        filled = {t for t, n in at_head.items() if n}
        wanted = {"rooms", "link_codes", "code_failures", "learning_answers", "broadcasts"}
        assert wanted <= filled, at_head

        for revision, below in revisions():
            if below is None:
                break  # below the first migration there are no tables to keep rows in
            async with db.engine.begin() as connection:
                above = await connection.run_sync(row_counts)
            async with db.engine.begin() as connection:
                await connection.run_sync(migrate, below, True)
                down = await connection.run_sync(row_counts)
            assert down == {t: above.get(t) for t in down}, f"going down from {revision}"
            async with db.engine.begin() as connection:
                await connection.run_sync(migrate, revision)
                up = await connection.run_sync(row_counts)
            assert {t: up.get(t) for t in down} == down, f"going up to {revision} again"
            async with db.engine.begin() as connection:
                await connection.run_sync(migrate, below, True)
                again = await connection.run_sync(row_counts)
            assert again == down, f"going down from {revision} again"

        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "heads")
            back = await connection.run_sync(row_counts)
        assert {t: back[t] for t in again} == again
    finally:
        await db.dispose()
