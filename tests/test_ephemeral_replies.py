"""Ephemeral replies: the outbox keeps their text only until their outcome is recorded.

A feature outside the core (``/whisper``) answers ephemerally; ``/aloud`` answers as usual. On
both stores: the reader gets the whole text, the stored row then holds the erased marker only,
whatever the outcome (sent, failed for good); ordinary rows keep theirs; an ephemeral row is
never merged into another; a pending ephemeral row found at a restart is erased once sent; a
number typed after an erased numbered message answers nothing older.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, configure
from bot.commands import Router
from bot.context import Context
from bot.delivery import Delivery
from bot.feature import Feature
from bot.markup import Markup
from bot.messages import Address, Capabilities, Choice, Outgoing
from bot.metrics import Metrics
from bot.outbox import Row, enqueue, payload
from store.repos import Repositories
from store.runtime import OUTBOX
from tests.support.chat import settle

SECRET = "my answer is 4"

router = Router()


@router.command("whisper", summary="answer ephemerally")
async def whisper(ctx: Context) -> None:
    ctx.reply(Markup.literal(SECRET), choices=[[Choice("Next", "next")]], ephemeral=True)


@router.command("aloud", summary="answer as usual")
async def aloud(ctx: Context) -> None:
    ctx.reply(Markup.literal("an ordinary reply"))


WHISPER = Feature("whisper", router)

Factory = Callable[..., Awaitable[tuple[BranchBot, MemoryAdapter]]]


@pytest.fixture
async def whisper_bot(database_url: str) -> AsyncIterator[Factory]:
    running: list[BranchBot] = []

    async def factory(
        adapter: MemoryAdapter | None = None, **overrides: Any
    ) -> tuple[BranchBot, MemoryAdapter]:
        adapter = adapter or MemoryAdapter()
        features = (*FEATURES, WHISPER)
        options = {"database_url": database_url, "playground": False, "default_locale": "en"}
        config = configure(None, features=features, **options, **overrides)
        bot = BranchBot(config, features=features, extra_adapters=[adapter], serve_http=False)
        await bot.start()
        running.append(bot)
        return bot, adapter

    yield factory
    for bot in running:
        await bot.stop()


async def stored(bot: BranchBot) -> list[tuple[str, dict[str, Any]]]:
    """Every outbox row's status and payload, in id order."""
    async with bot.db.session() as session:
        rows = await session.execute(
            OUTBOX.select()
            .with_only_columns(OUTBOX.c.status, OUTBOX.c.payload)
            .order_by(OUTBOX.c.id)
        )
        return [(status, body) for status, body in rows]


async def test_an_ephemeral_reply_is_delivered_whole_and_then_kept_without_text(
    whisper_bot: Factory,
) -> None:
    bot, adapter = await whisper_bot()
    await adapter.say("mei", "/whisper")
    await adapter.say("mei", "/aloud")
    await settle(bot)
    first, second = adapter.sent
    assert first.message.text.plain() == SECRET and first.message.choices
    assert second.message.text.plain() == "an ordinary reply"
    (whispered, whispered_body), (said, said_body) = await stored(bot)
    assert whispered == said == "sent"
    assert whispered_body == {"erased": True, "had_choices": True}
    assert Markup.from_json(said_body["text"]).plain() == "an ordinary reply", "left alone"
    assert "ephemeral" not in said_body


async def test_an_ephemeral_row_given_up_is_erased_too(whisper_bot: Factory) -> None:
    def refuse(address: Address, message: Outgoing) -> Exception | None:
        return ValueError("cannot encode") if SECRET in message.text.plain() else None

    bot, adapter = await whisper_bot(MemoryAdapter(fail=refuse), delivery={"max_attempts": 1})
    await adapter.say("mei", "/whisper")
    await settle(bot)
    assert adapter.sent == []
    ((status, body),) = await stored(bot)
    assert status == "failed" and body == {"erased": True, "had_choices": True}


async def test_an_ephemeral_message_is_never_merged_and_the_others_still_are(
    whisper_bot: Factory,
) -> None:
    """Beyond a group's budget (20 a minute) foldable notices are merged; an ephemeral one
    among them is sent alone (a merge keeps its head's payload), and the 40 notices after it
    are merged again."""
    robot = MemoryAdapter(capabilities=Capabilities(group_messages_per_minute=20))
    bot, adapter = await whisper_bot(robot)
    room = Address("memory", "room", False, None)

    def notice(i: int) -> Row:
        return Row(room, payload(Outgoing(Markup.literal(f"notice {i}")), "en", fold=True))

    secret = payload(Outgoing(Markup.literal(SECRET)), "en", fold=True, ephemeral=True)
    assert "fold" not in secret, "ephemeral wins"
    rows = [*(notice(i) for i in range(15)), Row(room, secret), *(notice(i) for i in range(15, 55))]
    async with bot.db.session() as session:
        pending = await enqueue(Repositories(session), rows)
    bot.deliveries["memory"].enqueue(pending)
    await settle(bot)
    texts = [s.message.text.plain() for s in adapter.sent]
    assert texts[0].startswith("notice 0") and "notice 14" in texts[0]
    assert texts[1] == SECRET
    assert all(f"notice {i}" in "".join(texts[2:]) for i in range(15, 55))
    assert len(texts) < 10, "the notices after it are merged too"
    statuses = await stored(bot)
    assert statuses[15] == ("sent", {"erased": True})
    assert all(status == "sent" for status, _body in statuses)
    assert all("text" in body for _status, body in statuses[:15] + statuses[16:])


async def test_a_pending_ephemeral_row_found_at_a_restart_is_erased_once_sent(
    whisper_bot: Factory,
) -> None:
    bot, _adapter = await whisper_bot()
    direct = Address("robot", "dm-mei", True, "mei")
    secret = payload(Outgoing(Markup.literal(SECRET)), "en", ephemeral=True)
    async with bot.db.session() as session:
        await enqueue(Repositories(session), [Row(direct, secret)])  # never handed over
    robot = MemoryAdapter(name="robot")
    restarted = Delivery(robot, bot.db, Metrics())
    await restarted.start()
    await asyncio.wait_for(restarted.idle(), 5)
    await restarted.stop()
    assert [s.message.text.plain() for s in robot.sent] == [SECRET]
    assert await stored(bot) == [("sent", {"erased": True})]


async def test_a_number_after_an_erased_numbered_message_answers_nothing_older(
    whisper_bot: Factory,
) -> None:
    """A platform without buttons numbers the choices; a stateless button (a notice's
    "received") answers a typed number only when its message is the newest numbered one."""
    bot, adapter = await whisper_bot()
    direct = Address("memory", "dm-mei", True, "mei")
    notice = Outgoing(Markup.literal("a notice"), ((Choice("Received", "ack:1"),),))
    async with bot.db.session() as session:
        pending = await enqueue(Repositories(session), [Row(direct, payload(notice, "en"))])
    bot.deliveries["memory"].enqueue(pending)
    await settle(bot)
    async with bot.db.session() as session:
        assert await Repositories(session).outbox.last_choices("memory", "dm-mei") == ["ack:1"]
    await adapter.say("mei", "/whisper")
    await settle(bot)
    async with bot.db.session() as session:
        assert await Repositories(session).outbox.last_choices("memory", "dm-mei") == []
