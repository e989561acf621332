"""The problem list (问题清单) of a branch's health report as problems another feature may
make into rectification tasks (``bot.figures.Problem``): the report offers a button per
problem when one does (``Settings.rectifying``), and ``problem`` finds it again by its
source, ``appraisal:R<round>:<branch id>:<position>``."""

from __future__ import annotations

from bot.context import Context
from bot.figures import RECTIFY, Problem
from bot.i18n import _
from bot.messages import Choice
from dialogs.appraisal.common import ROUND, template_of
from dialogs.appraisal.figures import Figures, Group, figures
from dialogs.appraisal.repository import Appraisal
from store.repos import Repositories

PREFIX = "appraisal"


def source(number: int, branch_id: int, position: int) -> str:
    return f"{PREFIX}:{ROUND.format(number)}:{branch_id}:{position}"


async def problem(repos: Repositories, wanted: str, locale: str) -> Problem | None:
    parts = wanted.split(":")
    if len(parts) != 4 or parts[0] != PREFIX or not (parts[2] + parts[3]).isdecimal():
        return None
    try:
        number = ROUND.digits(parts[1])
    except ValueError:
        return None
    appraisal = repos.get(Appraisal)
    row = await appraisal.round(number)
    if row is None or not row.sealed:
        return None
    stored = await appraisal.template_by_id(row.template_id)
    if stored is None:
        return None
    found = await figures(appraisal, row, template_of(stored))
    group = next((g for g in found.branches if g.branch_id == int(parts[2])), None)
    position = int(parts[3])
    problems = group.problems() if group is not None else []
    if not 1 <= position <= len(problems):
        return None
    return Problem(wanted, problems[position - 1].question.text.get(locale))


def offer(ctx: Context, found: Figures, group: Group, branch: str) -> None:
    """The buttons that make each problem of ``group``'s list a rectification task."""
    problems = group.problems()
    if not (ctx.settings.rectifying and found.round.sealed and problems and group.branch_id):
        return
    if not ctx.who.manages(group.branch_id):
        return
    ctx.reply(
        _("Make a problem of {branch}'s list a rectification task:"),
        branch=branch,
        choices=[
            [
                Choice(
                    ctx.text(_("Task for problem {position}")).format(position=n),
                    f"{RECTIFY}:{source(found.round.number, group.branch_id, n)}",
                )
            ]
            for n in range(1, len(problems) + 1)
        ],
    )
