"""Learning's lines in the monthly branch report: who of the span's members answered a quiz
question that month, and how many answers were recorded (``bot/figures.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.figures import Figure, Span, Unit
from bot.i18n import _
from store.learning import Learning
from store.repos import Repositories

PARTICIPATION = _("Members who answered a quiz question")
ANSWERS = _("Quiz answers")


async def monthly(repos: Repositories, span: Span) -> Sequence[Figure]:
    """Participation counts the span's current members who answered for their branch in the
    month (as the leaderboard and ``/stats learning`` do); the answers are every answer
    recorded for its branches then. A span without members has no participation to measure
    (``None``, not 0%)."""
    found = await repos.get(Learning).month_activity(span.branch_ids, span.start, span.end)
    return (
        Figure(
            PARTICIPATION,
            found.active / found.members if found.members else None,
            Unit.SHARE,
            of=found.members,
        ),
        Figure(ANSWERS, float(found.answers), Unit.COUNT),
    )
