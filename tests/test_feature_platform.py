"""A feature is one record: a package outside the core gives the bot a command, a config
section, a buffered repository and a worker, and nothing in ``bot/`` or ``store/`` changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, configure
from bot.commands import Router
from bot.config import ConfigError
from bot.context import Context
from bot.feature import Feature, Services
from bot.markup import Markup
from bot.timetable import Timetable
from store.repos import Repositories
from store.runtime import Values
from tests.support.chat import settle


class TallyConfig(BaseModel):
    step: int = Field(1, ge=1)


class Tallies:
    """Keeps increments back until the batch commits, as learning's answers are."""

    def __init__(self, session: AsyncSession) -> None:
        self.values = Values(session)
        self.pending = 0
        self.flushes = 0

    def add(self, step: int) -> None:
        self.pending += step

    async def total(self) -> int:
        return int(await self.values.get("tally") or 0) + self.pending

    async def flush(self) -> None:
        self.flushes += 1
        if self.pending:
            await self.values.put("tally", str(await self.total()))
            self.pending = 0


router = Router()


@router.command("tally", summary="count one more")
async def tally(ctx: Context) -> None:
    tallies = ctx.store.get(Tallies)
    assert ctx.store.get(Tallies) is tallies, "one repository per session"
    tallies.add(ctx.settings.section(TallyConfig).step)
    ctx.reply(Markup.literal(f"tally: {await tallies.total()}"))


class Ticker:
    """A worker that only counts its ticks."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ticks = 0

    async def timetables(self) -> Sequence[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        raise AssertionError("no schedules")

    async def tick(self) -> None:
        self.ticks += 1

    async def outbox_floor(self) -> int | None:
        return None


TALLY = Feature("tally", router, config=TallyConfig, workers=lambda s: [Ticker(s)])


async def tally_bot(database_url: str, **overrides: Any) -> tuple[BranchBot, MemoryAdapter]:
    features = (*FEATURES, TALLY)
    options = {"database_url": database_url, "playground": False, "default_locale": "en"}
    config = configure(None, features=features, **options, **overrides)
    adapter = MemoryAdapter()
    bot = BranchBot(config, features=features, extra_adapters=[adapter], serve_http=False)
    await bot.start()
    return bot, adapter


async def test_a_feature_outside_the_core_gets_its_command_section_repository_and_worker(
    database_url: str,
) -> None:
    bot, adapter = await tally_bot(database_url, tally={"step": 5})
    try:
        await adapter.say("mei", "/tally")
        await adapter.say("mei", "/tally")
        await settle(bot)
        assert [s.message.text.plain() for s in adapter.sent] == ["tally: 5", "tally: 10"]
        async with bot.db.session() as session:
            assert await Repositories(session).values.get("tally") == "10"
        await bot.worker(Ticker).tick()
        assert bot.worker(Ticker).ticks >= 1
        assert bot.worker(Ticker).services.settings.section(TallyConfig).step == 5
        await adapter.say("mei", "/help")
        await settle(bot)
        assert "/tally" in adapter.sent[-1].message.text.plain()
    finally:
        await bot.stop()


def test_a_feature_section_is_read_from_the_environment_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    features = (*FEATURES, TALLY)
    monkeypatch.setenv("BRANCHBOT_TALLY__STEP", "3")
    assert configure(None, features=features).section(TallyConfig).step == 3
    with pytest.raises(ConfigError, match=r"tally\.step"):
        configure(None, features=features, tally={"step": 0})
    with pytest.raises(ConfigError, match="tally"):
        configure(None, tally={"step": 2})  # no such feature here: a misspelt section


async def test_a_repository_is_flushed_only_when_it_was_used(database_url: str) -> None:
    bot, _ = await tally_bot(database_url)
    try:
        async with bot.db.session() as session:
            store = Repositories(session)
            await store.flush()
            tallies = store.get(Tallies)
            await store.flush()
            assert tallies.flushes == 1
    finally:
        await bot.stop()
