"""The tables. Schema changes go through Alembic migrations in ``store/migrations`` only."""

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


class Member(Base):
    """A person the bot knows. ``branch_id`` is set once they joined a branch."""

    __tablename__ = "members"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    locale: Mapped[str | None] = mapped_column(String(16))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Identity(Base):
    """One platform account of a member; ``/link`` puts several under one member."""

    __tablename__ = "identities"
    platform: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    direct_chat_id: Mapped[str | None] = mapped_column(String(255))
    """The direct chat this account last wrote from, so the bot can write to it first."""


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
    expires_at: Mapped[datetime]


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
    """pending, sent or unreachable."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None]
    sent_ref: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_pending", "platform", "status", "id"),)


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
