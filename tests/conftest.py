"""Fixtures: every store test runs on SQLite and on the real PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import pytest

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from store.clock import SYSTEM_CLOCK, Clock
from tests.support.synapse import synapse  # noqa: F401  (the Matrix tests' homeserver)

PG_SERVER = os.environ.get("BRANCHBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A database of this test session's own, dropped at the end."""
    name = f"branchbot_test_{os.getpid()}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"{PG_SERVER}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    def run(sql: str) -> None:
        # Its own thread and loop: this may be first requested from inside a running test loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def reset_postgres(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/branchbot.db"
    url: str = request.getfixturevalue("pg_server_url")
    await reset_postgres(url)
    return url


BotFactory = Callable[..., Awaitable[tuple[BranchBot, MemoryAdapter]]]


@pytest.fixture
async def make_bot(database_url: str) -> AsyncIterator[BotFactory]:
    """Start bots on the test's database with a memory adapter; all are stopped at the end.
    A test that moves time passes ``clock=ManualClock()``."""
    running: list[BranchBot] = []

    async def factory(
        adapter: MemoryAdapter | None = None, *, clock: Clock = SYSTEM_CLOCK, **overrides: Any
    ) -> tuple[BranchBot, MemoryAdapter]:
        adapter = adapter or MemoryAdapter()
        options: dict[str, Any] = {
            "database_url": database_url,
            "admins": ["memory:boss"],
            "playground": False,
            "default_locale": "en",
        }
        options.update(overrides)
        bot = BranchBot(
            configure(None, **options), extra_adapters=[adapter], serve_http=False, clock=clock
        )
        await bot.start()
        running.append(bot)
        return bot, adapter

    yield factory
    for bot in running:
        await bot.stop()


async def settle(bot: BranchBot, timeout: float = 10.0) -> None:
    """Wait until everything the bot queued so far has been sent."""
    async with asyncio.timeout(timeout):
        await bot.idle()
