"""Broadcasts, schedules, digests and "received" acknowledgements (see docs/broadcasts.md)."""

from __future__ import annotations

from bot.commands import Router
from bot.conversation import Dialog
from dialogs.broadcast import acks, compose, digest, schedules
from dialogs.broadcast.fanout import Broadcaster, BroadcastOptions

router = Router()
for _module in (compose, schedules, digest, acks):
    router.include(_module.router)

DIALOGS: list[type[Dialog]] = [compose.BroadcastDialog]

__all__ = ["DIALOGS", "BroadcastOptions", "Broadcaster", "router"]
