"""What the supervision modules share: the router, the task number, colours, the day."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.commands import Router
from bot.context import Context, Settings
from bot.i18n import _
from bot.numbers import Kind
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.indicators import Colour
from store.clock import Clock

router = Router()

TASK = Kind("T", _("task number"))
"""A rectification task: ``T12``."""
REPORT = Kind("E", _("evidence number"))
"""A report with its evidence, as ``/evidence`` lists it: ``E7``."""

DOT = {
    Colour.GREEN: "🟢",
    Colour.YELLOW: "🟡",
    Colour.RED: "🔴",
    Colour.PENDING: "⚪",
}
COLOUR = {
    Colour.GREEN: _("green"),
    Colour.YELLOW: _("yellow"),
    Colour.RED: _("red"),
    Colour.PENDING: _("not due yet"),
}
TASK_STATUS = {
    "open": _("open"),
    "in_progress": _("in progress"),
    "done": _("done"),
    "dropped": _("dropped"),
}


def config(ctx: Context) -> SupervisionConfig:
    return ctx.settings.section(SupervisionConfig)


def day_of(clock: Clock, settings: Settings) -> date:
    """The organisation's calendar day: periods and deadlines are counted in its days."""
    return clock.now().astimezone(ZoneInfo(settings.timezone)).date()


def today(ctx: Context) -> date:
    return day_of(ctx.clock, ctx.settings)
