"""What the appraisal dialogs share: the router, the round number, the answering slot."""

from __future__ import annotations

from bot.commands import Router
from dialogs.appraisal.repository import ROUND, StoredTemplate
from dialogs.appraisal.templates import Template

router = Router()

__all__ = ["ANSWER_AT", "ROUND", "SLOT", "START", "router", "template_of"]
START = "survey"
ANSWER_AT = "survey_{}"
"""The ``/start`` payload that starts answering a round in a direct chat
(``Outgoing.answer_at``): where a room's notice links its readers when the room's group cannot
take answers."""
"""The stateless prefix of the invitation's start button: ``survey:<round>``."""
SLOT = "survey"
"""The answering conversation's own slot, so a quiz or a broadcast in between loses nothing."""


def template_of(stored: StoredTemplate) -> Template:
    """A stored template version as the model (validated when it was imported)."""
    return Template.from_json(stored.definition)
