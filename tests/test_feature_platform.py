"""A feature is one record: a package outside the core gives the bot a command, a config
section, a table with its migration, a buffered repository and a worker, and nothing in
``bot/`` or ``store/`` changes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, configure
from bot.commands import Router
from bot.config import ConfigError
from bot.context import Context
from bot.feature import Feature, Services
from bot.markup import Markup
from bot.timetable import Timetable
from store.models import Base
from store.repos import Repositories
from tests.support.chat import settle


class TallyConfig(BaseModel):
    step: int = Field(1, ge=1)


class TallyCount(Base):
    """The feature's own table, on the shared ``Base``; ``tally_migrations`` creates it."""

    __tablename__ = "tally_counts"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)


class Tallies:
    """Keeps increments back until the batch commits, as learning's answers are."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.pending = 0
        self.flushes = 0

    def add(self, step: int) -> None:
        self.pending += step

    async def stored(self) -> int:
        row = await self.session.get(TallyCount, "tally")
        return row.total if row else 0

    async def total(self) -> int:
        return await self.stored() + self.pending

    async def flush(self) -> None:
        self.flushes += 1
        if self.pending:
            await self.session.merge(TallyCount(name="tally", total=await self.total()))
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


TALLY = Feature(
    "tally",
    router,
    config=TallyConfig,
    workers=lambda s: [Ticker(s)],
    tables=(TallyCount,),
    migrations=Path(__file__).parent / "tally_migrations",
)


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
            assert await Repositories(session).get(Tallies).stored() == 10
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


def changes(connection: Connection) -> list[tuple[Any, ...]]:
    """What Alembic's autogenerate would write: the shared ``Base`` against the database."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    found = compare_metadata(context, Base.metadata)
    return [change for item in found for change in (item if isinstance(item, list) else [item])]


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # SQLite cannot reflect them
async def test_autogenerate_sees_every_feature_table_the_migrations_made(
    database_url: str,
) -> None:
    """The core's tables, the in-tree features' and this one's are all on the shared ``Base``
    and made by the migrations: Alembic finds nothing to add or drop. (On SQLite, 0010 leaves
    the display names' VARCHAR length alone, as SQLite does not enforce it.)"""
    bot, _ = await tally_bot(database_url)
    try:
        async with bot.db.engine.connect() as connection:
            found = await connection.run_sync(changes)
    finally:
        await bot.stop()
    declared = [table.__table__ for feature in (*FEATURES, TALLY) for table in feature.tables]
    core = {m.local_table for m in Base.registry.mappers if m.class_.__module__ == "store.models"}
    assert len(declared) == len(set(declared)), "a table belongs to one feature"
    assert set(Base.metadata.sorted_tables) == core | set(declared), "every table has an owner"
    expected = set()
    if bot.db.dialect == "sqlite":
        expected = {("modify_type", table, "display_name") for table in ("members", "identities")}
    assert {(change[0], *change[2:4]) for change in found} == expected


def test_a_feature_table_must_be_on_the_shared_base() -> None:
    """Its foreign keys reach the core's tables, a merge moves its rows and autogenerate sees
    it only on the shared ``Base``."""

    class Elsewhere(DeclarativeBase):
        pass

    class Stray(Elsewhere):
        __tablename__ = "stray"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)

    with pytest.raises(ValueError, match=r"Stray is not on store\.models\.Base"):
        Feature("stray", Router(), tables=(Stray,))  # type: ignore[arg-type]
