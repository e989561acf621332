"""Wrong invite and link codes, counted per sender and per chat to limit guessing.

Rows live only as long as the window they count in: each new failure deletes the rows that
fell out of it, so the table stays as small as the guessing of the last few minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import as_utc, clock_of
from store.models import CodeFailure

CODE_WINDOW = timedelta(minutes=10)
"""How long a wrong code counts: here, so the daily prune deletes what the limit no longer reads."""


class CodeAttempts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def blocked_until(
        self, platform: str, sender: str, chat: str, limit: int, window: timedelta
    ) -> datetime | None:
        """When this sender may try again, if the sender or the chat already had ``limit``
        failures within ``window``; ``None`` when they may try now."""
        since = self.clock.now() - window
        rows = await self.session.execute(
            select(CodeFailure.scope, func.count(), func.min(CodeFailure.failed_at))
            .where(
                CodeFailure.platform == platform,
                CodeFailure.failed_at > since,
                or_(
                    and_(CodeFailure.scope == "sender", CodeFailure.key == sender),
                    and_(CodeFailure.scope == "chat", CodeFailure.key == chat),
                ),
            )
            .group_by(CodeFailure.scope)
        )
        until = [as_utc(first) + window for _scope, count, first in rows if count >= limit]
        return max(until) if until else None

    async def failed(self, platform: str, sender: str, chat: str, window: timedelta) -> None:
        """Count one wrong code for the sender and the chat; forget what left the window."""
        moment = self.clock.now()
        await self.session.execute(
            delete(CodeFailure).where(CodeFailure.failed_at <= moment - window)
        )
        await self.session.execute(
            insert(CodeFailure),
            [
                {"platform": platform, "scope": "sender", "key": sender[:255], "failed_at": moment},
                {"platform": platform, "scope": "chat", "key": chat[:255], "failed_at": moment},
            ],
        )

    async def prune(self, window: timedelta = CODE_WINDOW) -> int:
        """Delete the failures that left the window: ``failed`` only forgets them when a new
        wrong code comes, so without this the last guesses of a quiet day stay for ever."""
        result = await self.session.execute(
            delete(CodeFailure).where(CodeFailure.failed_at <= self.clock.now() - window)
        )
        return int(getattr(result, "rowcount", 0))
