"""The mixer: moves staged submissions into the answer ledger in shuffled batches.

A submit leaves one staged row (round, branch, answers; no member) beside the member's
participation row, written by the same transaction. Left there, the two could be joined by
that transaction (PostgreSQL's ``xmin``), by their order or by the file's pages. This worker (a
``ScheduleSource`` with no schedules: only ``tick`` works) breaks every such link:

- it moves a branch's staged rows only once at least k of them wait (and, at close, all that
  are left), exploded into single answer and grade rows, shuffled, under fresh random ids;
- it deletes the staged rows and rewrites every participation row of the round, in member
  order, in the same transaction, so no row of either ledger is the submit's any more;
- when the round closes (``/survey close`` or its closing time, which the mixer enforces) it
  rewrites the round's whole ledger as one batch and marks the round sealed; a branch with
  fewer than k respondents keeps its answers only as "other branches", and grades given to a
  member by fewer than k are dropped (no report may show them);
- after the commit it scrubs what the store keeps of old rows: SQLite zeroes deleted content
  (``PRAGMA secure_delete``, on every connection, ``store.db``) and a truncating WAL checkpoint
  drops the old pages from the write-ahead log; PostgreSQL gets a VACUUM of the touched tables.

Its log lines name rounds and counts, never a member. See ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.timetable import Timetable
from dialogs.appraisal.repository import ROUND
from dialogs.appraisal.tables import (
    Answer,
    Eligible,
    Grade,
    Staged,
    StagedGrade,
    Submitted,
    SurveyRound,
    random_id,
)
from store.clock import as_utc
from store.db import Database

log = logging.getLogger(__name__)

SCRUBBED_TABLES = (
    "appraisal_staged",
    "appraisal_submitted",
    "appraisal_answers",
    "appraisal_grades",
    "conversations",
    "outbox",
)
"""What PostgreSQL vacuums after a move: the tables the move wrote, the conversations, whose
dead rows still hold the answering drafts deleted at submit, and the outbox, whose dead rows
still hold the text of the answering's ephemeral messages, erased once delivered."""

_shuffle = secrets.SystemRandom().shuffle


@dataclass(frozen=True, slots=True)
class Moved:
    round_id: int
    submissions: int
    sealed: bool


@dataclass
class Mixer:
    db: Database
    _unscrubbed: bool = field(default=False, init=False)
    """A move committed whose scrub did not finish (the WAL was busy): try again next tick."""

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The mixer has no schedules; nothing to run."""

    async def outbox_floor(self) -> None:
        """The mixer writes and reads no outbox row."""

    async def tick(self) -> None:
        """Close the rounds whose time came, move every batch that is due, then scrub."""
        async with self.db.session() as session:
            due = await _due_rounds(session, self.db.clock.now())
        for round_id in due:
            try:
                async with self.db.session() as session:
                    moved = await mix(session, round_id, self.db.clock.now())
            except Exception:
                # The store hides statement parameters, so no answer reaches this log line.
                log.exception("%s: the move failed; will try again", ROUND.format(round_id))
                continue
            if moved.submissions or moved.sealed:
                self._unscrubbed = True
                log.info(
                    "%s: %d submissions moved into the ledger%s",
                    ROUND.format(round_id),
                    moved.submissions,
                    ", round sealed" if moved.sealed else "",
                )
        if self._unscrubbed:
            self._unscrubbed = not await scrub(self.db)


async def _due_rounds(session: AsyncSession, now: datetime) -> list[int]:
    """Rounds with work for the mixer: not sealed, and closed, past their time, or with a
    branch's k submissions staged; or sealed with a submission staged after all."""
    full = (
        select(Staged.round_id)
        .join(SurveyRound, SurveyRound.id == Staged.round_id)
        .group_by(Staged.round_id, Staged.branch_id, SurveyRound.k)
        .having(func.count() >= SurveyRound.k)
    )
    closed = or_(SurveyRound.closed_at.is_not(None), SurveyRound.closes_at <= now)
    rows = await session.scalars(
        select(SurveyRound.id)
        .where(
            or_(
                SurveyRound.sealed.is_(False) & (closed | SurveyRound.id.in_(full)),
                SurveyRound.sealed.is_(True) & SurveyRound.id.in_(select(Staged.round_id)),
            )
        )
        .order_by(SurveyRound.id)
    )
    return list(rows)


