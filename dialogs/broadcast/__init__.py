"""Broadcasts, schedules, digests and "received" acknowledgements (see docs/broadcasts.md)."""

from __future__ import annotations

from bot.commands import Router
from bot.feature import Feature, Services
from dialogs.broadcast import acks, compose, digest, schedules
from dialogs.broadcast.config import BroadcastConfig
from dialogs.broadcast.fanout import Broadcaster
from dialogs.broadcast.figures import monthly
from store import broadcast_tables

router = Router()
for _module in (compose, schedules, digest, acks):
    router.include(_module.router)


def _workers(services: Services) -> list[Broadcaster]:
    return [Broadcaster(services, services.settings.section(BroadcastConfig))]


FEATURE = Feature(
    "broadcast",
    router,
    dialogs=(compose.BroadcastDialog,),
    config=BroadcastConfig,
    workers=_workers,
    tables=broadcast_tables.TABLES,
    figures=monthly,
)

__all__ = ["FEATURE"]
