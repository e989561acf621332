"""Fixtures: every store test runs on SQLite and on the real PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from store.clock import SYSTEM_CLOCK, Clock
from tests.support.chat import BotFactory
from tests.support.postgres import PG_SERVER, admin, reset_postgres
from tests.support.synapse import Synapse, ensure_installed
from tests.support.telegram import FakeTelegram, running_fake
from tests.support.templates import drop_templates, migrated
from tests.support.webhook import Lab, lab_bot


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """Captured output with a lone surrogate (the hostile-input tests log what they were
    sent) escaped: a pytest-xdist worker sends its reports as UTF-8, and one such character
    would end the worker and the run."""
    report = yield
    report.sections = [
        (title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
        for title, text in report.sections
    ]
    return report


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """A database of this test session's own, dropped at the end."""
    name = f"branchbot_test_{os.getpid()}"

    def run(sql: str) -> None:
        # Its own thread and loop: this may be first requested from inside a running test loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, admin(sql)).result()

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop_templates()).result()
    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/branchbot.db"
    url: str = request.getfixturevalue("pg_server_url")
    await reset_postgres(url)
    return url


@pytest.fixture
async def make_bot(database_url: str) -> AsyncIterator[BotFactory]:
    """Start bots on the test's database with a memory adapter; all are stopped at the end.
    A test that moves time passes ``clock=ManualClock()``. The database comes migrated (a
    copy of this worker's template, see ``tests.support.templates``)."""
    await migrated(database_url)
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


@pytest.fixture
def lab_options() -> dict[str, Any]:
    """Settings the ``lab`` bot starts with beyond the lab's own; a module overrides this."""
    return {}


@pytest.fixture
async def lab(database_url: str, lab_options: dict[str, Any]) -> AsyncIterator[Lab]:
    """A bot on the webhook channel with a real receiver for its callbacks (see ``lab_bot``),
    on a migrated copy of this worker's template."""
    await migrated(database_url)
    async with lab_bot(database_url, **lab_options) as lab:
        yield lab


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Telegram Bot API server, running."""
    async with running_fake() as fake:
        yield fake


@pytest.fixture(scope="session")
def synapse() -> Iterator[Synapse]:
    """The session's homeserver; tests register their own users, so they stay independent."""
    python = ensure_installed()
    data = Path(tempfile.mkdtemp(prefix="branchbot-synapse-"))
    server = Synapse(python, data)
    server.start()
    print(f"Synapse started in {server.start_seconds:.1f}s")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
