"""The features, one package (or module) each, in the order their commands are listed."""

from __future__ import annotations

from bot.feature import Feature
from dialogs import appraisal, broadcast, learning, mailbox, onboarding, supervision, webchat

FEATURES: tuple[Feature, ...] = (
    onboarding.FEATURE,
    appraisal.FEATURE,
    mailbox.FEATURE,
    supervision.FEATURE,
    learning.FEATURE,
    broadcast.FEATURE,
    webchat.FEATURE,
)

__all__ = ["FEATURES"]
