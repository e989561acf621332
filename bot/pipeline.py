"""The engine's queue: events are taken in batches by one task and each batch is committed once.

Within a batch, events run one after the other against one session, so a person's messages
are handled in the order they arrived and a later event sees what an earlier one wrote; then
the whole batch (new conversation states, the outbox rows, the ids of the events taken in) is
committed in one transaction. Only after that commit are the futures answered and the replies
handed to delivery. Throughput comes from batching round trips, not from running handlers
concurrently: a handler is a few dozen microseconds of Python, a commit is milliseconds.

If a batch fails, it is rolled back and its events are retried one by one, so one bad event
cannot take others down; the one that still fails is recorded as seen and its sender gets an
apology rather than a silent drop or an endless redelivery loop. An event that holds its batch
longer than its budget is logged (what handled it, never what was written) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

from bot.batch import Batch, Shared, Work
from bot.dispatch import handle
from bot.events import Chat, Incoming, Sender
from bot.i18n import _
from bot.messages import Accepted, EngineStopped
from bot.metrics import Metrics
from bot.outbox import hand_over
from store.db import Database
from store.repos import Repositories
from store.runtime import PendingMessage

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self,
        db: Database,
        shared: Shared,
        deliver: Callable[[list[PendingMessage]], None],
        metrics: Metrics,
        *,
        max_batch: int,
        queue_size: int,
        event_budget: float,
    ) -> None:
        self.db = db
        self.shared = shared
        self.deliver = deliver
        self.metrics = metrics
        self.max_batch = max_batch
        self.event_budget = event_budget
        """Seconds one event may take inside the batch before it is logged as slow."""
        self._queue: asyncio.Queue[Work] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._loop(), name="engine")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, event: Incoming) -> Accepted:
        """Take one event in; returns once its effects are committed (or it was a duplicate)."""
        if self._closing:
            # Not accepted: a polling adapter leaves it unconfirmed, so it comes again later.
            raise EngineStopped("branchbot is stopping")
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        await self._queue.put(Work(event, future))
        return await future

    async def queue_due_timeouts(self) -> int:
        """Queue a timeout event for every conversation whose deadline passed."""
        async with self.db.session() as session:
            due = await Repositories(session).conversations.due(self.db.clock.now())
        queued = 0
        for key, version in due:
            if key in self.shared.timeouts_queued:
                continue
            self.shared.timeouts_queued.add(key)
            platform, chat_id, user_id, slot = key
            event = Incoming(
                platform, f"timeout:{slot}:{version}", Chat(chat_id, False), Sender(user_id)
            )
            await self._queue.put(Work(event, None, timeout_version=version, slot=slot))
            queued += 1
        return queued

    async def _loop(self) -> None:
        while True:
            work = [await self._queue.get()]
            while len(work) < self.max_batch and not self._queue.empty():
                work.append(self._queue.get_nowait())
            try:
                await self._run(work)
            except Exception:  # pragma: no cover - _run handles its own failures
                log.exception("engine batch crashed")
            finally:
                for _item in work:
                    self._queue.task_done()

    async def _run(self, work: list[Work]) -> None:
        started = time.perf_counter()
        try:
            async with self.db.session() as session:
                batch = Batch(Repositories(session), self.shared)
                await batch.load(work)
                clock = time.perf_counter()
                for item in work:
                    batch.step = ""
                    await handle(batch, item)
                    # One clock read per event: each event's end is the next one's start.
                    done = time.perf_counter()
                    if done - clock > self.event_budget:
                        self._over_budget(batch, item, done - clock)
                    clock = done
                pending = await batch.save()
        except Exception as error:
            self.shared.caches.forget(item.event for item in work)
            if len(work) > 1:
                log.warning("batch of %d failed (%s); retrying one by one", len(work), error)
                for item in work:
                    await self._run([item])
                return
            await self._give_up(work[0], error)
            return
        self._committed(batch, pending)
        finished = time.perf_counter()
        self.metrics.batch_size.observe(len(work))
        self.metrics.commit_seconds.observe(finished - started)
        # Counted once per batch and kind: a labelled lookup per event cost 9 % of the batch.
        kinds = Counter(
            (item.event.platform, "duplicate" if answer.duplicate else "handled")
            for item, answer in batch.answers
        )
        for (platform, kind), count in kinds.items():
            self.metrics.events.labels(platform, kind).inc(count)
        for item, answer in batch.answers:
            self.metrics.event_seconds.observe(finished - item.queued_at)
            if item.future is not None and not item.future.done():
                item.future.set_result(answer)

    def _committed(self, batch: Batch, pending: list[PendingMessage]) -> None:
        """After the commit: caches learn the new truth, delivery gets the new rows."""
        batch.learn()
        hand_over(self.deliver, pending)

    def _over_budget(self, batch: Batch, item: Work, seconds: float) -> None:
        """An event held the batch longer than its budget: say what ran (never the text)."""
        event = item.event
        if item.timeout_version is not None:
            handler = f"timeout of {batch.step or item.slot}"
        elif event.command:
            command, _family = self.shared.router.find(event.command, event.args)
            handler = f"/{command.name}" if command is not None else "an unknown command"
        elif batch.step:
            handler = f"the {batch.step} dialog"
        elif event.choice is not None:
            handler = "a button"
        else:
            handler = "a file" if event.attachment is not None else "a message"
        log.warning(
            "slow event: %s on %s took %.3f s (budget %.3f s)",
            handler,
            event.platform,
            seconds,
            self.event_budget,
        )
        self.metrics.slow_events.labels(event.platform).inc()

    async def _give_up(self, item: Work, error: Exception) -> None:
        """An event that fails on its own: record it as seen and apologise, in one commit."""
        log.error(
            "event %s:%s failed",
            item.event.platform,
            item.event.event_id,
            exc_info=(type(error), error, error.__traceback__),
        )
        self.metrics.events.labels(item.event.platform, "failed").inc()
        if item.timeout_version is not None:
            self.shared.timeouts_queued.discard(item.key)
        try:
            async with self.db.session() as session:
                batch = Batch(Repositories(session), self.shared)
                event = item.event
                if item.timeout_version is None:
                    batch.seen.append((event.platform, event.event_id))
                    account = (event.platform, event.sender.id)
                    people = await batch.store.people.resolve([account])
                    who = self.shared.principals.of(event, people.get(account))
                    ctx = await batch.context(event, who)
                    ctx.reply(
                        _(
                            "Sorry, something went wrong with that. It has been logged; "
                            "please try again later."
                        )
                    )
                    batch.outbox.extend(ctx.outbox)
                else:
                    batch.removed.add(item.key)
                pending = await batch.save()
            self._committed(batch, pending)
        except Exception as second:
            log.error("could not record failed event", exc_info=second)
            if item.future is not None and not item.future.done():
                item.future.set_exception(second)
            return
        if item.future is not None and not item.future.done():
            item.future.set_result(Accepted())
