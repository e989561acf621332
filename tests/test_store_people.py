"""Linking two accounts moves everything of the absorbed member, in every table."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from store.banks import load
from store.clock import SYSTEM_CLOCK
from store.learning import Learning
from store.learning_tables import AnswerRecord, DailyDone
from store.models import Invite, Room, Secretary
from store.repos import Repositories
from tests.support.chat import BotFactory

BANK = load(Path(__file__).parent / "learning" / "banks" / "library.yaml")


async def test_merge_moves_rows_and_keeps_the_survivors_on_conflict(make_bot: BotFactory) -> None:
    bot, _ = await make_bot()
    async with bot.db.session() as session:
        store = Repositories(session)
        north = await store.branches.add("North")
        south = await store.branches.add("South")
        assert north is not None and south is not None
        keep = await store.people.ensure("memory", "mei", "Mei")
        absorb = await store.people.ensure("memory", "mei-phone", "Mei")
        await store.people.add_secretary(keep, north.id)
        await store.people.add_secretary(absorb, north.id)
        await store.people.add_secretary(absorb, south.id)
        invite = await store.invites.create(
            "CODE1", south.id, "member", absorb, SYSTEM_CLOCK.now() + timedelta(days=1)
        )
        assert await store.invites.use(invite.code, absorb)
        await store.rooms.bind("memory", "room-1", south.id, "Room", absorb)
        await store.people.merge(keep, absorb)
        await session.commit()

    async with bot.db.session() as session:
        secretaries = set(await session.execute(select(Secretary.member_id, Secretary.branch_id)))
        assert secretaries == {(keep, north.id), (keep, south.id)}
        used = await session.scalar(select(Invite.used_by).where(Invite.code == invite.code))
        bound = await session.scalar(select(Room.bound_by).where(Room.chat_id == "room-1"))
        assert (used, bound) == (keep, keep)
        people = await Repositories(session).people.resolve(
            [("memory", "mei"), ("memory", "mei-phone")]
        )
        assert {p.member_id for p in people.values()} == {keep}


async def test_joining_in_a_direct_chat_records_that_chat(make_bot: BotFactory) -> None:
    from tests.support.chat import ask, code_in

    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add North")
    code = code_in(await ask(bot, adapter, "boss", "/invite North member"))
    assert "North" in await ask(bot, adapter, "mei", f"/join {code}")
    async with bot.db.session() as session:
        people = await Repositories(session).people.resolve([("memory", "mei")])
    assert people[("memory", "mei")].direct_chats == {"memory": "dm-mei"}


async def test_merge_first_writes_what_learning_kept_back(make_bot: BotFactory) -> None:
    """An answer held in the write-behind buffer for the absorbed member (answered earlier in
    the same batch as the ``/link``) must end up with the kept member, not fail the commit."""
    bot, _ = await make_bot()
    async with bot.db.session() as session:
        store = Repositories(session)
        question = (await store.get(Learning).import_bank(BANK)).added
        assert question
        card = (await store.get(Learning).cards(0, await store.get(Learning).sample(None, 1)))[0]
        keep = await store.people.ensure("memory", "mei", "Mei")
        absorb = await store.people.ensure("memory", "mei-phone", "Mei")
        store.get(Learning).record_answer(
            absorb, None, card, "run:0", "quiz", True, 4, date.today()
        )
        store.get(Learning).finish_daily(absorb, date.today(), 1)
        await store.merge_members(keep=keep, absorb=absorb)
        await store.flush()
        await session.commit()

    async with bot.db.session() as session:
        owners = list(await session.scalars(select(AnswerRecord.member_id)))
        days = list(await session.scalars(select(DailyDone.member_id)))
    assert owners == [keep] and days == [keep]
