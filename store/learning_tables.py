"""Learning's tables (banks, questions, answers, points, bank jobs), on the shared ``Base``.
Schema changes go through Alembic migrations in ``store/migrations`` only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId


class QuestionBank(Base):
    """A named set of questions and who owns it: the organisation (``branch_id`` NULL; its
    admins and the CLI import into it) or one branch (its secretaries' files go there). A
    branch's bank may share its name with the organisation's; they are different banks."""

    __tablename__ = "learning_banks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )


Index(
    "uq_learning_banks_owner_name",
    func.coalesce(QuestionBank.branch_id, 0),
    QuestionBank.name,
    unique=True,
)
"""One bank of a name per owner; NULL (the organisation) counts as one owner."""


class Question(Base):
    """A bank question. ``key`` is stable across re-imports (explicit id or a text hash) and
    unique within its bank only: another bank's file reusing it makes its own question."""

    __tablename__ = "learning_questions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("learning_banks.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    """single, multiple, truefalse or fill."""
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[list[Any]] = mapped_column(JSON)
    """Indexes of the right options; for fill-in, the accepted texts."""
    feedback: Mapped[list[str]] = mapped_column(JSON)
    """Per option (may be empty strings); for fill-in, one entry for a wrong answer."""
    explanation: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), index=True, default="")
    difficulty: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("bank_id", "key"),)


class Level(Base):
    __tablename__ = "learning_levels"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(64))
    questions: Mapped[int] = mapped_column(Integer)
    pass_mark: Mapped[int] = mapped_column(Integer)
    """Percent of right answers needed to pass."""


class Lesson(Base):
    __tablename__ = "learning_lessons"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(512), default="")
    category: Mapped[str] = mapped_column(String(64))
    questions: Mapped[int] = mapped_column(Integer)


class AnswerRecord(Base):
    """One answer to one question. ``attempt`` makes a recorded answer impossible to double."""

    __tablename__ = "learning_answers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("learning_questions.id", ondelete="CASCADE")
    )
    attempt: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    correct: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (Index("ix_learning_answers_member", "member_id", "answered_at"),)


class Review(Base):
    """SM-2 schedule of one question for one member."""

    __tablename__ = "learning_reviews"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("learning_questions.id", ondelete="CASCADE"), primary_key=True
    )
    repetitions: Mapped[int] = mapped_column(Integer, default=0)
    interval_days: Mapped[int] = mapped_column(Integer, default=0)
    ease: Mapped[float] = mapped_column(Float, default=2.5)
    due: Mapped[date] = mapped_column(Date, index=True)


class PointsEntry(Base):
    """Points earned: one row per award, the local ``day`` for daily caps and periods."""

    __tablename__ = "learning_points"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    activity: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date, index=True)

    __table_args__ = (Index("ix_learning_points_member_day", "member_id", "day"),)


class DailyDone(Base):
    """The days a member finished the daily quiz (streaks, one quiz a day)."""

    __tablename__ = "learning_daily"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    correct: Mapped[int] = mapped_column(Integer)


class Record(Base):
    """A member's best result by name: ``level:3`` (stars), ``challenge`` (run length)."""

    __tablename__ = "learning_records"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class BankJob(Base):
    """A bank file sent in a chat, kept until it is read: written in the event's transaction
    (so nothing sent is lost), parsed and imported by the bank worker outside the engine's
    batch, answered through the outbox. ``status``: pending → done or failed. The rights the
    sender had are taken with the file: the bank's owner and whether levels may change."""

    __tablename__ = "learning_bank_jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The file; emptied once it has been read."""
    skip_bad: Mapped[bool] = mapped_column(Boolean, default=False)
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    """An admin's file: organisation bank, and its levels and lessons count."""
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    """The branch whose bank a secretary's file goes to (NULL: the organisation's)."""
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


TABLES: tuple[type[Base], ...] = (
    QuestionBank,
    Question,
    Level,
    Lesson,
    AnswerRecord,
    Review,
    PointsEntry,
    DailyDone,
    Record,
    BankJob,
)
"""The feature's tables, for its ``Feature`` record."""
