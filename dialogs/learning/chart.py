"""The ``/stats learning`` chart: participation and accuracy of each branch, by ``bot.charts``.

Each group of bars carries its branch's name after the number of its line in the message, each
bar its percentage; the title and the legend are in the reader's language, and the font draws
Chinese and Latin names alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.charts import BarChart, Series, png
from bot.context import Context
from bot.i18n import _
from store.learning import BranchActivity

COLOURS = ((52, 120, 246), (46, 184, 92))
"""Participation (blue), accuracy (green): the colours the message's legend line names."""


def learning_chart(ctx: Context, branches: Sequence[BranchActivity]) -> bytes:
    """PNG bytes: one numbered, named pair of bars per branch (the caller caps how many)."""
    return png(
        BarChart(
            title=ctx.t(_("**Learning this week**")).plain(),
            categories=[f"{n}. {b.name}" for n, b in enumerate(branches, start=1)],
            series=[
                Series(ctx.text(_("took part")), [b.participation for b in branches], COLOURS[0]),
                Series(ctx.text(_("right answers")), [b.accuracy for b in branches], COLOURS[1]),
            ],
        )
    )
