"""The tables. Schema changes go through Alembic migrations in ``store/migrations`` only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")
"""SQLite only autoincrements an ``INTEGER PRIMARY KEY``."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Branch(Base):
    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    """The name case-folded: branch names are unique regardless of case."""
    created_at: Mapped[datetime]
    locale: Mapped[str | None] = mapped_column(String(16))
    """The language of the branch's rooms, set by its secretary with ``/lang`` in one of them;
    unset means the organisation's default."""


MAX_DISPLAY_NAME = 255
"""Characters of a member's or an account's display name: as many as the edge lets through
(``bot.events.MAX_LABEL``), so a name is kept whole and an admin who types it finds it."""


class Member(Base):
    """A person the bot knows. ``branch_id`` is set once they joined a branch."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    display_name: Mapped[str] = mapped_column(String(MAX_DISPLAY_NAME), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Identity(Base):
    """One platform account of a member; ``/link`` puts several under one member."""

    __tablename__ = "identities"
    platform: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(MAX_DISPLAY_NAME), default="")
    direct_chat_id: Mapped[str | None] = mapped_column(String(255))
    """The direct chat this account last wrote from, so the bot can write to it first."""
    unreachable: Mapped[str | None] = mapped_column(Text)
    """Why the platform refused our last message to this account for good (it blocked the
    bot); cleared by the next message that gets through. The membership stays."""


class Secretary(Base):
    __tablename__ = "secretaries"
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True
    )


class Admin(Base):
    """Admins added with ``branchbot admin add``; those from the config are not stored."""

    __tablename__ = "admins"
    identity: Mapped[str] = mapped_column(String(320), primary_key=True)
    added_at: Mapped[datetime]


class Room(Base):
    """A group chat bound to a branch with ``/bind``."""

    __tablename__ = "rooms"
    platform: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(255), default="")
    bound_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    bound_at: Mapped[datetime]
    unreachable: Mapped[str | None] = mapped_column(Text)
    """Why the platform refused our last message to this room for good (the bot was removed);
    cleared by the next message that gets through."""


class Invite(Base):
    __tablename__ = "invites"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LinkCode(Base):
    __tablename__ = "link_codes"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    """The account that made the code: the confirmation names it and the merge tells it."""
    expires_at: Mapped[datetime]


class CodeFailure(Base):
    """One wrong invite or link code, kept for the rate-limit window only (then deleted).

    ``scope`` is ``sender`` or ``chat`` and ``key`` the sender's or the chat's id, so guesses
    are limited per person and per chat (a webhook channel could change sender ids at will).
    """

    __tablename__ = "code_failures"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(255))
    failed_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (Index("ix_code_failures_key", "platform", "scope", "key", "failed_at"),)


class Conversation(Base):
    """A running dialog: its state machine's state, data and version, and its next deadline."""

    __tablename__ = "conversations"
    platform: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    slot: Mapped[str] = mapped_column(String(32), primary_key=True)
    dialog: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    choices: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    """The payloads of the choices the step showed, as a platform without buttons numbered
    them (``None``: it showed none)."""
    direct: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Started in a direct chat: its timeout speaks there as in a direct chat."""
    version: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class OutboxRow(Base):
    """A message promised to someone. Written with the state change that caused it."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(255))
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, sent, unreachable, failed (given up after ``attempts`` tries that raised an
    error that was not transient; ``error`` says which), or folded (merged into the pending
    row whose id is in ``sent_ref``; it takes that row's outcome, unless the merged message
    fails: then it is pending again, to be sent on its own)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    sent_ref: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_pending", "platform", "status", "id"),
        Index("ix_outbox_chat", "platform", "chat_id", "id"),
    )


class SeenEvent(Base):
    """Platform event ids already taken in, so a redelivered update is handled once."""

    __tablename__ = "seen_events"
    platform: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class KeyValue(Base):
    """Small named values adapters and the runtime keep (poll offsets, sync tokens)."""

    __tablename__ = "kv"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- learning -----------------------------------------------------------------------------


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


class Broadcast(Base):
    """One notice to many: what to send, to whom (as a rule, expanded into recipients by the
    fan-out worker) and how far sending has come. ``status``: new → sending → done."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    report_to: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The sender's address and language, for progress and the report."""
    text: Mapped[list[Any]] = mapped_column(JSON)
    """The body as markup JSON."""
    category: Mapped[str] = mapped_column(String(16))
    branch_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``{"all": true}`` or ``{"ids": [1, 2]}``."""
    rooms: Mapped[bool] = mapped_column(Boolean)
    members: Mapped[bool] = mapped_column(Boolean)
    ack: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    milestone: Mapped[int] = mapped_column(Integer, default=0)
    schedule_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0)


class BroadcastRecipient(Base):
    """One destination of a broadcast (a member's direct chat or a branch room), its outbox row
    once queued, and the member's acknowledgement. A member reached only through rooms has a
    row without a chat, so acknowledgements are still counted per person."""

    __tablename__ = "broadcast_recipients"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(BigId)
    branch_id: Mapped[int | None] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    platform: Mapped[str | None] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(255))
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    """queued (to be put in the outbox), outbox (it is there), unreachable, or track (acks only)."""
    error: Mapped[str | None] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(BigId)
    acked_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_broadcast_recipients_queue", "broadcast_id", "status", "id"),
        Index("ix_broadcast_recipients_member", "member_id", "broadcast_id"),
    )


class BroadcastSchedule(Base):
    """A broadcast (or the digest) to send at a time or on a cron rule; APScheduler jobs are
    registered from these rows, so a restart finds them again."""

    __tablename__ = "broadcast_schedules"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    """broadcast or digest."""
    spec: Mapped[str] = mapped_column(String(128))
    """What the person typed, normalised: shown by /schedules."""
    cron: Mapped[str | None] = mapped_column(String(128))
    run_at: Mapped[datetime | None]
    template: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    branch_ids: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    """When ``active`` was cleared: ``/unschedule`` of a stopped schedule says when."""


class DigestItem(Base):
    """A line waiting for the next digest: for one branch, or the organisation (no branch)."""

    __tablename__ = "digest_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    broadcast_id: Mapped[int | None] = mapped_column(BigId, index=True)
    """Set when folded into a digest."""


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
