"""An organisation on the memory adapter: branch Main, secretary sam, members mei and kai (all
with direct chats), a bound room; plus helpers to run broadcasts to the end."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from store.broadcast_tables import Broadcast
from store.broadcasts import Broadcasts
from store.repos import Repositories
from tests.conftest import settle
from tests.support.chat import ask, code_in


async def organisation(bot: BranchBot, adapter: MemoryAdapter) -> None:
    await ask(bot, adapter, "boss", "/branch add Main")
    sam = code_in(await ask(bot, adapter, "boss", "/invite Main secretary"))
    await ask(bot, adapter, "sam", f"/join {sam}")
    for name in ("mei", "kai"):
        code = code_in(await ask(bot, adapter, "sam", "/invite Main member"))
        await ask(bot, adapter, name, f"/join {code}")
    for name in ("sam", "mei", "kai"):
        await ask(bot, adapter, name, "/me")
    await ask(bot, adapter, "sam", "/bind Main", chat="room")


async def broadcast(bot: BranchBot, **fields: Any) -> int:
    """A confirmed broadcast from sam, as /broadcast writes it; waits until it is reported."""
    values: dict[str, Any] = {
        "report_to": {
            "platform": "memory",
            "chat_id": "dm-sam",
            "direct": True,
            "user_id": "sam",
            "locale": "en",
        },
        "text": [["t", "Hello all"]],
        "category": "notice",
        "branch_ids": {"all": True},
        "rooms": True,
        "members": True,
        "ack": True,
        "created_by": None,
    }
    values.update(fields)
    async with bot.db.session() as session:
        created = await Repositories(session).get(Broadcasts).create(**values)
    await finished(bot, created.id)
    return created.id


async def finished(bot: BranchBot, broadcast_id: int, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with bot.db.session() as session:
                row = await session.get(Broadcast, broadcast_id)
                if row is not None and row.status == "done":
                    break
            await asyncio.sleep(0.1)
    await settle(bot)
