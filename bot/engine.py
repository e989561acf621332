"""The core's engine: events in, their effects committed, their replies handed to delivery.

This is the face the composition root, the adapters and the scheduler see; the work is done
by its parts: ``pipeline`` (the queue, batching, the batch's commit and retry, slow-event
timing), ``batch`` (one commit's conversations, reads and writes), ``dispatch`` (routing an
event to a command, a conversation or a button), ``caches`` and ``principals`` (who sent it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.batch import Shared
from bot.caches import Caches
from bot.commands import Router
from bot.context import Settings
from bot.conversation import DialogRegistry
from bot.events import Incoming
from bot.messages import Accepted, Capabilities
from bot.metrics import Metrics
from bot.pipeline import Pipeline
from bot.principals import Principals
from store.db import Database
from store.runtime import PendingMessage


class Engine:
    def __init__(
        self,
        db: Database,
        router: Router,
        dialogs: DialogRegistry,
        settings: Settings,
        admins: Iterable[str],
        capabilities: Callable[[str], Capabilities],
        deliver: Callable[[list[PendingMessage]], None],
        metrics: Metrics,
        *,
        max_batch: int = 512,
        queue_size: int = 20_000,
        cache_size: int = 200_000,
        event_budget: float = 0.25,
    ) -> None:
        self.db = db
        self.router = router
        self.metrics = metrics
        self.principals = Principals(admins)
        shared = Shared(
            router, dialogs, settings, capabilities, Caches(cache_size), self.principals
        )
        self.pipeline = Pipeline(
            db,
            shared,
            deliver,
            metrics,
            max_batch=max_batch,
            queue_size=queue_size,
            event_budget=event_budget,
        )

    async def start(self) -> None:
        await self.refresh_admins()
        self.pipeline.start()

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        await self.pipeline.stop()

    async def refresh_admins(self) -> None:
        """Re-read the admins ``branchbot admin add`` stored (another process may add some)."""
        await self.principals.refresh(self.db)

    async def submit(self, event: Incoming) -> Accepted:
        """Take one event in; returns once its effects are committed (or it was a duplicate)."""
        return await self.pipeline.submit(event)

    async def queue_due_timeouts(self) -> int:
        """Queue a timeout event for every conversation whose deadline passed."""
        return await self.pipeline.queue_due_timeouts()
