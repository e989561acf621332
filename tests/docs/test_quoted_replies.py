"""Every reply the user docs quote is what the bot says: their ```chat blocks run through the
memory adapter (see tests/support/chat_examples.py for the convention).

docs/getting-started.md is one story: its blocks run in order on one bot. Each block of
docs/commands.md stands alone, on a fresh bot. A reply quoted "in prose" instead (one that
cannot be played through, like a 15-minute expiry) must be a catalog message word for word.

When a reply changes on purpose, the failure prints the bot's words as a chat block would
quote them: paste that into the doc.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from tests.support.chat import BotFactory
from tests.support.chat_examples import FENCE, ROOT, Block, Conversation, blocks

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


def test_replies_quoted_in_prose_are_the_bots_words() -> None:
    """A reply that cannot be played (one that needs 15 minutes to pass) is quoted in prose:
    it must be a message of the catalog, word for word."""
    with (ROOT / "bot" / "locales" / "branchbot.pot").open("rb") as template:
        catalog = {message.id for message in read_po(template) if isinstance(message.id, str)}
    quoted = []
    for path in (STORY, EXAMPLES):
        prose = FENCE.sub("", path.read_text(encoding="utf-8"))
        quoted += [" ".join(q.split()) for q in re.findall(r'"([A-Z][^"]*[.!?])"', prose)]
    assert quoted, "no replies quoted in prose: drop this test or the convention changed"
    assert [q for q in quoted if q not in catalog] == []
