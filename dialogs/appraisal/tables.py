"""Appraisal's tables, on the shared ``Base``. See ``docs/privacy.md`` for why they look so.

Two ledgers share no key: ``appraisal_submitted`` says *who* has submitted (round, member,
day), ``appraisal_answers`` and ``appraisal_grades`` say *what* was answered (round, branch,
question, value; round, graded member, grade) with no submitter, no timestamp and random ids.
A submission waits in ``appraisal_staged`` (no member id either) until the mixer
(``dialogs.appraisal.mixer``) moves it into the ledgers in a shuffled batch of at least k.
Schema changes go through this feature's migrations (``dialogs/appraisal/migrations``) only.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId

RANDOM_ID_BITS = 62
"""Ledger and staged ids are drawn at random (``random_id``), so their order says nothing
about when a row was written; 62 bits fit both stores' signed 64-bit integers. On SQLite the
id is the rowid, so the rows are also stored in that random order."""


def random_id() -> int:
    return secrets.randbits(RANDOM_ID_BITS) + 1


class SurveyTemplate(Base):
    """One imported version of a template: its validated definition as JSON."""

    __tablename__ = "appraisal_templates"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    """1 for the first import of ``key``, one more for each import after it."""
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("key", "version"),)


class SurveyRound(Base):
    """A round: the number people see (``R3``) is its id."""

    __tablename__ = "appraisal_rounds"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_templates.id", ondelete="RESTRICT"), index=True
    )
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    """Set by ``/survey close`` or by the mixer once ``closes_at`` passed."""
    k: Mapped[int] = mapped_column(Integer)
    """The smallest batch of a branch the mixer moves while the round is open."""
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    """The round is closed and the mixer moved its last submissions and rewrote its whole
    ledger as one shuffled batch: only now are its figures final."""


class RoundBranch(Base):
    """A branch the round was opened for (its progress is shown even with nobody eligible)."""

    __tablename__ = "appraisal_round_branches"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True
    )


class Eligible(Base):
    """Who may answer, fixed when the round opened, and for which branch (a member who
    moves later still answers for the branch they were in)."""

    __tablename__ = "appraisal_eligible"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )


class Submitted(Base):
    """The participation ledger: who has submitted, and on which day (never the time).

    The mixer rewrites every row of a round (in member order) whenever it moves a batch, so
    neither PostgreSQL's ``xmin`` nor SQLite's row order still points at the submit."""

    __tablename__ = "appraisal_submitted"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date)


class Staged(Base):
    """A submission waiting for its batch: no member id, no timestamp, a random id."""

    __tablename__ = "appraisal_staged"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), index=True
    )
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Question key to the value given (skipped questions are absent)."""


class StagedGrade(Base):
    """A grade of a staged submission, in a row of its own so that a ``/link`` merge made
    before the move repoints the graded member as it does everywhere else."""

    __tablename__ = "appraisal_staged_grades"
    staged_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_staged.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    grade: Mapped[str] = mapped_column(String(24))


class Answer(Base):
    """The answer ledger: one value given to one question, and nothing about who gave it."""

    __tablename__ = "appraisal_answers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), index=True
    )
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    """None: "other branches", those with fewer than k respondents (folded when sealed)."""
    question: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)


class Grade(Base):
    """The grade ledger: a grade one member received, and nothing about who gave it. Its
    member moves with a ``/link`` merge (the key to ``members``), as the participation does."""

    __tablename__ = "appraisal_grades"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    grade: Mapped[str] = mapped_column(String(24))


class Reminded(Base):
    """The reminders a member who has not submitted got for a round: how many, the last when.
    Who has not submitted is not secret (``/survey status`` shows it); the reminder worker
    deletes the row once they have submitted, so no time stays beside a participation row."""

    __tablename__ = "appraisal_reminders"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    sent: Mapped[int] = mapped_column(Integer)
    """Reminders counted against ``reminder_max`` (the closing notice is not one)."""
    last_at: Mapped[datetime]
    """The last reminder or closing notice; the next reminder is an interval after it."""


class ClosingNotice(Base):
    """A round whose closing was announced the day before, so it is announced once."""

    __tablename__ = "appraisal_closing_notices"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    announced_at: Mapped[datetime]


class Inviting(Base):
    """A round whose invitations are still going out (``dialogs.appraisal.invitations``):
    opening writes it, the worker moves ``last_member_id`` on with each chunk it queues, in the
    chunk's transaction, and deletes the row with the room notices and the opener's report."""

    __tablename__ = "appraisal_invitations"
    round_id: Mapped[int] = mapped_column(
        ForeignKey("appraisal_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    report_to: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The opener's chat and language: the report goes there."""
    last_member_id: Mapped[int] = mapped_column(BigId, default=0)
    """The highest member id invited so far (eligible members go in id order)."""
    invited: Mapped[int] = mapped_column(Integer, default=0)
    """Eligible members looked at so far, reachable or not."""
    unreachable: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    """``[name, reason]`` of each member with no direct chat the bot may write to."""


TABLES: tuple[type[Base], ...] = (
    SurveyTemplate,
    SurveyRound,
    RoundBranch,
    Eligible,
    Submitted,
    Staged,
    StagedGrade,
    Answer,
    Grade,
    Reminded,
    ClosingNotice,
    Inviting,
)
