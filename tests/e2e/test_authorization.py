"""Member / secretary / admin × every command × own / other branch: allowed or refused, and a
refusal changes nothing."""

from __future__ import annotations

import pytest

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from tests.support.chat import BotFactory, ask, code_in

REFUSED = ("Only ", "only its secretaries", "You have no invite code")


async def organisation(bot: BranchBot, adapter: MemoryAdapter) -> dict[str, str]:
    await ask(bot, adapter, "boss", "/branch add Alpha")
    await ask(bot, adapter, "boss", "/branch add Beta")
    sam = code_in(await ask(bot, adapter, "boss", "/invite Alpha secretary"))
    await ask(bot, adapter, "sam", f"/join {sam}")
    mei = code_in(await ask(bot, adapter, "sam", "/invite Alpha member"))
    await ask(bot, adapter, "mei", f"/join {mei}")
    await ask(bot, adapter, "boss", "/bind Beta", chat="beta-room")
    return {
        "alpha": code_in(await ask(bot, adapter, "boss", "/invite Alpha member")),
        "beta": code_in(await ask(bot, adapter, "boss", "/invite Beta member")),
    }


# (actor, command, chat, allowed)
CASES = [
    ("boss", "/branch add Gamma", None, True),
    ("sam", "/branch add Gamma", None, False),
    ("mei", "/branch add Gamma", None, False),
    ("guest", "/branch add Gamma", None, False),
    ("boss", "/branches", None, True),
    ("sam", "/branches", None, False),
    ("mei", "/branches", None, False),
    ("boss", "/invite Beta member", None, True),
    ("sam", "/invite Alpha member", None, True),
    ("sam", "/invite Beta member", None, False),
    ("sam", "/invite Alpha secretary", None, False),
    ("mei", "/invite Alpha member", None, False),
    ("guest", "/invite Alpha member", None, False),
    ("boss", "/revoke {beta}", None, True),
    ("sam", "/revoke {alpha}", None, True),
    ("sam", "/revoke {beta}", None, False),
    ("mei", "/revoke {alpha}", None, False),
    ("boss", "/bind Alpha", "alpha-room", True),
    ("sam", "/bind Alpha", "alpha-room", True),
    ("sam", "/bind Beta", "alpha-room", False),
    ("sam", "/bind Alpha", "beta-room", False),
    ("mei", "/bind Alpha", "alpha-room", False),
    ("guest", "/bind Alpha", "alpha-room", False),
    ("sam", "/unbind", "beta-room", False),
    ("mei", "/unbind", "beta-room", False),
    ("boss", "/unbind", "beta-room", True),
    ("guest", "/me", None, True),
    ("guest", "/help", None, True),
    ("guest", "/lang en", None, True),
    ("guest", "/link", None, True),
    ("mei", "/cancel", None, True),
]


@pytest.mark.parametrize(("actor", "command", "chat", "allowed"), CASES)
async def test_roles(
    make_bot: BotFactory, actor: str, command: str, chat: str | None, allowed: bool
) -> None:
    bot, adapter = await make_bot()
    codes = await organisation(bot, adapter)
    before = await ask(bot, adapter, "boss", "/branches")
    answer = await ask(bot, adapter, actor, command.format(**codes), chat=chat)
    refused = any(marker in answer for marker in REFUSED)
    assert refused is not allowed, answer
    if not allowed:
        assert await ask(bot, adapter, "boss", "/branches") == before
        if "/revoke" in command:
            code = codes["alpha" if "alpha" in command else "beta"]
            assert "Welcome" in await ask(bot, adapter, "newcomer", f"/join {code}")
