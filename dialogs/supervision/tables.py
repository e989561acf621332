"""The supervision feature's tables, on the shared ``Base``.

An indicator's definition is kept as validated JSON (``sup_indicators``), so the board rates
what was imported even after the file changed. A report (``sup_reports``) is one version of
one branch's evidence for one indicator and period: a correction adds a version and marks it
``current``, so the history is kept. Evidence files live on disk under their SHA-256
(``dialogs.supervision.evidence``); ``sup_files`` says which report or task step holds which.
What the warning worker has sent is recorded once per key (``sup_notices``), so a restart
sends nothing twice and forgets nothing. A ``/board`` of many branches waits in
``sup_board_requests`` for the drawing worker, recorded with the event that asked for it.
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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigId

TASK_STATUSES = ("open", "in_progress", "done", "dropped")
TASK_OPEN = ("open", "in_progress")


class StoredIndicator(Base):
    __tablename__ = "sup_indicators"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(48), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``Indicator.model_dump(mode="json")``."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    """Its place in the file it last came from: the board's column order."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_on: Mapped[date] = mapped_column(Date)
    """The day it was first imported: its first period is the one this day falls in."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    imported_at: Mapped[datetime]


class Report(Base):
    """One version of a branch's report for an indicator and a period."""

    __tablename__ = "sup_reports"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("sup_indicators.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    """Submitted after the period's deadline (the first version decides)."""
    by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    on: Mapped[date] = mapped_column(Date)
    """The organisation's day it was submitted (what ``late`` was decided by)."""
    text: Mapped[str] = mapped_column(Text, default="")
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    search: Mapped[str] = mapped_column(Text, default="")
    """Lower-cased: the indicator's titles, the branch, the period and the text, for
    ``/evidence search`` (every word must occur)."""

    __table_args__ = (
        UniqueConstraint("indicator_id", "branch_id", "period", "version"),
        Index("ix_sup_reports_current", "branch_id", "current", "period"),
        Index("ix_sup_reports_period", "period", "current"),
    )


class Task(Base):
    """A rectification task (整改任务), ``T-<id>``."""

    __tablename__ = "sup_tasks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    made_by: Mapped[str] = mapped_column(String(200))
    """Who made it, as they were shown then (an admin need not be a member)."""
    source: Mapped[str | None] = mapped_column(String(64))
    """Where it came from: ``appraisal:R3:2`` (the second problem of round R3's list)."""
    created_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    closed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    """The closing note (done) or the reason (dropped)."""
    reminded: Mapped[int] = mapped_column(SmallInteger, default=0)
    """Bits: 1 reminded before the deadline, 2 told it is overdue."""

    __table_args__ = (Index("ix_sup_tasks_status", "status", "due"),)


class TaskStep(Base):
    """One line of a task's history: made, started, done, dropped, owner or deadline moved."""

    __tablename__ = "sup_task_steps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("sup_tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")


class EvidenceFile(Base):
    """A file of a report or of a task's closing step; its bytes are on disk by ``sha256``."""

    __tablename__ = "sup_files"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("sup_reports.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("sup_task_steps.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Notice(Base):
    """A warning, reminder or report the worker sent, by what it was about
    (``due:<indicator>:<branch>:<period>``, ``weekly:2026-W49``, ``monthly:2026-11``)."""

    __tablename__ = "sup_notices"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    at: Mapped[datetime]


class WebToken(Base):
    """A ``/board web`` link (single use, minutes) or the browser session it opened (hours):
    only the SHA-256 of the token is kept, so a copy of the database opens no board."""

    __tablename__ = "sup_web_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    """link or session"""
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    identity: Mapped[str] = mapped_column(String(200))
    """The admin's account (``telegram:123``): the board is theirs while they are an admin."""
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class BoardRequest(Base):
    """A ``/board`` the drawing worker (``dialogs.supervision.drawing``) is to read, draw and
    send: the engine's batch only records it, for reading and drawing 500 branches takes a
    second. One per asker: asking again while it waits changes nothing."""

    __tablename__ = "sup_board_requests"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asker: Mapped[str] = mapped_column(String(200), unique=True)
    """The account that asked (``telegram:123``)."""
    platform: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(255))
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(String(255))
    thread: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(16))
    branch_ids: Mapped[list[int] | None] = mapped_column(JSON)
    """The branches the asker may see; ``None``: every branch (an admin)."""
    asked_at: Mapped[datetime]


TABLES = (StoredIndicator, Report, Task, TaskStep, EvidenceFile, Notice, WebToken, BoardRequest)
