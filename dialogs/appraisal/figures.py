"""A round's health-report figures (体检报告), k-suppressed, in no language: what
``/survey report`` shows and ``branchbot survey export`` writes, computed once the same way.

Only the answer ledger is read (``Appraisal.answers``), never a staged row or a participation
row beyond the counts of who answered: a group (a branch, one question of a branch, the
organisation) with fewer than k answers has no figures at all, and a branch the mixer folded
into "other branches" at the seal counts only in the organisation's figures.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.repository import JSON, Appraisal, RoundRow
from dialogs.appraisal.tables import SurveyRound, SurveyTemplate
from dialogs.appraisal.templates import Kind, Question, Template

PROBLEMS = 3
"""Items on a problem list (问题清单): the weakest scale items of a group."""
SHUFFLE = random.SystemRandom()
"""Free text is shown in an order nobody can reproduce, not the ledger's."""


class Colour(StrEnum):
    GOOD = "good"
    MEDIUM = "medium"
    POOR = "poor"


def colour_of(share: float, config: AppraisalConfig) -> Colour:
    """好 / 中 / 差 by the ``[appraisal]`` thresholds on the share of the scale."""
    if share >= config.good_from:
        return Colour.GOOD
    return Colour.MEDIUM if share >= config.medium_from else Colour.POOR


@dataclass(frozen=True, slots=True)
class Item:
    """One scale, single or multiple question in one group, shown (``answers >= k``)."""

    question: Question
    answers: int
    counts: tuple[int, ...]
    """Per scale point (low to high) or per option, how many chose it."""
    mean: float | None
    """Scale questions only: the mean point; ``share`` places it on the scale from 0 to 1."""
    share: float | None


@dataclass(frozen=True, slots=True)
class Group:
    """A branch, or the organisation (``branch_id`` None), with its figures; ``shown`` False
    when it had fewer than k answers (then ``items`` and ``texts`` are empty)."""

    branch_id: int | None
    submitted: int
    eligible: int
    shown: bool
    items: tuple[Item, ...]
    hidden: tuple[Question, ...]
    """Items of a shown group with fewer than k answers each (an optional question)."""
    texts: tuple[tuple[Question, tuple[str, ...]], ...]
    """A branch's free-text questions with at least k answers, each's answers in random
    order; none for the organisation, whose figures every secretary sees: one branch's words
    are for that branch's secretaries."""

    @property
    def rate(self) -> float:
        return self.submitted / self.eligible if self.eligible else 0.0

    @property
    def overall(self) -> float | None:
        """The mean share of its scale items; None when it shows none."""
        shares = [item.share for item in self.items if item.share is not None]
        return sum(shares) / len(shares) if shares else None

    def share(self, key: str) -> float | None:
        return next((i.share for i in self.items if i.question.key == key), None)

    def problems(self) -> list[Item]:
        """The weakest scale items, weakest first (问题清单)."""
        scaled = [item for item in self.items if item.share is not None]
        return sorted(scaled, key=lambda item: (item.share, item.question.key))[:PROBLEMS]


@dataclass(frozen=True, slots=True)
class Figures:
    round: RoundRow
    template: Template
    k: int
    organisation: Group
    branches: tuple[Group, ...]
    """Every branch of the round, by id, shown or not."""
    previous: Previous | None


@dataclass(frozen=True, slots=True)
class Previous:
    """The last round before this one of the same template key, for the differences."""

    number: int
    organisation: Group
    branches: Mapping[int, Group]


def item_of(question: Question, values: Sequence[JSON]) -> Item:
    if question.kind is Kind.SCALE:
        assert question.scale is not None
        points = question.scale.points
        counts = tuple(sum(1 for v in values if v == p) for p in points)
        mean = sum(int(v) for v in values) / len(values)
        span = max(1, question.scale.high - question.scale.low)
        return Item(question, len(values), counts, mean, (mean - question.scale.low) / span)
    chosen = [v for v in values if isinstance(v, int)] + [
        o for v in values if isinstance(v, list) for o in v
    ]
    counts = tuple(sum(1 for o in chosen if o == i) for i in range(len(question.options)))
    return Item(question, len(values), counts, None, None)


def group_of(
    template: Template,
    k: int,
    branch_id: int | None,
    submitted: int,
    eligible: int,
    answers: Mapping[str, Sequence[JSON]] | None,
) -> Group:
    """A group's figures under the k rule; ``answers`` None or below k: nothing shown."""
    respondents = max((len(v) for v in (answers or {}).values()), default=0)
    if answers is None or respondents < k:
        return Group(branch_id, submitted, eligible, False, (), (), ())
    items, hidden, texts = [], [], []
    for question in template.questions:
        values = list(answers.get(question.key, ()))
        if question.kind is Kind.TEXT:
            if branch_id is not None and len(values) >= k:
                SHUFFLE.shuffle(values)
                texts.append((question, tuple(str(v) for v in values)))
        elif question.kind in (Kind.SCALE, Kind.SINGLE, Kind.MULTIPLE):
            if len(values) >= k:
                items.append(item_of(question, values))
            else:
                hidden.append(question)
    return Group(branch_id, submitted, eligible, True, tuple(items), tuple(hidden), tuple(texts))


async def groups(
    appraisal: Appraisal, row: RoundRow, template: Template
) -> tuple[Group, dict[int, Group]]:
    """The organisation's group (every answer, "other branches" included) and each branch's."""
    answers = await appraisal.answers(row.number)
    progress = await appraisal.progress(row.number)
    everything: dict[str, list[JSON]] = {}
    for by_question in answers.values():
        for key, values in by_question.items():
            everything.setdefault(key, []).extend(values)
    organisation = group_of(
        template,
        row.k,
        None,
        sum(p.submitted for p in progress),
        sum(p.eligible for p in progress),
        everything,
    )
    branches = {
        p.branch_id: group_of(
            template, row.k, p.branch_id, p.submitted, p.eligible, answers.get(p.branch_id)
        )
        for p in progress
    }
    return organisation, branches


async def previous_round(appraisal: Appraisal, row: RoundRow, key: str) -> RoundRow | None:
    """The newest earlier round opened with any version of template ``key``."""
    number = await appraisal.session.scalar(
        select(SurveyRound.id)
        .join(SurveyTemplate, SurveyTemplate.id == SurveyRound.template_id)
        .where(SurveyTemplate.key == key, SurveyRound.id < row.number)
        .order_by(SurveyRound.id.desc())
        .limit(1)
    )
    return await appraisal.round(number) if number is not None else None


async def figures(appraisal: Appraisal, row: RoundRow, template: Template) -> Figures:
    organisation, branches = await groups(appraisal, row, template)
    previous = None
    earlier = await previous_round(appraisal, row, template.key)
    if earlier is not None:
        stored = await appraisal.template_by_id(earlier.template_id)
        assert stored is not None  # a round's template is never deleted
        before, by_branch = await groups(appraisal, earlier, Template.from_json(stored.definition))
        previous = Previous(earlier.number, before, by_branch)
    return Figures(
        row, template, row.k, organisation, tuple(branches[b] for b in sorted(branches)), previous
    )
