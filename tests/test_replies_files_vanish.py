"""Three things the core gives features, played by a small feature outside it (``/ask``):
a platform reply to one of the bot's tagged messages reaches the feature that tagged it
(before the conversation the chat holds; an untagged or foreign reply falls through); a file
sent while a conversation waits for one goes to that conversation; a vanishing reply leaves a
row with neither its text nor its chat once delivered, and the next message to that chat is
delivered too. On both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, configure
from bot.commands import Router
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.events import Attachment
from bot.feature import Feature
from bot.markup import Markup
from store.models import OutboxRow
from tests.support.chat import settle

router = Router()


@router.command("ask", summary="ask something")
async def ask_command(ctx: Context) -> None:
    ctx.reply(Markup.literal("What do you think?"), tag="ask:7")


@router.command("secret", summary="answer and vanish")
async def secret(ctx: Context) -> None:
    ctx.reply(Markup.literal("only for you"), vanish=True)


@router.command("photo", summary="wait for a file")
async def photo(ctx: Context) -> None:
    await Photo.start(ctx)


@router.reply
async def replied(ctx: Context) -> bool:
    assert ctx.event.replied_to is not None
    tag = await ctx.store.outbox.tag_of(ctx.event.platform, ctx.event.chat.id, ctx.event.replied_to)
    if tag != "ask:7":
        return False
    ctx.reply(Markup.literal(f"answer to 7: {ctx.event.text}"))
    return True


class Photo(Dialog[None]):
    name = "test_photo"
    states = ["waiting"]

    async def on_enter_waiting(self, ctx: Context) -> None:
        ctx.reply(Markup.literal("Send the photo."))

    @answers("waiting", files=True)
    async def got(self, ctx: Context, attachment: Attachment) -> None:
        ctx.reply(Markup.literal(f"got {attachment.name} ({len(attachment.data)} bytes)"))
        self.finish()

    @answers("waiting", text=True)
    async def typed(self, ctx: Context, text: str) -> None:
        ctx.reply(Markup.literal("a photo, please"))


ASK = Feature("ask", router, dialogs=(Photo,))
Factory = Callable[..., Awaitable[tuple[BranchBot, MemoryAdapter]]]


@pytest.fixture
async def ask_bot(database_url: str) -> AsyncIterator[Factory]:
    running: list[BranchBot] = []

    async def factory(**overrides: Any) -> tuple[BranchBot, MemoryAdapter]:
        adapter = MemoryAdapter()
        features = (*FEATURES, ASK)
        options = {"database_url": database_url, "playground": False, "default_locale": "en"}
        config = configure(None, features=features, **options, **overrides)
        bot = BranchBot(config, features=features, extra_adapters=[adapter], serve_http=False)
        await bot.start()
        running.append(bot)
        return bot, adapter

    yield factory
    for bot in running:
        await bot.stop()


def last(adapter: MemoryAdapter) -> str:
    return adapter.sent[-1].message.text.plain()


async def test_a_reply_to_a_tagged_message_reaches_its_feature(ask_bot: Factory) -> None:
    bot, adapter = await ask_bot()
    await adapter.say("mei", "/ask")
    await settle(bot)
    asked = adapter.sent[-1].ref
    await adapter.say("mei", "/photo")  # a conversation waits in the chat
    await settle(bot)
    await adapter.say("mei", "Yes, I agree.", replied_to=asked)
    await settle(bot)
    assert last(adapter) == "answer to 7: Yes, I agree."
    # An untagged message of the bot's, or an unknown id, falls through to the conversation.
    untagged = adapter.sent[-1].ref
    for target in (untagged, "no-such-message"):
        await adapter.say("mei", "And this?", replied_to=target)
        await settle(bot)
        assert last(adapter) == "a photo, please"
    # In another chat the same id is not that message.
    await adapter.say("kai", "Me too.", replied_to=asked)
    await settle(bot)
    assert last(adapter) == "I only respond to commands; /help lists them."


async def test_a_file_goes_to_the_conversation_that_waits_for_one(ask_bot: Factory) -> None:
    bot, adapter = await ask_bot()
    await adapter.say("mei", "/photo")
    await adapter.say("mei", attachment=Attachment("cat.png", "image/png", b"\x89PNG-bytes"))
    await settle(bot)
    assert last(adapter) == "got cat.png (10 bytes)"
    await adapter.say("mei", attachment=Attachment("cat.png", "image/png", b"\x89PNG-bytes"))
    await settle(bot)
    assert last(adapter) == "I don't know what to do with cat.png."


async def test_a_vanishing_reply_leaves_no_text_and_no_chat(ask_bot: Factory) -> None:
    bot, adapter = await ask_bot()
    for _ in range(2):  # the second is delivered too (no row id is handed out twice)
        await adapter.say("mei", "/secret")
        await settle(bot)
    assert [s.message.text.plain() for s in adapter.sent] == ["only for you", "only for you"]
    assert len({s.message_id for s in adapter.sent}) == 2
    async with bot.db.session() as session:
        rows = list(await session.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    assert [(r.status, r.chat_id, r.user_id, r.payload, r.sent_ref) for r in rows] == [
        ("sent", "", None, {"erased": True}, None)
    ] * 2
