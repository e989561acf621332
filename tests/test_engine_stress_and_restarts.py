"""The core under stress and across restarts: order, no loss, no doubles, deadlines, failures."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from adapters.memory import MemoryAdapter
from bot.messages import Address, Capabilities, Outgoing, TransientError
from dialogs.onboarding import JoinDialog
from store.clock import ManualClock
from tests.support.chat import BotFactory, ask, settle

ECHOED = re.compile(r"/(c\d+x\d+)")


async def test_restart_continues_conversation_and_delivers_queued_replies_once(
    make_bot: BotFactory,
) -> None:
    broken = MemoryAdapter(fail=lambda address, message: TransientError("platform is down"))
    bot, _ = await make_bot(broken)
    await broken.say("mei", "/join")
    await broken.say("mei", "/me")
    await asyncio.sleep(0.2)
    assert broken.sent == [] and bot.deliveries["memory"].pending == 2
    await bot.stop()

    bot, adapter = await make_bot()
    await settle(bot)
    texts = [s.message.text.plain() for s in adapter.sent]
    assert len(texts) == 2 and "invite code" in texts[0] and texts[1].startswith("Mei")
    answer = await ask(bot, adapter, "mei", "NOTACODE")
    assert "not a valid invite code" in answer
    await bot.stop()

    bot, adapter = await make_bot()
    await settle(bot)
    assert adapter.sent == []
    assert "not a valid invite code" in await ask(bot, adapter, "mei", "STILLBAD")


async def test_fifty_people_twenty_messages_in_order_none_lost_none_doubled(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    people, each = 50, 20
    sends = [
        # Unknown commands echo their name and, unlike wrong invite codes, are not rate-limited.
        adapter.say(f"p{person}", f"/c{person}x{index:02d}")
        for index in range(each)
        for person in range(people)
    ]
    answers = await asyncio.gather(*sends)
    assert not any(a.duplicate for a in answers)
    await settle(bot, timeout=60)
    assert len(adapter.sent) == people * each
    for person in range(people):
        chat = f"dm-p{person}"
        codes = [
            ECHOED.findall(s.message.text.plain())
            for s in adapter.sent
            if s.address.chat_id == chat
        ]
        assert codes == [[f"c{person}x{index:02d}"] for index in range(each)]
    assert len({s.message_id for s in adapter.sent}) == people * each


async def test_redelivered_event_is_handled_once(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    first = await adapter.say("mei", "/me", event_id="dup")
    again = await asyncio.gather(*(adapter.say("mei", "/me", event_id="dup") for _ in range(5)))
    await settle(bot)
    assert not first.duplicate and all(a.duplicate for a in again)
    assert len(adapter.sent) == 1


async def test_deadline_fires_after_a_restart(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    await ask(bot, adapter, "mei", "/join")
    await bot.stop()
    clock.advance(seconds=JoinDialog.timeout + 1)  # the deadline passes while the bot is down
    bot, adapter = await make_bot(clock=clock)
    await adapter.wait_for(1, timeout=5)
    assert "stopped waiting" in adapter.sent[0].message.text.plain()
    assert adapter.sent[0].address.chat_id == "dm-mei" and adapter.sent[0].address.direct
    assert await bot.engine.queue_due_timeouts() == 0
    await settle(bot)
    assert len(adapter.sent) == 1
    assert "only respond to commands" in await ask(bot, adapter, "mei", "ABCDEFGH")


async def test_an_answer_resets_the_deadline(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    timeout = JoinDialog.timeout
    assert timeout is not None
    await ask(bot, adapter, "mei", "/join")
    clock.advance(seconds=timeout * 2 / 3)
    await ask(bot, adapter, "mei", "WRONG")
    clock.advance(seconds=timeout * 2 / 3)  # past the first deadline, not the second
    assert await bot.engine.queue_due_timeouts() == 0
    await settle(bot)
    assert all("stopped waiting" not in s.message.text.plain() for s in adapter.sent)
    clock.advance(seconds=timeout / 3 + 1)
    await adapter.wait_for(3, timeout=5)
    assert "stopped waiting" in adapter.sent[-1].message.text.plain()


async def test_numbered_choices_where_there_are_no_buttons(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    question = await ask(bot, adapter, "mei", "/lang")
    assert "1. 中文" in question and "2. English" in question and "number" in question
    assert adapter.sent[-1].message.choices == ()
    assert "English" in await ask(bot, adapter, "mei", "2")
    assert "only respond to commands" in await ask(bot, adapter, "mei", "2")


async def test_a_failing_event_gets_an_apology_and_spares_the_others(
    make_bot: BotFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, adapter = await make_bot()

    async def broken(ctx: object) -> None:
        raise RuntimeError("bug")

    router = bot.engine.router
    router.commands = [
        dataclasses.replace(c, handler=broken) if c.name == "me" else c for c in router.commands
    ]
    events = [adapter.say(f"u{i}", "/help") for i in range(5)]
    events.insert(2, adapter.say("victim", "/me"))
    results = await asyncio.gather(*events)
    await settle(bot)
    assert not any(r.duplicate for r in results)
    by_chat = {s.address.chat_id: s.message.text.plain() for s in adapter.sent}
    assert "went wrong" in by_chat["dm-victim"]
    assert all("Commands" in by_chat[f"dm-u{i}"] for i in range(5))
    assert "event memory:" in caplog.text
    assert (await adapter.say("victim", "/me", event_id=results[2] and "again")).duplicate is False


async def test_delivery_keeps_per_chat_order_and_isolates_a_rate_limited_chat(
    make_bot: BotFactory,
) -> None:
    from bot.messages import RetryLater

    limited = {"count": 0}

    def fail(address: Address, message: Outgoing) -> Exception | None:
        if address.chat_id == "dm-slow" and limited["count"] < 3:
            limited["count"] += 1
            return RetryLater(0.3)
        return None

    bot, adapter = await make_bot(MemoryAdapter(fail=fail))
    await asyncio.gather(
        *(adapter.say("slow", f"/join S{i}") for i in range(3)),
        *(adapter.say("fast", f"/join F{i}") for i in range(3)),
    )
    await settle(bot)
    slow = [
        s.message.text.plain().split()[0] for s in adapter.sent if s.address.chat_id == "dm-slow"
    ]
    fast_positions = [i for i, s in enumerate(adapter.sent) if s.address.chat_id == "dm-fast"]
    assert slow == ["S0", "S1", "S2"]
    assert fast_positions == [0, 1, 2]
