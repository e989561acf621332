"""Appraisal's lines in the monthly branch report (``bot/figures.py``): the survey rounds that
ran in the month for the span's branches, their response rate, and their overall share of
the scale where the health report's k rule lets it be shown.

Who has submitted is not an answer: the response rate is shown whatever k, as ``/survey
status`` and the health report show it. What was answered is the health report's
(``figures.group_of``), under its rules: a group with fewer than k answers shows nothing
(``None``), a branch folded into "other branches" counts only in the whole organisation's
figures, and a round counts only once sealed (before, its figures are not final and only
admins may look at them).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.figures import Figure, Span, Unit
from bot.i18n import _
from dialogs.appraisal.figures import group_of
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import Template
from store.repos import Repositories

ROUNDS = _("Survey rounds")
RESPONSE = _("Survey response rate")
OVERALL = _("Survey overall result (share of the scale)")


async def monthly(repos: Repositories, span: Span) -> Sequence[Figure]:
    appraisal = repos.get(Appraisal)
    rounds = await appraisal.month_rounds(span.branch_ids, span.start, span.end)
    eligible = sum(r.eligible for r in rounds)
    submitted = sum(r.submitted for r in rounds)
    sealed = [r for r in rounds if r.sealed]
    answers = await appraisal.answers_of([r.number for r in sealed], span.branch_ids)
    shares = []
    for row in sealed:
        group = group_of(
            Template.from_json(row.definition),
            row.k,
            None,
            row.submitted,
            row.eligible,
            answers.get(row.number),
        )
        if group.overall is not None:
            shares.append(group.overall)
    return (
        Figure(ROUNDS, float(len(rounds)), Unit.COUNT),
        Figure(RESPONSE, submitted / eligible if eligible else None, Unit.SHARE, of=eligible),
        Figure(OVERALL, sum(shares) / len(shares) if shares else None, Unit.SHARE),
    )
