"""Schedules are rows: a restart registers them again, a slot missed while the bot was down
runs once (not once per missed slot), and cron rules run in the organisation's zone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from bot.app import BranchBot
from dialogs.broadcast.fanout import Broadcaster
from store.broadcast_tables import Broadcast, BroadcastSchedule
from store.broadcasts import Broadcasts
from store.clock import SYSTEM_CLOCK, ManualClock
from store.models import Secretary
from store.repos import Repositories
from tests.support.broadcasts import TEMPLATE, organisation
from tests.support.chat import BotFactory, ask, settle


async def add(bot: BranchBot, **fields: Any) -> int:
    async with bot.db.session() as session:
        schedule = (
            await Repositories(session)
            .get(Broadcasts)
            .add_schedule(
                kind="broadcast",
                template=TEMPLATE,
                created_by=None,
                branch_ids={"all": True},
                **fields,
            )
        )
        return schedule.id


async def runs(bot: BranchBot, schedule_id: int) -> int:
    async with bot.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(Broadcast.schedule_id == schedule_id)
        )
    return int(count or 0)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    """Poll ``check`` until it holds: the scheduler syncs every 2 s, so no fixed sleep is
    both short enough and sure to be long enough."""
    async with asyncio.timeout(timeout):
        while True:
            if await check():
                return
            await asyncio.sleep(0.1)


def registered(bot: BranchBot, schedule_id: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bot.scheduler.job(bot.worker(Broadcaster), schedule_id) is not None

    return check


def ran(bot: BranchBot, schedule_id: int, times: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await runs(bot, schedule_id) == times

    return check


async def backdate(bot: BranchBot, schedule_id: int, days: int) -> None:
    async with bot.db.session() as session:
        row = await session.get(BroadcastSchedule, schedule_id)
        assert row is not None
        row.created_at = SYSTEM_CLOCK.now() - timedelta(days=days)


async def test_missed_slots_run_once_after_a_restart(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock)
    await organisation(bot, adapter)
    daily = await add(bot, spec="daily 08:30", cron="30 8 * * *")
    once = await add(bot, spec="at 2026-01-01 09:00", run_at=clock.now() - timedelta(days=2))
    later = await add(bot, spec="at 2099-01-01 09:00", run_at=clock.now() + timedelta(days=30))
    await bot.stop()
    clock.advance(days=5)  # five daily slots pass while the bot is down

    bot, adapter = await make_bot(adapter, clock=clock)
    await eventually(ran(bot, daily, 1))
    await eventually(ran(bot, once, 1))
    await eventually(registered(bot, later))
    assert await runs(bot, later) == 0
    job = bot.scheduler.job(bot.worker(Broadcaster), daily)
    assert job is not None and job.next_run_time.utcoffset() == timedelta(hours=8)
    assert (job.next_run_time.hour, job.next_run_time.minute) == (8, 30)
    assert bot.scheduler.job(bot.worker(Broadcaster), later) is not None
    await bot.stop()

    bot, adapter = await make_bot(adapter, clock=clock)
    await eventually(registered(bot, daily))  # registering is when a missed slot would run
    assert await runs(bot, daily) == 1, "no slot passed since the last run"
    assert await runs(bot, once) == 1
    await bot.worker(Broadcaster).run(daily)
    assert await runs(bot, daily) == 1, "a second firing of the same slot does nothing"


async def test_a_schedule_made_or_stopped_while_running_is_registered(
    make_bot: BotFactory,
) -> None:
    bot, _ = await make_bot()
    schedule = await add(bot, spec="weekly mon 09:00", cron="0 9 * * mon")
    soon = await add(bot, spec="at soon", run_at=SYSTEM_CLOCK.now() + timedelta(seconds=3.5))
    await eventually(registered(bot, schedule))
    await eventually(registered(bot, soon))
    job = bot.scheduler.job(bot.worker(Broadcaster), schedule)
    assert job is not None and job.next_run_time.weekday() == 0
    assert await runs(bot, soon) == 0
    await eventually(ran(bot, soon, 1))  # the date job fired
    async with bot.db.session() as session:
        await Repositories(session).get(Broadcasts).stop_schedule(schedule)

    async def unregistered() -> bool:
        return not await registered(bot, schedule)()

    await eventually(unregistered)
    assert await runs(bot, schedule) == 0


async def run_digest(bot: BranchBot) -> None:
    """Run the digest schedule as if its slot had come."""
    digest = next(t for t in await bot.worker(Broadcaster).timetables())
    async with bot.db.session() as session:
        row = await session.get(BroadcastSchedule, digest.id)
        assert row is not None and row.kind == "digest"
        row.last_run_at, row.created_at = None, SYSTEM_CLOCK.now() - timedelta(days=8)
    await bot.worker(Broadcaster).run(digest.id)


async def test_organisation_digest_lines_wait_for_a_branch(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    assert "organisation" in await ask(bot, adapter, "boss", "/digest add Annual meeting")
    await run_digest(bot)
    async with bot.db.session() as session:
        assert len(await Repositories(session).get(Broadcasts).queued_digest()) == 1, "not lost"
    await ask(bot, adapter, "boss", "/branch add Main")
    await run_digest(bot)
    async with bot.db.session() as session:
        assert not await Repositories(session).get(Broadcasts).queued_digest()
        digests = await session.scalar(select(func.count()).where(Broadcast.category == "digest"))
    assert digests == 1


async def test_only_its_creator_or_an_admin_stops_a_schedule(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    async with bot.db.session() as session:
        repos = Repositories(session)
        people = await repos.people.resolve([("memory", "boss"), ("memory", "sam")])
        main = await repos.branches.by_name("Main")
    assert main is not None
    boss, sam = people[("memory", "boss")].member_id, people[("memory", "sam")].member_id
    ids: dict[str, int] = {}
    for who, member in (("boss", boss), ("sam", sam)):
        async with bot.db.session() as session:
            schedule = (
                await Repositories(session)
                .get(Broadcasts)
                .add_schedule(
                    kind="broadcast",
                    spec="daily 08:30",
                    cron="30 8 * * *",
                    template=TEMPLATE,
                    created_by=member,
                    branch_ids={"ids": [main.id]},
                )
            )
            ids[who] = schedule.id
    listing = await ask(bot, adapter, "sam", "/schedules")
    assert f"S{ids['boss']} " in listing and f"S{ids['sam']} " in listing
    refused = await ask(bot, adapter, "sam", f"/unschedule {ids['boss']}")
    assert "Only the person who scheduled" in refused
    assert "stopped" in await ask(bot, adapter, "sam", f"/unschedule {ids['sam']}")
    assert "stopped" in await ask(bot, adapter, "boss", f"/unschedule {ids['boss']}")


async def test_a_schedule_whose_creator_lost_the_rights_stops_and_says_so(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    async with bot.db.session() as session:
        repos = Repositories(session)
        sam = (await repos.people.resolve([("memory", "sam")]))[("memory", "sam")].member_id
        main = await repos.branches.by_name("Main")
    assert main is not None
    report_to = {
        "platform": "memory",
        "chat_id": "dm-sam",
        "direct": True,
        "user_id": "sam",
        "locale": "en",
    }
    ids = []
    for _ in range(2):
        async with bot.db.session() as session:
            schedule = (
                await Repositories(session)
                .get(Broadcasts)
                .add_schedule(
                    kind="broadcast",
                    spec="daily 08:30",
                    cron="30 8 * * *",
                    template={**TEMPLATE, "report_to": report_to},
                    created_by=sam,
                    branch_ids={"ids": [main.id]},
                )
            )
            ids.append(schedule.id)
        await backdate(bot, schedule.id, 2)
    await bot.worker(Broadcaster).run(ids[0])
    assert await runs(bot, ids[0]) == 1, "sam is secretary of Main"
    async with bot.db.session() as session:
        await session.execute(delete(Secretary).where(Secretary.member_id == sam))
    start = len(adapter.sent)
    await bot.worker(Broadcaster).run(ids[1])
    assert await runs(bot, ids[1]) == 0
    await settle(bot)
    await bot.worker(Broadcaster).run(
        ids[1]
    )  # a second firing: stopped, so nothing, not even a word
    await settle(bot)
    told = [
        s.message.text.plain()
        for s in adapter.sent[start:]
        if s.address.chat_id == "dm-sam" and "Scheduled notice" in s.message.text.plain()
    ]
    assert len(told) == 1 and f"S{ids[1]} was not sent and is stopped" in told[0]
    async with bot.db.session() as session:
        row = await session.get(BroadcastSchedule, ids[1])
        assert row is not None and not row.active


async def test_stored_rules_that_never_fire_do_not_slow_the_listing(make_bot: BotFactory) -> None:
    """Rows written before such rules were refused (31 April): APScheduler alone searches up to
    the year 9999 for each, almost half a second apiece, in /schedules and when registering."""
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    for _ in range(20):
        await add(bot, spec="cron 0 0 31 4,6,9,11 *", cron="0 0 31 4,6,9,11 *")
    await asyncio.sleep(2.5)  # the scheduler's sync has seen them
    started = time.thread_time()  # the loop's CPU time, where APScheduler's search would run
    listing = await ask(bot, adapter, "boss", "/schedules")
    assert time.thread_time() - started < 0.5
    assert listing.count("cron 0 0 31 4,6,9,11 *, next never") == 20


async def test_another_branchs_schedule_is_not_named(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await ask(bot, adapter, "boss", "/branch add Science")
    async with bot.db.session() as session:
        science = await Repositories(session).branches.by_name("Science")
        assert science is not None
        schedule = (
            await Repositories(session)
            .get(Broadcasts)
            .add_schedule(
                kind="broadcast",
                spec="daily 08:30",
                cron="30 8 * * *",
                template=TEMPLATE,
                created_by=None,
                branch_ids={"ids": [science.id]},
            )
        )
    answer = await ask(bot, adapter, "sam", f"/unschedule S{schedule.id}")
    assert f"You have no schedule S{schedule.id}" in answer
    assert "stopped" not in await ask(bot, adapter, "sam", "/schedules")
