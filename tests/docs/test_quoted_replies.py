"""Every reply the user docs quote is what the bot says: their ```chat blocks run through the
memory adapter (see tests/docs/chat_examples.py for the convention).

docs/getting-started.md is one story: its blocks run in order on one bot. Each block of
docs/commands.md stands alone, on a fresh bot.
"""

from __future__ import annotations

import pytest

from tests.conftest import BotFactory
from tests.docs.chat_examples import ROOT, Block, Conversation, blocks

STORY = ROOT / "docs" / "getting-started.md"
EXAMPLES = ROOT / "docs" / "commands.md"
PEOPLE = {"admins": ["memory:ada"], "default_locale": "en"}


def test_the_docs_quote_conversations() -> None:
    """A guard against a convention change that silently leaves nothing to check."""
    assert len(blocks(STORY)) >= 6
    assert len(blocks(EXAMPLES)) >= 4
    assert sum(len(step.expected) for block in blocks(STORY) for step in block.steps) >= 20


async def test_getting_started_is_what_the_bot_says(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(**PEOPLE)
    conversation = Conversation(bot, adapter)
    for block in blocks(STORY):
        await play(conversation, block)


@pytest.mark.parametrize("block", blocks(EXAMPLES), ids=lambda block: block.where)
async def test_commands_examples_are_what_the_bot_says(make_bot: BotFactory, block: Block) -> None:
    bot, adapter = await make_bot(**PEOPLE)
    await play(Conversation(bot, adapter), block)


async def play(conversation: Conversation, block: Block) -> None:
    for step in block.steps:
        try:
            await conversation.run(step)
        except AssertionError as problem:
            raise AssertionError(f"{block.path.name}: {problem}") from None
