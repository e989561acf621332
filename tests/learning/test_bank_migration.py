"""Migration 0007: banks that existed before owners become the organisation's, and every
question keeps its answers and reviews (SQLite rebuilds the table to change its keys)."""

from __future__ import annotations

from sqlalchemy import text

from store.db import Database
from tests.support.migrations import migrate

STAMP = "'2026-01-01 00:00:00'"


async def test_existing_banks_become_the_organisations(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "0005")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(f"INSERT INTO members (id, display_name, created_at) VALUES (1, 'a', {STAMP})")
            )
            for number, (key, bank) in enumerate([("cat-1", "lib"), ("x", "other")], start=1):
                await connection.execute(
                    text(
                        "INSERT INTO learning_questions (id, key, bank, kind, text, options, "
                        "answers, feedback, explanation, category, difficulty, updated_at) "
                        f"VALUES ({number}, '{key}', '{bank}', 'truefalse', 'q', '[]', '[0]', "
                        f"'[]', '', '', 1, {STAMP})"
                    )
                )
            await connection.execute(
                text(
                    "INSERT INTO learning_answers (member_id, question_id, attempt, mode, "
                    f"correct, answered_at) VALUES (1, 1, 'a1', 'quiz', true, {STAMP})"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO learning_reviews (member_id, question_id, repetitions, "
                    "interval_days, ease, due) VALUES (1, 1, 0, 1, 2.5, '2026-01-02')"
                )
            )
        await db.upgrade()
        async with db.engine.begin() as connection:
            banks = await connection.execute(
                text("SELECT name, branch_id FROM learning_banks ORDER BY name")
            )
            assert list(banks) == [("lib", None), ("other", None)]
            owned = await connection.execute(
                text(
                    "SELECT q.key, b.name FROM learning_questions q "
                    "JOIN learning_banks b ON b.id = q.bank_id ORDER BY q.id"
                )
            )
            assert list(owned) == [("cat-1", "lib"), ("x", "other")]
            for table in ("learning_answers", "learning_reviews"):
                kept = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
                assert kept == 1, table
    finally:
        await db.dispose()
