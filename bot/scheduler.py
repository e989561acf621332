"""Time-driven work on APScheduler: conversation deadlines and housekeeping.

Deadlines are stored on conversation rows, not in the scheduler: a sweep every second finds the
ones that passed and feeds a timeout event through the engine like any other event. So a
deadline survives a restart (the first sweep after start fires everything that is overdue) and
moving a deadline costs nothing but the row update the event writes anyway.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine import Engine
from store.clock import now
from store.db import Database
from store.repos import Repositories

log = logging.getLogger(__name__)

SEEN_EVENTS_KEPT = timedelta(days=14)


class Scheduler:
    def __init__(self, engine: Engine, db: Database, timezone: str) -> None:
        self.engine = engine
        self.db = db
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(timezone))

    def start(self) -> None:
        self.scheduler.add_job(
            self._deadlines,
            "interval",
            seconds=1,
            id="deadlines",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self.engine.refresh_admins,
            "interval",
            seconds=30,
            id="admins",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.add_job(
            self._prune,
            "cron",
            hour=4,
            minute=17,
            id="prune",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _deadlines(self) -> None:
        try:
            await self.engine.queue_due_timeouts()
        except Exception:
            log.exception("deadline sweep failed; the next one will retry")

    async def _prune(self) -> None:
        async with self.db.session() as session:
            await Repositories(session).seen.prune(now() - SEEN_EVENTS_KEPT)
