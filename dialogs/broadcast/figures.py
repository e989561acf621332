"""Broadcasting's line in the monthly branch report: how many of the "received"
acknowledgements owed for the month's notices were given (``bot/figures.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.figures import Figure, Span, Unit
from bot.i18n import _
from store.broadcasts import Broadcasts
from store.repos import Repositories

ACKNOWLEDGED = _("Notices confirmed as “received”")


async def monthly(repos: Repositories, span: Span) -> Sequence[Figure]:
    """The broadcasts created in the month that asked for "received", counted per member
    recipient in the span's branches (whether reached in a direct chat or only through their
    branch room); acknowledgements given since count too. ``None`` when nothing was owed."""
    due, given = await repos.get(Broadcasts).month_acks(span.branch_ids, span.start, span.end)
    return (Figure(ACKNOWLEDGED, given / due if due else None, Unit.SHARE, of=due),)
