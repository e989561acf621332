"""Small helpers for driving a bot through the memory adapter."""

from __future__ import annotations

import re
from typing import Any

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from tests.conftest import settle

CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{8})\b")


async def ask(
    bot: BranchBot, adapter: MemoryAdapter, user: str, text: str = "", **options: Any
) -> str:
    """Say something as ``user`` and return the plain text of every answer it caused."""
    before = len(adapter.sent)
    await adapter.say(user, text, **options)
    await settle(bot)
    return "\n".join(s.message.text.plain() for s in adapter.sent[before:])


def code_in(text: str) -> str:
    match = CODE.search(text)
    assert match, text
    return match.group(1)
