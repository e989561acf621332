"""A room has one language, its branch's, for everything sent there (timers and notices too),
whoever caused the message; a direct chat has its person's. Buttons of a question asked to one
person in a room are theirs: anyone else pressing them is told whose it is."""

from __future__ import annotations

import asyncio

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from tests.support.broadcasts import broadcast
from tests.support.chat import BotFactory, ask, code_in, settle
from tests.support.learning import with_bank


async def lib(bot: BranchBot, adapter: MemoryAdapter) -> None:
    """Branch Lib with secretary sam (who speaks English) and member mei (no language chosen),
    bound to the room; the organisation speaks Chinese."""
    await ask(bot, adapter, "boss", "/branch add Lib")
    for name, role in (("sam", "secretary"), ("mei", "member")):
        code = code_in(await ask(bot, adapter, "boss", f"/invite Lib {role}"))
        await ask(bot, adapter, name, f"/join {code}")
    await ask(bot, adapter, "sam", "/lang en")
    await ask(bot, adapter, "sam", "/bind Lib", chat="room")


async def until_in_room(adapter: MemoryAdapter, marker: str, timeout: float = 10) -> list[Sent]:
    """Everything sent to the room, once a message containing ``marker`` is among it."""
    async with asyncio.timeout(timeout):
        while True:
            room = [s for s in adapter.sent if s.address.chat_id == "room"]
            if any(marker in s.message.text.plain() for s in room):
                return room
            await adapter.wait_for(len(adapter.sent) + 1, timeout=timeout)


async def test_a_group_round_speaks_the_rooms_language_from_intro_to_podium(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(default_locale="zh", learning={"group_seconds": 0.5})
    await with_bank(bot)
    await lib(bot, adapter)
    # The secretary speaks English, the branch (by default) Chinese: the room gets Chinese.
    started = await ask(bot, adapter, "sam", "/quiz group 1", chat="room")
    assert "群答题" in started and "第1/1题" in started and "Group quiz" not in started
    await until_in_room(adapter, "最终排名")
    assert await ask(bot, adapter, "mei", "/me") != ""

    answer = await ask(bot, adapter, "sam", "/lang en", chat="room")
    assert answer == "I will speak English in the rooms of Lib from now on."
    before = len(adapter.sent)
    started = await ask(bot, adapter, "sam", "/quiz group 2", chat="room")
    assert "Group quiz" in started and "Question 1/2" in started
    # Mei has chosen no language: her private receipt is in hers (the organisation's).
    receipt = await ask(bot, adapter, "mei", "1", chat="room")
    assert "已收到你的答案" in receipt and adapter.sent[-1].address.direct
    room = await until_in_room(adapter, "Final podium")
    timed = [s.message.text.plain() for s in room if adapter.sent.index(s) >= before]
    later = "\n".join(timed[1:])  # what the deadlines sent, with no person behind them
    assert "Time is up" in later and "Question 2/2" in later and "Final podium" in later
    assert not any(mark in later for mark in ("时间到", "第2/2题", "最终排名"))


async def test_only_the_branch_secretary_sets_a_rooms_language(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh")
    await lib(bot, adapter)
    refused = await ask(bot, adapter, "mei", "/lang en", chat="room")
    assert "只有Lib的书记和管理员" in refused
    assert "请私聊我发送 /lang" in await ask(bot, adapter, "mei", "/lang", chat="room")
    unbound = await ask(bot, adapter, "sam", "/lang en", chat="other-room")
    assert "本群尚未绑定支部" in unbound
    # Neither changed anything: the room and Mei's direct chat still speak Chinese.
    assert "本群已经绑定到" in await ask(bot, adapter, "sam", "/bind Lib", chat="room")
    assert "语言：中文" in await ask(bot, adapter, "mei", "/me")
    # The secretary's own language is untouched by setting the room's.
    await ask(bot, adapter, "sam", "/lang zh", chat="room")
    assert "Language: English" in await ask(bot, adapter, "sam", "/me")


async def test_a_room_bound_to_an_english_branch_gets_its_notices_in_english(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(default_locale="zh")
    await lib(bot, adapter)
    assert "本群已绑定到" in await ask(bot, adapter, "sam", "/bind Lib", chat="room-2")
    await ask(bot, adapter, "sam", "/lang en", chat="room")
    # Every room of the branch speaks English now, not only the one it was set in.
    again = await ask(bot, adapter, "sam", "/bind Lib", chat="room-2")
    assert again == "This room is already bound to Lib."
    # Sam now speaks Chinese himself; the branch speaks English, so its new room does too.
    await ask(bot, adapter, "sam", "/lang zh")
    bound = await ask(bot, adapter, "sam", "/bind Lib", chat="room-3")
    assert bound == "This room is now bound to Lib. Branch notices will be posted here."
    await broadcast(bot, members=False, ack=False)
    await settle(bot)
    notices = {
        s.address.chat_id: s.message.text.plain()
        for s in adapter.sent
        if not s.address.direct and "Hello all" in s.message.text.plain()
    }
    assert notices == dict.fromkeys(("room", "room-2", "room-3"), "📢 Notice\nHello all")


async def test_pressing_someone_elses_question_in_a_room_says_whose_it_is(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await lib(bot, adapter)
    await ask(bot, adapter, "mei", "/me")  # her direct chat is known
    asked = await ask(bot, adapter, "sam", "/lang", chat="room")
    assert "Which language" in asked
    question = adapter.sent[-1]
    choices = [c for row in question.message.choices for c in row]
    english = next(c.payload for c in choices if c.label == "English")
    before = len(adapter.sent)
    await adapter.say("mei", choice=english, chat="room")
    await settle(bot)
    told = adapter.sent[before:]
    assert [(s.address.chat_id, s.message.text.plain()) for s in told] == [
        ("dm-mei", "This question is Sam's; nothing was changed.")
    ]
    # Sam's question is still open, and his press answers it.
    done = await ask(bot, adapter, "sam", "", chat="room", choice=english)
    assert done == "I will speak English in the rooms of Lib from now on."
    # Once it has ended, a press on it is just an old button.
    await adapter.say("mei", choice=english, chat="room")
    await settle(bot)
    assert adapter.sent[-1].message.text.plain().startswith("That question has already ended")


async def test_a_language_set_in_a_room_holds_for_the_rest_of_its_batch(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(default_locale="zh")
    await lib(bot, adapter)
    assert "支部：Lib" in await ask(bot, adapter, "mei", "/me", chat="room")  # cached: Chinese
    before = len(adapter.sent)
    await asyncio.gather(
        adapter.say("sam", "/lang en", chat="room"), adapter.say("mei", "/me", chat="room")
    )
    await settle(bot)
    said = [s.message.text.plain() for s in adapter.sent[before:]]
    assert said[0] == "I will speak English in the rooms of Lib from now on."
    assert "Branch: Lib" in said[1] and "Language: 中文" in said[1]
