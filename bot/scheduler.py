"""Time-driven work on APScheduler: conversation deadlines, stored schedules, housekeeping.

Deadlines are stored on conversation rows, not in the scheduler: a sweep every second finds the
ones that passed and feeds a timeout event through the engine like any other event. So a
deadline survives a restart (the first sweep after start fires everything that is overdue) and
moving a deadline costs nothing but the row update the event writes anyway.

Stored schedules are rows of a feature's tables. A ``ScheduleSource``
lists them; a sync every few seconds registers one APScheduler job per row (cron or date
trigger, coalesced) and removes the jobs of rows that went away, so a restart re-registers
everything and a schedule made by another process is picked up. A slot that passed while the
bot was down runs once when the sync first sees it, never once per missed slot; the source's
``run`` checks that a slot is really due and records it, so extra firings do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.engine import Engine
from bot.timetable import Timetable, next_run, trigger
from store.db import Database
from store.repos import Repositories

log = logging.getLogger(__name__)

SEEN_EVENTS_KEPT = timedelta(days=14)
SYNC_SECONDS = 2
TICK_SECONDS = 0.5
STOP_GRACE_SECONDS = 10.0
"""How long stopping waits for a periodic pass (a fan-out chunk) before cutting it off."""
OUTBOX_PRUNE_CHUNK = 500
"""Outbox rows deleted per transaction: small enough that the engine's commits (SQLite has one
writer) never wait long behind the daily prune."""


class ScheduleSource(Protocol):
    """A feature's worker: it lists its schedules (rows of its tables), runs one, does
    periodic work, and names the oldest outbox row it may still read, which the daily prune
    keeps with everything after it."""

    async def timetables(self) -> Sequence[Timetable]: ...

    async def run(self, schedule_id: int) -> None: ...

    async def tick(self) -> None: ...

    async def outbox_floor(self) -> int | None: ...


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        db: Database,
        timezone: str,
        outbox_retention: timedelta = timedelta(days=30),
    ) -> None:
        self.engine = engine
        self.db = db
        self.clock = db.clock
        """What is due is decided on it (tests move it); APScheduler's timers run on the real
        time, so a moved clock takes effect at the next sync, sweep or prune."""
        self.timezone = timezone
        self.outbox_retention = outbox_retention
        """How long finished outbox rows are kept (``delivery.retention_days``)."""
        self._stop = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo(timezone))
        self.sources: list[ScheduleSource] = []
        self._registered: dict[str, Timetable] = {}
        self._tickers: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[Any]] = set()

    def add_source(self, source: ScheduleSource) -> None:
        self.sources.append(source)

    def job(self, source: ScheduleSource, schedule_id: int) -> Job | None:
        """The APScheduler job registered for one of ``source``'s schedules."""
        number = self.sources.index(source)
        return self.scheduler.get_job(f"schedule:{number}:{schedule_id}")

    def start(self) -> None:
        for number in range(len(self.sources)):
            self.scheduler.add_job(
                self._sync,
                "interval",
                seconds=SYNC_SECONDS,
                args=[number],
                id=f"sync:{number}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
                next_run_time=datetime.now(UTC),  # APScheduler's own timers: the real time
            )
            self._tickers.append(asyncio.create_task(self._ticking(number), name=f"tick:{number}"))
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
            self._admins,
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

    async def stop(self) -> None:
        """Stop firing, then let the work in flight finish: a job cut off mid-transaction would
        outlive the store it was using. APScheduler's ``shutdown`` cancels the coroutine jobs
        still running, so the scheduler is paused first and shut down only once they are done."""
        self._stop.set()
        if self.scheduler.running:
            self.scheduler.pause()
        await asyncio.sleep(0)  # jobs already handed to the loop start and register themselves
        await asyncio.gather(*self._running, return_exceptions=True)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._tickers:
            _done, late = await asyncio.wait(self._tickers, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tickers.clear()

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        finally:
            self._running.discard(task)

    async def _admins(self) -> None:
        with self._tracked():
            await self.engine.refresh_admins()

    async def _deadlines(self) -> None:
        try:
            with self._tracked():
                await self.engine.queue_due_timeouts()
        except Exception:
            log.exception("deadline sweep failed; the next one will retry")

    async def _ticking(self, number: int) -> None:
        """A source's periodic work, one pass after the other: a long pass (a big fan-out)
        delays the next instead of piling up overlapping runs."""
        while not self._stop.is_set():
            try:
                await self.sources[number].tick()
            except Exception:
                log.exception("periodic work failed; the next tick will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_SECONDS)

    async def _sync(self, number: int) -> None:
        """Register a job per stored schedule, drop the jobs of removed ones, and run once
        whatever slot passed unseen (the bot was down)."""
        with self._tracked():
            await self._register(number)

    async def _register(self, number: int) -> None:
        source = self.sources[number]
        try:
            tables = await source.timetables()
        except Exception:
            log.exception("could not read schedules; the next sync will retry")
            return
        wanted = {f"schedule:{number}:{t.id}": t for t in tables}
        for job_id in [j for j in self._registered if j.startswith(f"schedule:{number}:")]:
            old = self._registered[job_id]
            new = wanted.get(job_id)
            if new is None or (new.cron, new.run_at) != (old.cron, old.run_at):
                if self.scheduler.get_job(job_id) is not None:
                    self.scheduler.remove_job(job_id)
                del self._registered[job_id]
        for job_id, table in wanted.items():
            if job_id in self._registered:
                continue
            self._registered[job_id] = table
            if self._missed(table):
                await self._fire(number, table.id)
            if table.cron is not None:
                if next_run(table.cron, self.timezone, self.clock.now()) is None:
                    # A stored rule that never fires (31 April): registering it would make
                    # APScheduler search up to the year 9999, holding up the event loop.
                    log.warning("schedule %d never fires; not registered", table.id)
                    continue
                self.scheduler.add_job(
                    self._run,
                    trigger(table.cron, self.timezone),
                    args=[number, table.id],
                    id=job_id,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=None,
                    replace_existing=True,
                )
            elif table.run_at is not None and table.run_at > self.clock.now():
                self.scheduler.add_job(
                    self._run,
                    DateTrigger(table.run_at),
                    args=[number, table.id],
                    id=job_id,
                    misfire_grace_time=None,
                    replace_existing=True,
                )

    def _missed(self, table: Timetable) -> bool:
        if table.run_at is not None:
            return table.last_run_at is None and table.run_at <= self.clock.now()
        if table.cron is None:
            return False
        slot = next_run(table.cron, self.timezone, table.last_run_at or table.created_at)
        return slot is not None and slot <= self.clock.now()

    async def _run(self, number: int, schedule_id: int) -> None:
        with self._tracked():
            await self._fire(number, schedule_id)

    async def _fire(self, number: int, schedule_id: int) -> None:
        try:
            await self.sources[number].run(schedule_id)
        except Exception:
            log.exception("schedule %d failed", schedule_id)

    async def _prune(self) -> None:
        try:
            with self._tracked():
                async with self.db.session() as session:
                    await Repositories(session).seen.prune(self.clock.now() - SEEN_EVENTS_KEPT)
                await self.prune_codes()
                await self.prune_outbox()
        except Exception:
            log.exception("daily prune failed; tomorrow's will go on")

    async def prune_codes(self) -> int:
        """Delete expired link codes and wrong-code failures the limit no longer counts: both
        are written by strangers, so nothing else would bound them. Returns how many."""
        async with self.db.session() as session:
            repos = Repositories(session)
            deleted = await repos.links.prune() + await repos.attempts.prune()
        if deleted:
            log.info("codes: %d expired link codes and old wrong-code failures deleted", deleted)
        return deleted

    async def prune_outbox(self) -> int:
        """Delete finished outbox rows older than the retention, one small transaction per
        chunk (a stop ends it between two), keeping every row a source may still read.
        Returns how many were deleted."""
        before = self.clock.now() - self.outbox_retention
        floors = [await source.outbox_floor() for source in self.sources]
        below = min((floor for floor in floors if floor is not None), default=None)
        after: int | None = 0
        total = 0
        while after is not None and not self._stop.is_set():
            async with self.db.session() as session:
                deleted, after = await Repositories(session).outbox.prune(
                    before, below, after, OUTBOX_PRUNE_CHUNK
                )
            total += deleted
            self.engine.metrics.pruned.inc(deleted)
            await asyncio.sleep(0)  # let the engine and delivery run between two chunks
        if total:
            log.info("outbox: %d finished messages older than %s deleted", total, before)
        return total