async def mix(session: AsyncSession, round_id: int, now: datetime) -> Moved:
    """One round's move, in the caller's transaction (see the module's docstring)."""
    # The round's row lock: a submit still running holds a share lock on it, so it commits
    # first and is among the staged rows read below, never moved alone after the seal. The
    # no-op update takes it on both stores (SQLite ignores FOR UPDATE; an update takes its
    # write lock before anything is read), so two movers never read the same staged rows.
    await session.execute(
        update(SurveyRound).where(SurveyRound.id == round_id).values(k=SurveyRound.k)
    )
    survey = await session.scalar(
        select(SurveyRound).where(SurveyRound.id == round_id).with_for_update()
    )
    if survey is None:
        return Moved(round_id, 0, False)
    staged = list(await session.scalars(select(Staged).where(Staged.round_id == round_id)))
    if survey.sealed and not staged:
        return Moved(round_id, 0, False)
    # A sealed round with staged rows had a submit slip in as it closed (SQLite takes no share
    # lock): it is sealed again, the newcomer shuffled into the whole round, never alone.
    closing = survey.sealed or survey.closed_at is not None or as_utc(survey.closes_at) <= now
    if closing and survey.closed_at is None:
        survey.closed_at = survey.closes_at
    k = survey.k
    by_branch: dict[int, list[Staged]] = {}
    for row in staged:
        by_branch.setdefault(row.branch_id, []).append(row)
    batch = [row for rows in by_branch.values() if closing or len(rows) >= k for row in rows]
    answers: list[dict[str, Any]] = []
    grades: list[dict[str, Any]] = []
    for row in batch:
        answers += [
            {"round_id": round_id, "branch_id": row.branch_id, "question": q, "value": v}
            for q, v in row.answers.items()
        ]
    if batch:
        graded = await session.execute(
            select(StagedGrade.member_id, StagedGrade.grade).where(
                StagedGrade.staged_id.in_([row.id for row in batch])
            )
        )
        grades += [{"round_id": round_id, "member_id": m, "grade": g} for m, g in graded]
    if closing:
        answers += await _take(session, Answer, round_id, ("branch_id", "question", "value"))
        grades += await _take(session, Grade, round_id, ("member_id", "grade"))
        answers, grades = await _fold_small_groups(session, round_id, k, answers, grades)
    if batch:
        await session.execute(delete(Staged).where(Staged.id.in_([row.id for row in batch])))
    await _insert_shuffled(session, Answer, answers)
    await _insert_shuffled(session, Grade, grades)
    if batch or closing:
        await _rewrite_participation(session, round_id)
    if closing:
        survey.sealed = True
        await session.flush()
    return Moved(round_id, len(batch), closing)


async def _fold_small_groups(
    session: AsyncSession,
    round_id: int,
    k: int,
    answers: list[dict[str, Any]],
    grades: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """At the seal: a branch with fewer than k respondents keeps its answers only as "other
    branches" (branch None), and a member graded by fewer than k keeps no grades, since no
    report may show either and a copy of the store must not show them either."""
    respondents = Counter(
        await session.scalars(
            select(Eligible.branch_id)
            .join(
                Submitted,
                (Submitted.round_id == Eligible.round_id)
                & (Submitted.member_id == Eligible.member_id),
            )
            .where(Eligible.round_id == round_id)
        )
    )
    for row in answers:
        if row["branch_id"] is not None and respondents[row["branch_id"]] < k:
            row["branch_id"] = None
    graders = Counter(row["member_id"] for row in grades)
    return answers, [row for row in grades if graders[row["member_id"]] >= k]


async def _take(
    session: AsyncSession, table: type[Answer] | type[Grade], round_id: int, columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Delete the round's rows of a ledger and give them back, to be written again."""
    rows = await session.execute(
        select(*(getattr(table, c) for c in columns)).where(table.round_id == round_id)
    )
    taken = [{"round_id": round_id, **dict(zip(columns, row, strict=True))} for row in rows]
    await session.execute(delete(table).where(table.round_id == round_id))
    return taken


async def _insert_shuffled(
    session: AsyncSession, table: type[Answer] | type[Grade], rows: list[dict[str, Any]]
) -> None:
    """Write ``rows`` in a random order under random ids: neither the ids, nor SQLite's rowid
    order (the id), nor PostgreSQL's physical order (the insert order) follows the submits."""
    if not rows:
        return
    _shuffle(rows)
    await session.execute(insert(table), [{"id": random_id(), **row} for row in rows])


async def _rewrite_participation(session: AsyncSession, round_id: int) -> None:
    """Write every participation row of the round anew, in member order: each now belongs
    to this transaction and sits where member order puts it, not where its submit did."""
    rows = (
        await session.execute(
            select(Submitted.member_id, Submitted.day)
            .where(Submitted.round_id == round_id)
            .order_by(Submitted.member_id)
        )
    ).all()
    await session.execute(delete(Submitted).where(Submitted.round_id == round_id))
    if rows:
        await session.execute(
            insert(Submitted),
            [{"round_id": round_id, "member_id": m, "day": d} for m, d in rows],
        )


async def scrub(db: Database) -> bool:
    """Make the store forget the rows a move deleted or rewrote; False when SQLite's WAL
    could not be truncated yet (a reader held it), so the mixer tries again."""
    if db.dialect == "sqlite":
        async with db.engine.connect() as connection:
            busy = (await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).scalar()
            await connection.commit()
        return not busy
    async with db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in SCRUBBED_TABLES:
            await autocommit.execute(text(f"VACUUM {table}"))
    return True
