"""Broadcasting's tables (notices, their recipients, schedules, digest lines), on the shared
``Base``. Schema changes go through Alembic migrations in ``store/migrations`` only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId


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


TABLES: tuple[type[Base], ...] = (Broadcast, BroadcastRecipient, BroadcastSchedule, DigestItem)
"""The feature's tables, for its ``Feature`` record."""
