"""The real PostgreSQL the store tests run on (at 127.0.0.1:5432 unless told otherwise)."""

from __future__ import annotations

import os

import asyncpg

PG_SERVER = os.environ.get("BRANCHBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


async def admin(sql: str) -> None:
    """Run ``sql`` on the server's maintenance database (to create or drop a database)."""
    connection = await asyncpg.connect(f"{PG_SERVER}/postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def reset_postgres(url: str) -> None:
    """Empty the database at ``url``: a test starts from no tables at all."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()
