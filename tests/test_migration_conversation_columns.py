"""Migration 0011 moves a conversation's numbered choices and direct flag out of its data into
columns, and back on a downgrade, keeping every row (both stores)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from store.db import Database
from tests.support.migrations import migrate

STAMP = "'2026-01-01 00:00:00'"

ROWS = {
    "quiz": {"at": 1, "_choices": ["0", "1"], "_direct": True},
    "room": {"round": 2, "_direct": False},
    "old": {"note": "written before the engine kept a direct flag"},
}


async def conversations(db: Database, columns: str) -> dict[str, tuple[Any, ...]]:
    async with db.engine.begin() as connection:
        rows = await connection.execute(text(f"SELECT user_id, {columns} FROM conversations"))
        return {row[0]: tuple(_json(value) for value in row[1:]) for row in rows}


def _json(value: Any) -> Any:
    """SQLite hands JSON back as text, PostgreSQL as the value."""
    return json.loads(value) if isinstance(value, str) else value


async def test_choices_and_direct_move_to_columns_and_back(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "0010")
            for user, data in ROWS.items():
                await connection.execute(
                    text(
                        "INSERT INTO conversations (platform, chat_id, user_id, slot, dialog, "
                        "state, data, version, deadline, updated_at) VALUES ('memory', 'c', "
                        f":user, 'main', 'quiz', 'asking', :data, 7, NULL, {STAMP})"
                    ),
                    {"user": user, "data": json.dumps(data)},
                )
        await db.upgrade()
        after = await conversations(db, "data, choices, direct")
        assert after == {
            "quiz": ({"at": 1}, ["0", "1"], True),
            "room": ({"round": 2}, None, False),
            "old": ({"note": "written before the engine kept a direct flag"}, None, False),
        }
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "0010", True)
        back = await conversations(db, "data")
        assert back == {
            "quiz": (ROWS["quiz"],),
            "room": (ROWS["room"],),
            "old": ({**ROWS["old"], "_direct": False},),
        }
    finally:
        await db.dispose()
