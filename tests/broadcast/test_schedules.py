"""Schedules are rows: a restart registers them again, a slot missed while the bot was down
runs once (not once per missed slot), and cron rules run in the organisation's zone."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.app import BranchBot
from store.clock import now
from store.models import Broadcast, BroadcastSchedule
from store.repos import Repositories
from tests.broadcast.conftest import organisation
from tests.conftest import BotFactory

TEMPLATE: dict[str, Any] = {
    "report_to": {},
    "text": [["t", "Tidy-up"]],
    "category": "notice",
    "rooms": True,
    "members": False,
    "ack": False,
    "created_by": None,
}


async def add(bot: BranchBot, **fields: Any) -> int:
    async with bot.db.session() as session:
        schedule = await Repositories(session).broadcasts.add_schedule(
            kind="broadcast", template=TEMPLATE, created_by=None, branch_ids={"all": True}, **fields
        )
        return schedule.id


async def runs(bot: BranchBot, schedule_id: int) -> int:
    async with bot.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(Broadcast.schedule_id == schedule_id)
        )
    return int(count or 0)


async def backdate(bot: BranchBot, schedule_id: int, days: int) -> None:
    async with bot.db.session() as session:
        row = await session.get(BroadcastSchedule, schedule_id)
        assert row is not None
        row.created_at = now() - timedelta(days=days)


async def test_missed_slots_run_once_after_a_restart(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    daily = await add(bot, spec="daily 08:30", cron="30 8 * * *")
    once = await add(bot, spec="at 2026-01-01 09:00", run_at=now() - timedelta(days=2))
    later = await add(bot, spec="at 2099-01-01 09:00", run_at=now() + timedelta(days=30))
    await backdate(bot, daily, 5)  # five daily slots passed "while the bot was down"
    await bot.stop()

    bot, adapter = await make_bot(adapter)
    await asyncio.sleep(3)
    assert await runs(bot, daily) == 1
    assert await runs(bot, once) == 1
    assert await runs(bot, later) == 0
    job = bot.scheduler.scheduler.get_job(f"schedule:0:{daily}")
    assert job is not None and job.next_run_time.utcoffset() == timedelta(hours=8)
    assert (job.next_run_time.hour, job.next_run_time.minute) == (8, 30)
    assert bot.scheduler.scheduler.get_job(f"schedule:0:{later}") is not None
    await bot.stop()

    bot, adapter = await make_bot(adapter)
    await asyncio.sleep(3)
    assert await runs(bot, daily) == 1, "no slot passed since the last run"
    assert await runs(bot, once) == 1
    await bot.broadcaster.run(daily)
    assert await runs(bot, daily) == 1, "a second firing of the same slot does nothing"


async def test_a_schedule_made_or_stopped_while_running_is_registered(
    make_bot: BotFactory,
) -> None:
    bot, _ = await make_bot()
    schedule = await add(bot, spec="weekly mon 09:00", cron="0 9 * * mon")
    soon = await add(bot, spec="at soon", run_at=now() + timedelta(seconds=3.5))
    await asyncio.sleep(2.5)
    job = bot.scheduler.scheduler.get_job(f"schedule:0:{schedule}")
    assert job is not None and job.next_run_time.weekday() == 0
    assert bot.scheduler.scheduler.get_job(f"schedule:0:{soon}") is not None
    assert await runs(bot, soon) == 0
    await asyncio.sleep(2)
    assert await runs(bot, soon) == 1, "the date job fired"
    async with bot.db.session() as session:
        await Repositories(session).broadcasts.stop_schedule(schedule)
    await asyncio.sleep(2.5)
    assert bot.scheduler.scheduler.get_job(f"schedule:0:{schedule}") is None
    assert await runs(bot, schedule) == 0
