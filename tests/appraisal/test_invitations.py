"""The invitation worker: ``/survey open`` answers at once and writes one row; the worker
sends each invitation and room notice once, then the opener's report naming the unreachable;
a failure between two chunks resumes without sending an invitation twice; and the opening
event costs the same statements for 4 members as for 34."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from dialogs.appraisal import invitations
from dialogs.appraisal.invitations import Invitations
from store.clock import SYSTEM_CLOCK
from store.models import Branch, Member
from store.reachability import Reachability
from tests.support.appraisal import (
    MAIN,
    NORTH,
    button,
    closing,
    import_template,
    invitations_out,
    open_round,
    organisation,
    to,
)
from tests.support.broadcasts import plain, press, say
from tests.support.chat import BotFactory, settle


def invitations_to(adapter: MemoryAdapter, name: str) -> list[Sent]:
    return [s for s in to(adapter, name) if "You are invited to answer survey" in plain([s])]


def notices_in(adapter: MemoryAdapter, room: str) -> list[Sent]:
    return [
        s
        for s in adapter.sent
        if s.address.chat_id == room and "is open until" in s.message.text.plain()
    ]


def reports(adapter: MemoryAdapter) -> list[int]:
    """Where in ``adapter.sent`` the opener (boss) got the report."""
    return [
        i
        for i, s in enumerate(adapter.sent)
        if s.address.user_id == "boss" and "members are invited." in s.message.text.plain()
    ]


async def test_each_invitation_and_notice_once_then_the_report_naming_the_unreachable(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    async with bot.db.session() as session:
        await Reachability(session).set_many("memory", [((True, "ned"), "blocked: by the user")])
    answers = await open_round(bot, adapter, branches="All branches")
    reply = plain(answers[:1])
    assert "Survey R1 is open until" in reply
    assert "The invitations are going out; I will report when they are out." in reply
    await invitations_out(bot, adapter)  # a second pass finds nothing left to send

    sent: list[int] = []
    for name in MAIN + NORTH[:1]:
        (invitation,) = invitations_to(adapter, name)
        assert button([invitation], "Start") == "survey:1"
        sent.append(adapter.sent.index(invitation))
    assert not invitations_to(adapter, "ned")
    for room in ("room-main", "room-north"):
        (notice,) = notices_in(adapter, room)
        sent.append(adapter.sent.index(notice))
    (report,) = reports(adapter)
    assert report > max(sent)
    text = adapter.sent[report].message.text.plain()
    assert "Survey R1 is open until" in text
    assert "6 members are invited." in text and "A notice went to 2 rooms." in text
    assert "Not reachable in a direct chat:\n• Ned: has blocked the bot" in text


async def test_a_failure_between_chunks_resumes_inviting_each_member_once(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    bot.worker(Invitations).chunk = 2
    real = invitations.direct_chats
    calls: list[int] = []

    async def crashing(*args: Any) -> Any:
        """The first chunk goes through; every later one fails until the "restart"."""
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("the bot stops here")
        return await real(*args)

    monkeypatch.setattr(invitations, "direct_chats", crashing)
    await open_round(bot, adapter, branches="All branches")
    assert len(calls) >= 2  # the second chunk was tried and rolled back
    everyone = MAIN + NORTH
    assert sum(len(invitations_to(adapter, name)) for name in everyone) == 2
    assert not reports(adapter) and not notices_in(adapter, "room-main")

    monkeypatch.setattr(invitations, "direct_chats", real)
    await invitations_out(bot, adapter)
    for name in everyone:
        assert len(invitations_to(adapter, name)) == 1, name
    assert len(notices_in(adapter, "room-main")) == len(notices_in(adapter, "room-north")) == 1
    (report,) = reports(adapter)
    assert "6 members are invited." in adapter.sent[report].message.text.plain()


async def opening_statements(bot: BranchBot, adapter: MemoryAdapter) -> list[str]:
    """The statements of the event that confirms ``/survey open`` for branch Main: those run
    by the task that inserted the round (the workers' passes run in tasks of their own)."""
    answers = await say(bot, adapter, "boss", "/survey open")
    answers = await press(bot, adapter, "boss", button(answers, "Branch appraisal"))
    answers = await say(bot, adapter, "boss", "Main")
    answers = await say(bot, adapter, "boss", closing())
    seen: list[tuple[asyncio.Task[Any] | None, str]] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append((asyncio.current_task(), statement))

    event.listen(bot.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await adapter.say("boss", choice=button(answers, "Open it"))
        await settle(bot)
    finally:
        event.remove(bot.db.engine.sync_engine, "before_cursor_execute", count)
    (task,) = {t for t, statement in seen if "INSERT INTO appraisal_rounds" in statement}
    await invitations_out(bot, adapter)
    return [statement for t, statement in seen if t is task]


async def test_opening_costs_the_same_statements_for_4_members_as_for_34(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await opening_statements(bot, adapter)  # the first opening: caches warm, as for later ones
    small = await opening_statements(bot, adapter)
    async with bot.db.session() as session:
        main = await session.scalar(select(Branch.id).where(Branch.name == "Main"))
        people = [
            {"display_name": f"M{n}", "branch_id": main, "created_at": SYSTEM_CLOCK.now()}
            for n in range(30)
        ]
        await session.execute(insert(Member), people)
        await session.commit()
    large = await opening_statements(bot, adapter)
    assert len(large) == len(small), "\n\n".join(large)
    eligible = [s for s in large if "appraisal_eligible" in s]
    assert len(eligible) == 1 and eligible[0].startswith("INSERT INTO appraisal_eligible")
    assert "34 members are invited." in adapter.sent[reports(adapter)[-1]].message.text.plain()
