"""Acknowledgements once per person, the numbered fallback, and reminders: interval, maximum,
quiet hours, stopped by the acknowledgement. The clock is moved by moving the stored times."""

from __future__ import annotations

import dataclasses

from sqlalchemy import update

from adapters.memory import MemoryAdapter
from bot.markup import Markup
from bot.messages import Address, Capabilities, Choice, Outgoing, Refusal, Unreachable
from bot.timetable import QuietHours
from dialogs.broadcast.fanout import Broadcaster
from store.broadcast_tables import Broadcast
from store.clock import ManualClock
from store.models import Identity
from store.repos import Repositories
from tests.support.broadcasts import broadcast, organisation
from tests.support.chat import BotFactory, ask, code_in, settle


def texts_to(adapter: MemoryAdapter, user: str, since: int = 0) -> list[str]:
    return [
        s.message.text.plain() for s in adapter.sent[since:] if s.address.chat_id == f"dm-{user}"
    ]


async def test_reminders_until_acknowledged_or_maximum(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    bot.worker(Broadcaster).options = dataclasses.replace(
        bot.worker(Broadcaster).options, quiet_hours=QuietHours()
    )
    await organisation(bot, adapter)
    await broadcast(bot)
    mei = next(
        s
        for s in adapter.sent
        if s.address.chat_id == "dm-mei" and "Hello" in s.message.text.plain()
    )
    assert "Received (N" in mei.message.choices[0][0].label
    assert "recorded" in await ask(bot, adapter, "mei", choice=mei.message.choices[0][0].payload)

    start = len(adapter.sent)
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    assert len(adapter.sent) == start, "the interval has not passed yet"

    clock.advance(hours=25)  # the reminder interval passes
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    assert [t for t in texts_to(adapter, "kai", start) if "Reminder" in t]
    assert [t for t in texts_to(adapter, "sam", start) if "Reminder" in t]
    assert not texts_to(adapter, "mei", start), "mei has acknowledged"
    assert not [s for s in adapter.sent[start:] if s.address.chat_id == "room"]

    kai = next(s for s in adapter.sent[start:] if s.address.chat_id == "dm-kai")
    assert "recorded" in await ask(bot, adapter, "kai", choice=kai.message.choices[0][0].payload)
    second = len(adapter.sent)
    clock.advance(hours=25)  # the reminder interval passes
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    assert texts_to(adapter, "sam", second) and not texts_to(adapter, "kai", second)

    third = len(adapter.sent)
    clock.advance(hours=25)  # the reminder interval passes
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    assert len(adapter.sent) == third, "reminder_max is 2"


async def test_no_reminders_in_quiet_hours(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    everything = QuietHours.parse("00:00-23:59")
    bot.worker(Broadcaster).options = dataclasses.replace(
        bot.worker(Broadcaster).options, quiet_hours=everything
    )
    await organisation(bot, adapter)
    await broadcast(bot)
    clock.advance(hours=25)  # the reminder interval passes
    start = len(adapter.sent)
    await bot.worker(Broadcaster).tick()
    await settle(bot)
    assert not [t for t in texts_to(adapter, "kai", start) if "Reminder" in t]
    bot.worker(Broadcaster).options = dataclasses.replace(
        bot.worker(Broadcaster).options, quiet_hours=QuietHours()
    )
    await bot.worker(Broadcaster).tick()
    await settle(bot)
    assert [t for t in texts_to(adapter, "kai", start) if "Reminder" in t]


async def test_numbered_answer_where_there_are_no_buttons(make_bot: BotFactory) -> None:
    adapter = MemoryAdapter(capabilities=Capabilities(buttons=False))
    bot, adapter = await make_bot(adapter)
    await organisation(bot, adapter)
    number = await broadcast(bot)
    mei = next(
        s
        for s in adapter.sent
        if s.address.chat_id == "dm-mei" and "Hello" in s.message.text.plain()
    )
    assert "1. ✅ Received" in mei.message.text.plain() and not mei.message.choices
    assert f"N{number} is recorded" in await ask(bot, adapter, "mei", "1")
    assert "already recorded" in await ask(bot, adapter, "mei", "1")
    assert "only respond to commands" in await ask(bot, adapter, "mei", "2")
    assert await ask(bot, adapter, "kai", "1", chat="room") == "", "whose list? not in a room"
    acks = await ask(bot, adapter, "sam", f"/acks {number}")
    assert "Main: 1/3 (33%)" in acks and "Not yet: Kai, Sam" in acks


async def test_a_number_answers_the_merged_message_it_was_read_in(make_bot: BotFactory) -> None:
    """Two notices merged into one message are numbered 1 and 2 in it: each number confirms
    its own notice, whichever row of the merge was written last."""
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    await organisation(bot, adapter)
    first, second = await broadcast(bot), await broadcast(bot)
    merged = Outgoing(
        Markup.literal("merged"),
        choices=(
            (Choice(f"Received (N{first})", f"ack:{first}"),),
            (Choice(f"Received (N{second})", f"ack:{second}"),),
        ),
    )
    absorbed = Outgoing(Markup.literal("second"), choices=merged.choices[1:])
    async with bot.db.session() as session:
        outbox = Repositories(session).outbox
        rows = [
            {"platform": "memory", "chat_id": "dm-kai", "direct": True, "user_id": "kai"}
            | {"payload": {**message.to_json(), "fold": True}}
            for message in (merged, absorbed)
        ]
        head, other = await outbox.add_many(rows)
        await outbox.finish_many([(head, "sent", "m-x", None, 1), (other, "sent", "m-x", None, 0)])
    assert f"N{second} is recorded" in await ask(bot, adapter, "kai", "2")
    assert f"N{first} is recorded" in await ask(bot, adapter, "kai", "1")
    assert "only respond to commands" in await ask(bot, adapter, "kai", "3")


async def test_ack_without_request_and_bad_button(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    number = await broadcast(bot, ack=False)
    assert "did not ask" in await ask(bot, adapter, "sam", f"/acks {number}")
    assert "no longer in use" in await ask(bot, adapter, "mei", choice="ack:x")


async def test_reminders_skip_unreachable_chats_and_come_in_chunks(make_bot: BotFactory) -> None:
    """A chat the notice could not reach gets no reminder; a round larger than ``chunk`` is
    spread over several calls (each one checks the quiet hours) and counted once."""
    tried: list[str] = []

    def refuse_kai(address: Address, _message: Outgoing) -> Exception | None:
        tried.append(address.chat_id)
        refused = Unreachable("Forbidden: bot was blocked by the user", Refusal.BLOCKED)
        return refused if address.chat_id == "dm-kai" else None

    clock = ManualClock()
    bot, adapter = await make_bot(MemoryAdapter(fail=refuse_kai), clock=clock)
    # Quiet all day keeps the background ticks from reminding; the calls below do it by hand.
    everything = QuietHours.parse("00:00-23:59")
    options = dataclasses.replace(bot.worker(Broadcaster).options, quiet_hours=everything, chunk=1)
    bot.worker(Broadcaster).options = options
    await organisation(bot, adapter)
    number = await broadcast(bot)
    report = next(t for t in texts_to(adapter, "sam") if "delivered" in t)
    assert "Kai (direct chat): has blocked the bot or closed their account" in report
    clock.advance(hours=25)  # the reminder interval passes
    start = len(tried)
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    first = tried[start:]
    await bot.worker(Broadcaster).remind()
    await settle(bot)
    second = tried[start + len(first) :]
    assert len(first) == 1 and len(second) == 1, "one reminder per call with chunk=1"
    assert sorted(first + second) == ["dm-mei", "dm-sam"], "not kai: his chat refused the notice"
    await bot.worker(Broadcaster).remind()  # finds nobody left: the round is complete
    async with bot.db.session() as session:
        row = await session.get(Broadcast, number)
        assert row is not None and row.reminders == 1


async def test_where_the_bot_may_not_write_first_the_report_says_what_to_do(
    make_bot: BotFactory,
) -> None:
    """A member who never wrote to the bot directly: where the platform lets the bot open a
    direct chat the notice goes (the adapter opens it); where not, the report says why."""
    for can_open_dm, delivered in ((False, "3 delivered, 1 unreachable"), (True, "4 delivered")):
        capabilities = Capabilities(can_open_dm=can_open_dm)
        bot, adapter = await make_bot(MemoryAdapter(capabilities=capabilities))
        await organisation(bot, adapter)
        code = code_in(await ask(bot, adapter, "sam", "/invite Main member"))
        await ask(bot, adapter, "lee", f"/join {code}")
        async with bot.db.session() as session:  # as if lee had joined through another account
            await session.execute(
                update(Identity).where(Identity.user_id == "lee").values(direct_chat_id=None)
            )
        start = len(adapter.sent)
        await broadcast(bot, rooms=False, ack=False)
        report = next(t for t in texts_to(adapter, "sam", start) if "delivered" in t)
        assert delivered in report
        opened = [s for s in adapter.sent[start:] if s.address.user_id == "lee"]
        if can_open_dm:
            assert opened and opened[0].address.chat_id == "" and opened[0].address.direct
        else:
            assert not opened and "Lee (direct chat): has never written to the bot" in report
            assert "press Start" in report
        await bot.stop()
