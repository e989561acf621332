"""``/acks`` of a notice that went to the branch rooms only: it says so, and what it counts."""

from __future__ import annotations

from tests.support.broadcasts import broadcast, organisation
from tests.support.chat import BotFactory, ask


async def test_a_rooms_only_notice_counts_room_presses_per_member(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    number = await broadcast(bot, members=False)
    await ask(bot, adapter, "mei", choice=f"ack:{number}", chat="room")
    answer = await ask(bot, adapter, "boss", f"/acks N{number}")
    assert f"N{number} went to the branch rooms only" in answer
    assert "Main: 1/3 (33%)" in answer and "Not yet: Kai, Sam" in answer


async def test_a_rooms_only_notice_to_a_branch_without_members(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await ask(bot, adapter, "boss", "/branch add Empty")
    number = await broadcast(bot, members=False, branch_ids={"ids": [2]})
    answer = await ask(bot, adapter, "boss", f"/acks N{number}")
    assert f"N{number} went to the branch rooms only" in answer
    assert "no members" in answer and "your branches" not in answer
    direct = await broadcast(bot, rooms=False, branch_ids={"ids": [2]})
    assert f"N{direct} reached no members" in await ask(bot, adapter, "boss", f"/acks N{direct}")
    assert "no recipients in your branches" in await ask(bot, adapter, "sam", f"/acks N{number}")
