"""The web direct chat's tables and what its adapter keeps in them (docs/webchat.md).

A session (``web_sessions``) belongs to one web identity (``user_id``: a random id, the
``web`` platform's user id) and keeps only the SHA-256 of its token: a copy of the database
cannot sign anyone in. The history (``web_messages``) is both sides of one identity's direct
chat, bounded per identity (``[web_chat] history``); ephemeral messages never enter it.

The adapter may not see the store, so it asks for a protocol (``adapters.webchat.ChatStore``)
and ``bot/app.py`` hands it ``StoredWebChat``. The tables are listed by the web chat feature
(``dialogs/webchat``), whose migrations create them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Database
from store.models import Base, BigId
from store.people import People


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """``sha256(token)`` in hex; the token itself is only in the browser's cookie."""
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    """The name the person gave when joining (the ``Sender`` name of their events)."""
    agent: Mapped[str] = mapped_column(String(64), default="")
    """The browser's family (``Chrome on Android``), never the whole User-Agent."""
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(index=True)


class WebMessage(Base):
    __tablename__ = "web_messages"
    __table_args__ = (Index("ix_web_messages_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the page draws: a person's message or the bot's (as the webhook renders it)."""
    unread: Mapped[bool] = mapped_column(Boolean, default=False)
    """A bot message no page of this identity has reported as read yet."""
    created_at: Mapped[datetime]


TABLES = (WebSession, WebMessage)

SEEN_EVERY = timedelta(minutes=1)
"""``seen_at`` is written at most this often per session: a page's every request would
otherwise be a write."""
PRUNE_EVERY = 16
"""An identity's history is pruned to its bound once per this many messages kept."""
COUNTED = 10_000
"""Identities whose messages since their last prune are counted (the least recent are
forgotten, and pruned again with their next message)."""


class StoredWebChat:
    def __init__(self, db: Database, platform: str = "web", history: int = 200) -> None:
        self.db = db
        self.platform = platform
        self.limit = history
        self._kept: OrderedDict[str, int] = OrderedDict()
        """Messages kept per identity since its last prune (the most recent identities)."""

    async def create_session(self, token_hash: str, user_id: str, agent: str) -> int:
        now = self.db.clock.now()
        async with self.db.session() as session:
            row = WebSession(
                token_hash=token_hash,
                user_id=user_id,
                name="",
                agent=agent[:64],
                created_at=now,
                seen_at=now,
            )
            session.add(row)
            return row.id

    async def session(self, token_hash: str) -> tuple[int, str, str] | None:
        """(id, user id, name) of the live session with this token hash."""
        now = self.db.clock.now()
        async with self.db.session() as session:
            row = await session.scalar(
                select(WebSession).where(
                    WebSession.token_hash == token_hash, WebSession.revoked_at.is_(None)
                )
            )
            if row is None:
                return None
            seen = row.seen_at if row.seen_at.tzinfo else row.seen_at.replace(tzinfo=now.tzinfo)
            if now - seen >= SEEN_EVERY:
                row.seen_at = now
            return row.id, row.user_id, row.name

    async def rename(self, session_id: int, name: str) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(WebSession).where(WebSession.id == session_id).values(name=name[:255])
            )

    async def joined(self, user_id: str) -> bool:
        """Whether this web identity is a member (joined a branch, or linked to one who did)."""
        async with self.db.session() as session:
            people = await People(session).resolve([(self.platform, user_id)])
        person = people.get((self.platform, user_id))
        return person is not None and (person.branch_id is not None or bool(person.secretary_of))

    async def keep_many(self, rows: Sequence[tuple[str, dict[str, Any], bool]]) -> list[int]:
        """Store messages (user id, body, unread) in one transaction; their ids, in order."""
        now = self.db.clock.now()
        async with self.db.session() as session:
            ids = list(
                (
                    await session.scalars(
                        insert(WebMessage).returning(WebMessage.id, sort_by_parameter_order=True),
                        [
                            {"user_id": u, "body": b, "unread": r, "created_at": now}
                            for u, b, r in rows
                        ],
                    )
                ).all()
            )
            for user_id in dict.fromkeys(u for u, _b, _r in rows):
                if self._due(user_id):
                    await self._prune(session, user_id)
        return ids

    def _due(self, user_id: str) -> bool:
        """Whether to prune this identity's history now: the first time this process keeps
        a message for it, then every ``PRUNE_EVERY`` messages (so it never holds more than
        ``history + PRUNE_EVERY``)."""
        count = self._kept.pop(user_id, None)
        count = 0 if count is None or count + 1 >= PRUNE_EVERY else count + 1
        self._kept[user_id] = count
        while len(self._kept) > COUNTED:
            self._kept.popitem(last=False)
        return count == 0

    async def _prune(self, session: AsyncSession, user_id: str) -> None:
        edge = await session.scalar(
            select(WebMessage.id)
            .where(WebMessage.user_id == user_id)
            .order_by(WebMessage.id.desc())
            .offset(self.limit)
            .limit(1)
        )
        if edge is not None:
            await session.execute(
                delete(WebMessage).where(WebMessage.user_id == user_id, WebMessage.id <= edge)
            )

    async def history(self, user_id: str, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """The newest ``history`` messages after ``after``, oldest first."""
        async with self.db.session() as session:
            rows = (
                await session.execute(
                    select(WebMessage.id, WebMessage.body)
                    .where(WebMessage.user_id == user_id, WebMessage.id > after)
                    .order_by(WebMessage.id.desc())
                    .limit(self.limit)
                )
            ).all()
        return [(int(i), dict(body)) for i, body in reversed(rows)]

    async def unread(self, user_id: str) -> int:
        async with self.db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WebMessage)
                .where(WebMessage.user_id == user_id, WebMessage.unread.is_(True))
            )
        return int(count or 0)

    async def mark_read(self, user_id: str, upto: int) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(WebMessage)
                .where(
                    WebMessage.user_id == user_id,
                    WebMessage.id <= upto,
                    WebMessage.unread.is_(True),
                )
                .values(unread=False)
            )

    async def revoked(self, session_ids: Sequence[int]) -> list[int]:
        """Which of these sessions were revoked."""
        found: list[int] = []
        async with self.db.session() as session:
            for at in range(0, len(session_ids), 500):
                chunk = list(session_ids[at : at + 500])
                found += (
                    await session.scalars(
                        select(WebSession.id).where(
                            WebSession.id.in_(chunk), WebSession.revoked_at.is_not(None)
                        )
                    )
                ).all()
        return found
