"""The drawing worker: answers ``/board`` outside the engine's batch.

Reading the board of 500 branches × 20 indicators takes half a second and drawing its
image as long again: inside the batch that second would hold up every event behind it. So
``/board`` only records the request (``sup_board_requests``) in the event's transaction, and
this worker, ticking twice a second, reads the board in its own session, draws the image in a
thread, and queues the answer in the transaction that removes the request: a crash loses no
request and sends no answer twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.feature import Services
from bot.i18n import _, translator
from bot.messages import Outgoing
from bot.outbox import Row, enqueue, hand_over, payload
from bot.timetable import Timetable
from dialogs.supervision.board import board
from dialogs.supervision.common import day_of
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.repository import Asked, Supervision
from dialogs.supervision.views import answer
from store.repos import Repositories

log = logging.getLogger(__name__)

DRAWN_PER_PASS = 4
"""Boards drawn in one pass, so that a burst of requests never keeps stopping from waiting."""
TRIES = 3
"""Failed drawings of one request before it is given up (and its asker told), so that a
request that cannot be drawn never holds up the ones behind it."""


@dataclass
class Drawing:
    services: Services
    config: SupervisionConfig = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _failed: dict[int, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.config = self.services.settings.section(SupervisionConfig)

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The drawing worker has no schedules: its work is the waiting requests."""

    async def outbox_floor(self) -> None:
        """It reads no outbox row."""

    async def tick(self) -> None:
        await self.draw()

    async def draw(self) -> None:
        """Answer the waiting requests, oldest first (tests call it to skip the tick)."""
        async with self._lock:
            async with self.services.db.session() as session:
                waiting = await Repositories(session).get(Supervision).asked(DRAWN_PER_PASS)
            for request in waiting:
                try:
                    await self._answer(request, given_up=self._failed.get(request.id, 0) >= TRIES)
                except Exception:
                    self._failed[request.id] = self._failed.get(request.id, 0) + 1
                    log.exception("drawing board request %d failed", request.id)
                else:
                    self._failed.pop(request.id, None)

    async def _answer(self, request: Asked, *, given_up: bool) -> None:
        settings = self.services.settings
        language = translator(request.locale, settings.default_locale)
        if given_up:
            text = language(_("The board could not be drawn. Please try `/board` again later."))
            message = Outgoing(text, thread=request.thread)
        else:
            day = day_of(self.services.clock, settings)
            async with self.services.db.session() as session:
                shown = await board(Repositories(session), self.config, day, request.branch_ids)
            text, drawn = await asyncio.to_thread(answer, language, shown)
            message = Outgoing(text, image=drawn, thread=request.thread)
        async with self.services.db.session() as session:
            repos = Repositories(session)
            if not await repos.get(Supervision).answered(request.id):
                return
            queued = await enqueue(repos, [Row(request.address, payload(message, language.locale))])
        hand_over(self.services.deliver, queued)
