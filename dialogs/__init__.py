"""The features, one module each. ``build_dialogs`` collects their commands and dialogs."""

from __future__ import annotations

from bot.commands import Router
from bot.conversation import DialogRegistry
from dialogs import learning, onboarding


def build_dialogs() -> tuple[Router, DialogRegistry]:
    router = Router()
    registry = DialogRegistry()
    for module in (onboarding, learning):
        router.include(module.router)
        for dialog in module.DIALOGS:
            registry.register(dialog)
    return router, registry
