"""Foldable messages queued for a chat beyond its send budget become one message."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from bot.delivery import ORIGINAL, Delivery, fold
from bot.markup import Markup
from bot.messages import Capabilities, Outgoing
from bot.metrics import Metrics
from store.repos import Repositories
from store.runtime import OUTBOX, PendingMessage
from tests.support.chat import BotFactory, settle


def row(row_id: int, text: str, foldable: bool = True) -> PendingMessage:
    payload = {**Outgoing(Markup.literal(text)).to_json(), "fold": foldable}
    return PendingMessage(row_id, "memory", "room", False, None, payload, 0)


def test_fold_keeps_the_first_id_and_stops_at_what_may_not_fold() -> None:
    merged, absorbed = fold([row(1, "a"), row(2, "b"), row(3, "c", False), row(4, "d")], 4096)
    assert merged.id == 1 and absorbed == [2]
    assert Markup.from_json(merged.payload["text"]).plain() == "a\n\n— — —\n\nb"
    merged, absorbed = fold([row(1, "a" * 60), row(2, "b" * 60)], 100)
    assert absorbed == [], "a merged message may not exceed the platform's length"


def test_a_merge_keeps_the_first_rows_own_message_to_undo_it() -> None:
    first = row(1, "a")
    merged, _ = fold([first, row(2, "b")], 4096)
    assert merged.payload[ORIGINAL] == first.payload
    again, absorbed = fold([merged, row(3, "c")], 4096)
    assert absorbed == [3] and again.payload[ORIGINAL] == first.payload, "not the first merge"


async def queue(bot: BranchBot, count: int, foldable: bool) -> None:
    rows: list[dict[str, Any]] = [
        {
            "platform": "memory",
            "chat_id": "room",
            "direct": False,
            "user_id": None,
            "payload": {**Outgoing(Markup.literal(f"notice {i}")).to_json(), "fold": foldable},
        }
        for i in range(count)
    ]
    async with bot.db.session() as session:
        ids = await Repositories(session).outbox.add_many(rows)
    bot.deliveries["memory"].enqueue(
        [
            PendingMessage(i, "memory", "room", False, None, r["payload"], 0)
            for i, r in zip(ids, rows, strict=True)
        ]
    )


async def test_a_group_robot_gets_one_message_instead_of_an_hour_of_them(
    make_bot: BotFactory,
) -> None:
    robot = MemoryAdapter(capabilities=Capabilities(group_messages_per_minute=20))
    bot, adapter = await make_bot(robot)
    await queue(bot, 30, foldable=True)
    await settle(bot)
    assert len(adapter.sent) == 1
    text = adapter.sent[0].message.text.plain()
    assert all(f"notice {i}" in text for i in range(30))
    async with bot.db.session() as session:
        statuses = list(await session.scalars(OUTBOX.select().with_only_columns(OUTBOX.c.status)))
    assert statuses == ["sent"] * 30


async def test_within_budget_or_not_foldable_nothing_is_merged(make_bot: BotFactory) -> None:
    robot = MemoryAdapter(capabilities=Capabilities(group_messages_per_minute=20))
    bot, adapter = await make_bot(robot)
    await queue(bot, 5, foldable=True)
    await queue(bot, 3, foldable=False)
    await settle(bot)
    assert [s.message.text.plain() for s in adapter.sent] == [
        *(f"notice {i}" for i in range(5)),
        *(f"notice {i}" for i in range(3)),
    ]


async def test_a_crash_after_a_folded_send_does_not_send_the_absorbed_rows_again(
    make_bot: BotFactory,
) -> None:
    """The merge is written before it goes out; outcomes are lost in the crash, yet on restart
    only the head is in flight: it goes once more under its own id, the others do not."""
    bot, _adapter = await make_bot(MemoryAdapter())
    capabilities = Capabilities(group_messages_per_minute=20)
    rows = [
        {
            "platform": "robot",
            "chat_id": "room",
            "direct": False,
            "user_id": None,
            "payload": {**Outgoing(Markup.literal(f"notice {i}")).to_json(), "fold": True},
        }
        for i in range(30)
    ]
    async with bot.db.session() as session:
        ids = await Repositories(session).outbox.add_many(rows)
    first = MemoryAdapter(name="robot", capabilities=capabilities)
    await first.start(bot.engine.submit)  # only so that wait_for works; nobody writes to it
    crashed = Delivery(first, bot.db, Metrics(), flush_interval=3600)
    await crashed.start()
    await first.wait_for(1)
    for task in (crashed._loop_task, crashed._flush_task, *crashed._tasks):  # a kill: no flush
        assert task is not None
        task.cancel()
    await asyncio.sleep(0)

    second = MemoryAdapter(name="robot")  # a fresh budget: nothing would be folded again
    restarted = Delivery(second, bot.db, Metrics())
    await restarted.start()
    await asyncio.wait_for(restarted.idle(), 5)
    await restarted.stop()
    assert [s.message_id for s in second.sent] == [str(ids[0])]
    text = second.sent[0].message.text.plain()
    assert all(f"notice {i}" in text for i in range(30)), "the head still carries them all"
    async with bot.db.session() as session:
        statuses = list(await session.scalars(OUTBOX.select().with_only_columns(OUTBOX.c.status)))
    assert statuses == ["sent"] * 30
