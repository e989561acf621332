"""Named queries about reachability: direct chats and rooms whose platform refuses the bot.

The delivery worker marks a destination when a send is refused for good (blocked, kicked) and
clears the mark when a later send gets through. The mark keeps the reason, so whoever sent a
broadcast can be told why some did not receive it; memberships and bindings are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Identity, Room

IDENTITIES = cast(Table, Identity.__table__)
ROOMS = cast(Table, Room.__table__)

Destination = tuple[bool, str]
"""(direct, id): a person's user id for their direct chat, a chat id for a room."""


class Reachability:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def marked(self, platform: str) -> set[Destination]:
        people = await self.session.scalars(
            select(Identity.user_id).where(
                Identity.platform == platform, Identity.unreachable.is_not(None)
            )
        )
        rooms = await self.session.scalars(
            select(Room.chat_id).where(Room.platform == platform, Room.unreachable.is_not(None))
        )
        return {(True, user) for user in people} | {(False, chat) for chat in rooms}

    async def reason(self, platform: str, destination: Destination) -> str | None:
        direct, key = destination
        if direct:
            return await self.session.scalar(
                select(Identity.unreachable).where(
                    Identity.platform == platform, Identity.user_id == key
                )
            )
        return await self.session.scalar(
            select(Room.unreachable).where(Room.platform == platform, Room.chat_id == key)
        )

    async def set_many(
        self, platform: str, marks: Sequence[tuple[Destination, str | None]]
    ) -> None:
        """Mark (a reason) or clear (``None``) each destination, in one statement per table."""
        for direct, table, column in (
            (True, IDENTITIES, IDENTITIES.c.user_id),
            (False, ROOMS, ROOMS.c.chat_id),
        ):
            rows = [
                {"p_platform": platform, "p_key": key, "p_reason": reason}
                for (is_direct, key), reason in marks
                if is_direct is direct
            ]
            if rows:
                await self.session.execute(
                    update(table)
                    .where(
                        table.c.platform == bindparam("p_platform"), column == bindparam("p_key")
                    )
                    .values(unreachable=bindparam("p_reason")),
                    rows,
                )
