"""What the appraisal modules share: the router."""

from __future__ import annotations

from bot.commands import Router

router = Router()
