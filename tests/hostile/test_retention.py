"""State that grows with every chat or message is bounded: the limiter forgets idle chats, and
finished outbox rows go after the retention, without breaking a report still being counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from bot.config import ConfigError
from bot.delivery import Limiter
from bot.messages import Address, Capabilities, Outgoing, TransientError
from store.broadcast_tables import BroadcastRecipient
from store.broadcasts import Broadcasts
from store.clock import ManualClock
from store.models import OutboxRow
from store.repos import Repositories
from tests.support.broadcasts import broadcast, finished, organisation
from tests.support.chat import BotFactory
from tests.support.outbox import POISON, encode_error, queue


def test_the_limiter_forgets_chats_idle_longer_than_their_windows() -> None:
    limiter = Limiter(Capabilities(chat_interval=1.0, group_messages_per_minute=20))
    chats = [(f"room{i}", False, None) for i in range(1000)]
    for moment, chat in enumerate(chats):
        limiter.start(chat, moment / 100)
        limiter.finish(chat, moment / 100, 1)
    paused = ("paused", False, None)
    limiter.pause(paused, 3600, False, 10.0)
    waits = {chat: limiter.wait(chat, 100.0) for chat in [*chats, paused]}

    busy = ("busy", False, None)
    limiter.start(busy, 100.0)
    limiter.finish(busy, 100.0, 1)  # the first send after a minute sweeps the maps
    assert set(limiter.chat_ready) == {paused, busy}
    assert set(limiter.group_sends) == {busy}
    assert {chat: limiter.wait(chat, 100.0) for chat in [*chats, paused]} == waits, (
        "forgetting an idle chat changes no decision"
    )


async def outbox_statuses(bot: BranchBot, ids: list[int]) -> dict[int, str]:
    async with bot.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.id, OutboxRow.status).where(OutboxRow.id.in_(ids))
        )
        return {row_id: status for row_id, status in rows}


async def test_old_finished_rows_are_pruned_and_a_report_still_counts(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.scheduler.OUTBOX_PRUNE_CHUNK", 3)  # several chunks
    down = asyncio.Event()
    down.set()

    def fail(address: Address, message: Outgoing) -> Exception | None:
        text = message.text.plain()
        if POISON in text:
            return encode_error()
        if down.is_set() and (
            address.chat_id == "dm-stuck" or (address.chat_id == "dm-kai" and "Second" in text)
        ):
            return TransientError("platform is down")
        return None

    clock = ManualClock()
    # The stuck chat's platform stays down for the 31 days that pass: its row waits.
    delivery = {"max_attempts": 1, "transient_give_up_hours": 60 * 24}
    bot, adapter = await make_bot(MemoryAdapter(fail=fail), clock=clock, delivery=delivery)
    await organisation(bot, adapter)
    first = await broadcast(bot, ack=False, text=[["t", "First notice"]])
    (stuck,) = await queue(bot, ["waits for a platform that is down"], chat="dm-stuck")
    (poison,) = await queue(bot, [POISON])
    async with bot.db.session() as session:
        second = (
            await Repositories(session)
            .get(Broadcasts)
            .create(
                report_to={
                    "platform": "memory",
                    "chat_id": "dm-sam",
                    "direct": True,
                    "user_id": "sam",
                    "locale": "en",
                },
                text=[["t", "Second notice"]],
                category="notice",
                branch_ids={"all": True},
                rooms=True,
                members=True,
                ack=False,
                created_by=None,
            )
        )
    await adapter.wait_for(len(adapter.sent) + 4)  # "Sending…", then sam, mei, room: not kai
    clock.advance(days=31)
    async with bot.db.session() as session:
        first_rows = list(
            await session.scalars(
                select(BroadcastRecipient.outbox_id).where(BroadcastRecipient.broadcast_id == first)
            )
        )
        second_rows = list(
            await session.scalars(
                select(BroadcastRecipient.outbox_id).where(
                    BroadcastRecipient.broadcast_id == second.id
                )
            )
        )
    (recent,) = await queue(bot, ["sent today"], chat="dm-mei")

    deleted = await bot.scheduler.prune_outbox()

    assert deleted >= len(first_rows) + 1
    assert await outbox_statuses(bot, [*first_rows, poison]) == {}
    kept = await outbox_statuses(bot, [stuck, recent, *second_rows])
    assert kept[stuck] == "pending" and recent in kept
    assert set(second_rows) <= set(kept), "a broadcast still sending keeps its rows"
    assert bot.metrics.registry.get_sample_value("branchbot_outbox_pruned_total") == deleted

    down.clear()
    await finished(bot, second.id, timeout=30)
    report = next(
        s.message.text.plain()
        for s in adapter.sent
        if s.address.chat_id == "dm-sam" and f"N{second.id} sent" in s.message.text.plain()
    )
    assert "4 delivered, 0 unreachable." in report


async def test_the_delivery_settings_reach_delivery_and_the_prune(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANCHBOT_DELIVERY__RETENTION_DAYS", "7")
    bot, _ = await make_bot(delivery={"max_attempts": 2})
    assert bot.scheduler.outbox_retention == timedelta(days=7)
    assert bot.deliveries["memory"].max_attempts == 2
    with pytest.raises(ConfigError, match="max_attempts"):
        configure(None, delivery={"max_attempts": 0})
