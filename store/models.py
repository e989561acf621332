"""The core's tables and the shared ``Base``. A feature declares its own tables on this
``Base`` in a module of its own (``store/learning_tables.py``, ``store/broadcast_tables.py``)
and lists them in its ``Feature`` record. Schema changes go through Alembic migrations only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
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
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), index=True
    )
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
