"""Broadcasts on the memory adapter: an organisation (branch Main, secretary sam, members mei and
kai, all with direct chats, and a bound room), broadcasts run to the end, /broadcast driven up to
its preview, and a schedule's row."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from store.broadcast_tables import Broadcast
from store.broadcasts import Broadcasts
from store.repos import Repositories
from tests.support.chat import ask, code_in, settle


async def organisation(bot: BranchBot, adapter: MemoryAdapter) -> None:
    """Branch Main: secretary sam, members mei and kai (each with a direct chat), a bound room."""
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
    """Wait until the broadcast is done and everything it queued has been sent."""
    async with asyncio.timeout(timeout):
        while True:
            async with bot.db.session() as session:
                row = await session.get(Broadcast, broadcast_id)
                if row is not None and row.status == "done":
                    break
            await asyncio.sleep(0.1)
    await settle(bot)


STEPS = ("Both", "Notice", "Yes", "Send now")


async def press(bot: BranchBot, adapter: MemoryAdapter, user: str, payload: str) -> list[Sent]:
    """Press the button carrying ``payload``; the answers it caused."""
    before = len(adapter.sent)
    await adapter.say(user, choice=payload)
    await settle(bot)
    return adapter.sent[before:]


async def say(bot: BranchBot, adapter: MemoryAdapter, user: str, text: str) -> list[Sent]:
    """Say ``text``; the answers it caused (``ask`` gives their text instead)."""
    before = len(adapter.sent)
    await adapter.say(user, text)
    await settle(bot)
    return adapter.sent[before:]


def button(answers: list[Sent], label: str) -> str:
    """The payload of the latest button among ``answers`` whose label contains ``label``."""
    for sent in reversed(answers):
        for row in sent.message.choices:
            for choice in row:
                if label in choice.label:
                    return choice.payload
    raise AssertionError(f"no {label!r} button in {[s.message.choices for s in answers]}")


def plain(answers: list[Sent]) -> str:
    """The answers' text, one per line."""
    return "\n".join(s.message.text.plain() for s in answers)


async def to_preview(
    bot: BranchBot, adapter: MemoryAdapter, user: str = "sam", steps: tuple[str, ...] = STEPS
) -> list[Sent]:
    """Run /broadcast up to its preview, pressing the buttons labelled ``steps``."""
    await say(bot, adapter, user, "/broadcast")
    answers = await say(bot, adapter, user, "Branch meeting Friday")
    for label in steps:
        answers = await press(bot, adapter, user, button(answers, label))
    return answers


# A schedule's row as /broadcast writes it; a test adds the schedule's own fields.
TEMPLATE: dict[str, Any] = {
    "report_to": {},
    "text": [["t", "Tidy-up"]],
    "category": "notice",
    "rooms": True,
    "members": False,
    "ack": False,
    "created_by": None,
}
