"""Rows an older version let in: SQLite (unlike PostgreSQL) stores NUL, so a conversation from
a hostile sender can hold an id that ``Incoming`` now refuses. Building its timeout event fails
(once, logged); the other deadlines still fire."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from store.clock import SYSTEM_CLOCK
from store.models import Conversation
from tests.support.chat import ask


def bot_on(path: Path, adapter: MemoryAdapter) -> BranchBot:
    config = configure(
        None,
        database_url=f"sqlite:///{path}/branchbot.db",
        admins=["memory:boss"],
        playground=False,
        default_locale="en",
    )
    return BranchBot(config, extra_adapters=[adapter], serve_http=False)


async def test_a_stored_id_the_edge_refuses_does_not_stop_other_deadlines(tmp_path: Path) -> None:
    adapter = MemoryAdapter()
    bot = bot_on(tmp_path, adapter)
    await bot.start()
    try:
        assert "text of the notice" in await ask(bot, adapter, "boss", "/broadcast")
        async with bot.db.session() as session:
            await session.execute(
                update(Conversation).values(deadline=SYSTEM_CLOCK.now() - timedelta(minutes=1))
            )
            row = await session.scalar(select(Conversation))
            assert row is not None
            session.add(
                Conversation(
                    platform=row.platform,
                    chat_id="dm-\x00evil",
                    user_id="\x00evil",
                    slot=row.slot,
                    dialog=row.dialog,
                    state=row.state,
                    data=dict(row.data),
                    version=row.version,
                    deadline=SYSTEM_CLOCK.now() - timedelta(minutes=2),  # first in the sweep
                    updated_at=SYSTEM_CLOCK.now(),
                )
            )
    finally:
        await bot.stop()
    adapter = MemoryAdapter()
    bot = bot_on(tmp_path, adapter)  # restarted: the deadlines are read from the rows
    await bot.start()
    try:
        async with asyncio.timeout(10):
            while True:
                said = [s.message.text.plain() for s in adapter.sent]
                if any("stopped waiting" in text for text in said):
                    break
                await asyncio.sleep(0.1)
        assert [s.address.chat_id for s in adapter.sent] == ["dm-boss"]
    finally:
        await bot.stop()
