"""The appraisal repository (``ctx.store.get(Appraisal)``): templates, rounds, who may answer,
submissions, progress, and the figures read back from the answer ledger.

A submit writes the participation row and one staged row in the event's transaction and
nothing else; only the mixer (``dialogs.appraisal.mixer``) writes the answer ledger, in
shuffled batches, so nothing here ever joins a member to an answer (``docs/privacy.md``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import BigInteger, ColumnElement, func, insert, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.i18n import _
from bot.numbers import Kind
from dialogs.appraisal.tables import (
    Answer,
    Eligible,
    Grade,
    RoundBranch,
    Staged,
    StagedGrade,
    Submitted,
    SurveyRound,
    SurveyTemplate,
    random_id,
)
from store.branches import IN_CHUNK
from store.clock import as_utc, clock_of
from store.models import Member

ROUND = Kind("R", _("round number"))
"""A round's public number: ``R3``."""

JSON = Any
"""A value as JSON holds it (a number, a text, a list of option indexes, ...)."""


class Definition(Protocol):
    """What the repository needs of a template (``dialogs.appraisal.templates.Template``)."""

    @property
    def key(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class StoredTemplate:
    """An imported template version; ``definition`` is its ``to_json()`` (``Template.from_json``
    reads it back)."""

    id: int
    key: str
    version: int
    definition: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RoundRow:
    number: int
    template_id: int
    opened_by: int | None
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    k: int
    sealed: bool
    """Closed, and every submission is in the ledger: the figures are final."""
    branch_ids: tuple[int, ...]

    @property
    def label(self) -> str:
        """``R3``: how the number is shown."""
        return ROUND.format(self.number)

    def is_open(self, now: datetime) -> bool:
        """Not closed early and its closing time not reached."""
        return self.closed_at is None and now < self.closes_at


class SubmitResult(StrEnum):
    SUBMITTED = "submitted"
    ALREADY = "already"
    """This member's answers are in already; nothing changes after a submit."""
    CLOSED = "closed"
    NOT_ELIGIBLE = "not_eligible"
    """Not one of those fixed when the round opened (or not for that branch), or no round."""


@dataclass(frozen=True, slots=True)
class Progress:
    branch_id: int
    submitted: int
    eligible: int


@dataclass(frozen=True, slots=True)
class MonthRound:
    """A round that ran in a month, as the monthly branch report sees it for some branches:
    its k, whether sealed, its template's definition, and those branches' eligible members
    and submissions."""

    number: int
    k: int
    sealed: bool
    definition: dict[str, Any]
    eligible: int
    submitted: int


class Appraisal:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    # Templates

    async def add_template(self, template: Definition) -> int:
        """Store a validated template; importing a key again makes its next version."""
        newest = await self.session.scalar(
            select(func.max(SurveyTemplate.version)).where(SurveyTemplate.key == template.key)
        )
        row = SurveyTemplate(
            key=template.key,
            version=(newest or 0) + 1,
            definition=template.to_json(),
            imported_at=self.clock.now(),
        )
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def template(self, key: str) -> StoredTemplate | None:
        """The newest version of ``key``."""
        row = await self.session.scalar(
            select(SurveyTemplate)
            .where(SurveyTemplate.key == key)
            .order_by(SurveyTemplate.version.desc())
            .limit(1)
        )
        return _stored(row) if row else None

    async def template_by_id(self, template_id: int) -> StoredTemplate | None:
        """The exact version a round was opened with."""
        row = await self.session.get(SurveyTemplate, template_id)
        return _stored(row) if row else None

    async def templates(self) -> list[StoredTemplate]:
        """The newest version of every key, by key."""
        newest = (
            select(SurveyTemplate.key, func.max(SurveyTemplate.version).label("version"))
            .group_by(SurveyTemplate.key)
            .subquery()
        )
        rows = await self.session.scalars(
            select(SurveyTemplate)
            .join(
                newest,
                (SurveyTemplate.key == newest.c.key) & (SurveyTemplate.version == newest.c.version),
            )
            .order_by(SurveyTemplate.key)
        )
        return [_stored(row) for row in rows]

    # Rounds

    async def open_round(
        self,
        template_id: int,
        branch_ids: Sequence[int],
        closes_at: datetime,
        opened_by: int | None,
        k: int,
    ) -> RoundRow:
        """Open a round; who may answer is fixed here: the members of ``branch_ids`` now."""
        row = SurveyRound(
            template_id=template_id,
            opened_by=opened_by,
            opened_at=self.clock.now(),
            closes_at=closes_at,
            closed_at=None,
            k=k,
            sealed=False,
        )
        self.session.add(row)
        await self.session.flush()
        branches = sorted(set(branch_ids))
        if branches:
            await self.session.execute(
                insert(RoundBranch), [{"round_id": row.id, "branch_id": b} for b in branches]
            )
            for start in range(0, len(branches), IN_CHUNK):  # 32,767 values per statement
                await self.session.execute(
                    insert(Eligible).from_select(
                        ["round_id", "member_id", "branch_id"],
                        select(literal(row.id, BigInteger), Member.id, Member.branch_id).where(
                            Member.branch_id.in_(branches[start : start + IN_CHUNK])
                        ),
                    )
                )
        return _round(row, tuple(branches))

    async def round(self, number: int) -> RoundRow | None:
        row = await self.session.get(SurveyRound, number)
        return await self._with_branches(row) if row else None

    async def open_rounds(self) -> list[RoundRow]:
        """Rounds neither closed nor past their closing time, the newest first."""
        now = self.clock.now()
        rows = await self.session.scalars(
            select(SurveyRound)
            .where(SurveyRound.closed_at.is_(None), SurveyRound.closes_at > now)
            .order_by(SurveyRound.id.desc())
        )
        return [await self._with_branches(row) for row in rows]

    async def recent_rounds(self, limit: int) -> list[RoundRow]:
        """The newest ``limit`` rounds, open or closed."""
        rows = await self.session.scalars(
            select(SurveyRound).order_by(SurveyRound.id.desc()).limit(limit)
        )
        return [await self._with_branches(row) for row in rows]

    async def close(self, number: int) -> bool:
        """End a round now (``/survey close``); False when it was closed already or is
        unknown. The mixer then moves what is still staged."""
        row = await self.session.get(SurveyRound, number)
        if row is None or row.closed_at is not None:
            return False
        row.closed_at = min(self.clock.now(), as_utc(row.closes_at))
        await self.session.flush()
        return True

    async def _with_branches(self, row: SurveyRound) -> RoundRow:
        branches = await self.session.scalars(
            select(RoundBranch.branch_id)
            .where(RoundBranch.round_id == row.id)
            .order_by(RoundBranch.branch_id)
        )
        return _round(row, tuple(branches))

    # Who may answer, and submitting

    async def eligibility(self, number: int, member_id: int) -> int | None:
        """The branch ``member_id`` answers round ``number`` for; None if not eligible."""
        return await self.session.scalar(
            select(Eligible.branch_id).where(
                Eligible.round_id == number, Eligible.member_id == member_id
            )
        )

    async def eligible_members(self, number: int, branch_id: int) -> list[Member]:
        """Everyone fixed as eligible for ``branch_id`` (the members a ``grade_members``
        question lists), by name."""
        rows = await self.session.scalars(
            select(Member)
            .join(Eligible, Eligible.member_id == Member.id)
            .where(Eligible.round_id == number, Eligible.branch_id == branch_id)
            .order_by(Member.display_name, Member.id)
        )
        return list(rows)

    async def has_submitted(self, number: int, member_id: int) -> bool:
        return (await self.session.get(Submitted, (number, member_id))) is not None

    async def submit(
        self,
        number: int,
        member_id: int,
        branch_id: int,
        answers: Mapping[str, JSON],
        grades: Mapping[int, str],
    ) -> SubmitResult:
        """Record that ``member_id`` submitted and stage what they answered, apart: the staged
        row carries the round, the branch and the answers, never the member."""
        # Shared-locked (PostgreSQL), so the mixer's close waits for this submit to commit
        # and moves it with the others rather than alone after the round was sealed.
        row = await self.session.scalar(
            select(SurveyRound).where(SurveyRound.id == number).with_for_update(read=True)
        )
        if row is None or await self.eligibility(number, member_id) != branch_id:
            return SubmitResult.NOT_ELIGIBLE
        if await self.has_submitted(number, member_id):
            return SubmitResult.ALREADY
        now = self.clock.now()
        if not _round(row, ()).is_open(now):
            return SubmitResult.CLOSED
        self.session.add(Submitted(round_id=number, member_id=member_id, day=now.date()))
        staged = Staged(id=random_id(), round_id=number, branch_id=branch_id, answers=dict(answers))
        self.session.add(staged)
        await self.session.flush()
        if grades:
            await self.session.execute(
                insert(StagedGrade),
                [{"staged_id": staged.id, "member_id": m, "grade": g} for m, g in grades.items()],
            )
        return SubmitResult.SUBMITTED

    # Progress (who, never what)

    async def progress(self, number: int) -> list[Progress]:
        """Per target branch: how many submitted of how many eligible, by branch id."""
        eligible: dict[int, int] = {
            branch: count
            for branch, count in await self.session.execute(
                select(Eligible.branch_id, func.count())
                .where(Eligible.round_id == number)
                .group_by(Eligible.branch_id)
            )
        }
        submitted: dict[int, int] = {
            branch: count
            for branch, count in await self.session.execute(
                select(Eligible.branch_id, func.count())
                .join(
                    Submitted,
                    (Submitted.round_id == Eligible.round_id)
                    & (Submitted.member_id == Eligible.member_id),
                )
                .where(Eligible.round_id == number)
                .group_by(Eligible.branch_id)
            )
        }
        branches = await self.session.scalars(
            select(RoundBranch.branch_id)
            .where(RoundBranch.round_id == number)
            .order_by(RoundBranch.branch_id)
        )
        return [Progress(b, submitted.get(b, 0), eligible.get(b, 0)) for b in branches]

    async def month_rounds(
        self, branch_ids: Collection[int] | None, start: datetime, end: datetime
    ) -> list[MonthRound]:
        """The rounds open at some moment of ``[start, end)`` (closed in it, or still running)
        that were opened for any of the branches (``None``: any branch), each with the
        eligible members and submissions of those branches: one statement, whatever the
        number of branches or members."""

        def within(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
            return true() if branch_ids is None else column.in_(sorted(branch_ids))

        eligible = (
            select(func.count())
            .select_from(Eligible)
            .where(Eligible.round_id == SurveyRound.id, within(Eligible.branch_id))
            .scalar_subquery()
        )
        submitted = (
            select(func.count())
            .select_from(Eligible)
            .join(
                Submitted,
                (Submitted.round_id == Eligible.round_id)
                & (Submitted.member_id == Eligible.member_id),
            )
            .where(Eligible.round_id == SurveyRound.id, within(Eligible.branch_id))
            .scalar_subquery()
        )
        targeted = (
            select(RoundBranch.round_id)
            .where(RoundBranch.round_id == SurveyRound.id, within(RoundBranch.branch_id))
            .exists()
        )
        rows = await self.session.execute(
            select(
                SurveyRound.id,
                SurveyRound.k,
                SurveyRound.sealed,
                SurveyTemplate.definition,
                eligible,
                submitted,
            )
            .join(SurveyTemplate, SurveyTemplate.id == SurveyRound.template_id)
            .where(
                SurveyRound.opened_at < end,
                func.coalesce(SurveyRound.closed_at, SurveyRound.closes_at) >= start,
                targeted,
            )
            .order_by(SurveyRound.id)
        )
        return [MonthRound(n, k, bool(s), d, int(e), int(a)) for n, k, s, d, e, a in rows]

    async def not_submitted(self, number: int, branch_id: int) -> list[Member]:
        """The eligible members of ``branch_id`` who have not submitted, by name."""
        done = select(Submitted.member_id).where(Submitted.round_id == number)
        rows = await self.session.scalars(
            select(Member)
            .join(Eligible, Eligible.member_id == Member.id)
            .where(
                Eligible.round_id == number,
                Eligible.branch_id == branch_id,
                Member.id.not_in(done),
            )
            .order_by(Member.display_name, Member.id)
        )
        return list(rows)

    # The ledgers (what, never who)

    async def staged(self, number: int) -> int:
        """Submissions not yet moved into the ledgers (the report waits for none)."""
        return (
            await self.session.scalar(
                select(func.count()).select_from(Staged).where(Staged.round_id == number)
            )
            or 0
        )

    async def answers_of(
        self, numbers: Collection[int], branch_ids: Collection[int] | None
    ) -> dict[int, dict[str, list[JSON]]]:
        """Per round, per question, the values given in the branches (``None``: the whole
        organisation, "other branches" included), in the ledger's (random) order."""
        if not numbers:
            return {}
        query = select(Answer.round_id, Answer.question, Answer.value).where(
            Answer.round_id.in_(sorted(numbers))
        )
        if branch_ids is not None:
            query = query.where(Answer.branch_id.in_(sorted(branch_ids)))
        found: dict[int, dict[str, list[JSON]]] = {}
        for number, question, value in await self.session.execute(query.order_by(Answer.id)):
            found.setdefault(number, {}).setdefault(question, []).append(value)
        return found

    async def answers(self, number: int) -> dict[int | None, dict[str, list[JSON]]]:
        """Per branch, per question, the values given, in the ledger's (random) order; once
        sealed, branch None holds the branches with fewer than k respondents."""
        rows = await self.session.execute(
            select(Answer.branch_id, Answer.question, Answer.value)
            .where(Answer.round_id == number)
            .order_by(Answer.id)
        )
        found: dict[int | None, dict[str, list[JSON]]] = {}
        for branch_id, question, value in rows:
            found.setdefault(branch_id, {}).setdefault(question, []).append(value)
        return found

    async def grades_received(self, number: int, member_id: int) -> dict[str, int]:
        """How many of each grade ``member_id`` received; once sealed, nothing when fewer
        than k graded them (the report still checks the k rule before it shows any)."""
        rows = await self.session.scalars(
            select(Grade.grade).where(Grade.round_id == number, Grade.member_id == member_id)
        )
        return dict(Counter(rows))


def _stored(row: SurveyTemplate) -> StoredTemplate:
    return StoredTemplate(row.id, row.key, row.version, row.definition)


def _round(row: SurveyRound, branch_ids: Iterable[int]) -> RoundRow:
    return RoundRow(
        number=row.id,
        template_id=row.template_id,
        opened_by=row.opened_by,
        opened_at=as_utc(row.opened_at),
        closes_at=as_utc(row.closes_at),
        closed_at=as_utc(row.closed_at) if row.closed_at else None,
        k=row.k,
        sealed=row.sealed,
        branch_ids=tuple(branch_ids),
    )
