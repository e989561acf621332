"""Small helpers for driving a bot through the memory adapter."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.memory import MemoryAdapter
from bot.app import BranchBot

CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{8})\b")

BotFactory = Callable[..., Awaitable[tuple[BranchBot, MemoryAdapter]]]
"""What the ``make_bot`` fixture gives a test: start a bot (settings as keywords), get it and
its memory adapter back."""


async def settle(bot: BranchBot, timeout: float = 10.0) -> None:
    """Wait until everything the bot queued so far has been sent."""
    async with asyncio.timeout(timeout):
        await bot.idle()


async def ask(
    bot: BranchBot, adapter: MemoryAdapter, user: str, text: str = "", **options: Any
) -> str:
    """Say something as ``user`` and return the plain text of every answer it caused."""
    before = len(adapter.sent)
    await adapter.say(user, text, **options)
    await settle(bot)
    return "\n".join(s.message.text.plain() for s in adapter.sent[before:])


def code_in(text: str) -> str:
    """The invitation or link code in a reply (the test fails if there is none)."""
    match = CODE.search(text)
    assert match, text
    return match.group(1)
