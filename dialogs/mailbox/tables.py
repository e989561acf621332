"""The mailbox's tables, on the shared ``Base``. ``docs/privacy.md`` says why they look so.

A letter (``mail_letters``) carries its writer's member id only when it is signed; for an
anonymous letter that column is empty and the writer is known only to ``mail_relay``, sealed
with a key the database does not hold (``dialogs.mailbox.relay``). Everything else about an
anonymous writer is dated by day only: the thread (``mail_entries``) keeps no time for their
steps, and blocks and the daily cap keep keyed hashes, never a member id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId

STATUSES = ("new", "answered", "closed", "reopened")
OPEN = ("new", "answered", "reopened")
"""A letter that is not closed: its secretaries still see it in ``/inbox``."""


class Letter(Base):
    """One matter, its case number ``M-<year>-<seq>`` and its two promised dates."""

    __tablename__ = "mail_letters"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), index=True
    )
    """The writer's branch when they wrote; ``None``: the letter went to the admins."""
    category: Mapped[str] = mapped_column(String(64))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    writer_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    """A signed letter's writer; always ``None`` for an anonymous one."""
    status: Mapped[str] = mapped_column(String(16), default="new")
    released: Mapped[bool] = mapped_column(Boolean, default=True)
    """Its secretaries may see it: a signed letter at once, an anonymous one from its release
    slot on (``dialogs.mailbox.deadlines``), so no command shows it at the minute it was
    written."""
    written_on: Mapped[date] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    resolve_due: Mapped[date] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    """The day of the first answer."""
    last_step_on: Mapped[date] = mapped_column(Date)
    """The day of the last answer, follow-up, close or reopen (what auto-close counts from)."""
    closed_on: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    with_admins: Mapped[bool] = mapped_column(Boolean, default=False)
    """Passed up to the admins: they are the ones reminded."""
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    """The secretary it was passed to; ``None``: every secretary of the branch."""
    reminded: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Bits of the reminders sent: 1 before the answer deadline, 2 before the resolution."""
    escalations: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Overdue notices sent to the admins so far (``reminder_max`` at most)."""
    escalated_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("year", "seq"),
        Index("ix_mail_letters_status", "status", "resolve_due"),
    )


class Entry(Base):
    """One step of a letter's thread: the letter itself, an answer, a follow-up, a status
    change, a pass. ``at`` is ``None`` for the steps of an anonymous writer (``on`` only)."""

    __tablename__ = "mail_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("mail_letters.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    """letter, answer, follow_up, closed, reopened, rated, passed, blocked, overdue"""
    author: Mapped[str] = mapped_column(String(16))
    """writer, secretary, admin or system"""
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    """Who, for a secretary, an admin or a signed letter's writer."""
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    posted: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    """Told to the secretaries. An anonymous writer's steps wait for the next release slot
    (``MailboxConfig.release_minutes``), where the deadline worker posts them."""


class LetterFile(Base):
    """An image of a letter, sealed with the relay key under its draft's token (a random
    token the writing conversation held): stored while the letter is written, it gets its
    ``letter_id`` when the letter is sent."""

    __tablename__ = "mail_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_letters.id", ondelete="CASCADE"), index=True
    )
    draft: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    on: Mapped[date] = mapped_column(Date)


class Relay(Base):
    """The one link from an anonymous letter to its writer: their member id sealed with
    AES-GCM under the relay key, bound to the letter. Only the relay opens it, to deliver."""

    __tablename__ = "mail_relay"
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("mail_letters.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Block(Base):
    """A writer kept from writing until ``until``: ``sealed`` is their member id sealed with
    the relay key under a fresh nonce, so neither the secretary who blocked nor a copy of the
    database learns who it is, nor whether two blocks are of the same person."""

    __tablename__ = "mail_blocks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_letters.id", ondelete="SET NULL")
    )
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    until: Mapped[date] = mapped_column(Date, index=True)
    created_on: Mapped[date] = mapped_column(Date)


class Quota(Base):
    """Letters sent on a day by one writer, under a keyed hash of (member, day)."""

    __tablename__ = "mail_quota"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


TABLES = (Letter, Entry, LetterFile, Relay, Block, Quota)
