"""The features, one module each. ``build_dialogs`` collects their commands and dialogs."""

from __future__ import annotations

from bot.commands import Router
from bot.conversation import DialogRegistry
from dialogs import broadcast, learning, onboarding
from dialogs.broadcast import Broadcaster, BroadcastOptions
from dialogs.learning import BankImports

__all__ = ["BankImports", "BroadcastOptions", "Broadcaster", "build_dialogs"]


def build_dialogs() -> tuple[Router, DialogRegistry]:
    router = Router()
    registry = DialogRegistry()
    for module in (onboarding, learning, broadcast):
        router.include(module.router)
        for dialog in module.DIALOGS:
            registry.register(dialog)
    return router, registry
