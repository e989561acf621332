"""Direct rooms: which rooms are one person and the bot, kept in the bot's ``m.direct``.

``m.direct`` is account data on the homeserver (``{user: [room, ...]}``), so the bookkeeping
survives restarts and is shared with any other client of the bot account, and nothing about it
has to live in our store. The map learns a room when someone invites the bot with ``is_direct``
or when the bot opens a direct room itself; being in the map is necessary, not enough: the
adapter also checks that only that person and the bot are in the room.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DirectRooms:
    by_user: dict[str, list[str]] = field(default_factory=dict)
    by_room: dict[str, str] = field(default_factory=dict)

    def load(self, content: dict[str, Any]) -> None:
        """Take the ``m.direct`` content as the homeserver has it (malformed entries skipped)."""
        self.by_user.clear()
        self.by_room.clear()
        for user, rooms in content.items():
            if not isinstance(user, str) or not isinstance(rooms, list):
                continue
            for room in rooms:
                if isinstance(room, str):
                    self.by_user.setdefault(user, []).append(room)
                    self.by_room[room] = user

    def is_direct(self, room: str) -> bool:
        return room in self.by_room

    def user_of(self, room: str) -> str | None:
        """The person ``m.direct`` says the room is with."""
        return self.by_room.get(room)

    def room_for(self, user: str) -> str | None:
        """The newest direct room with ``user``."""
        rooms = self.by_user.get(user)
        return rooms[-1] if rooms else None

    def add(self, user: str, room: str) -> bool:
        """Record a direct room; ``False`` when it was known already."""
        if self.by_room.get(room) == user:
            return False
        self.by_user.setdefault(user, []).append(room)
        self.by_room[room] = user
        return True

    def forget(self, room: str) -> None:
        user = self.by_room.pop(room, None)
        if user is not None:
            self.by_user[user] = [r for r in self.by_user[user] if r != room]
            if not self.by_user[user]:
                del self.by_user[user]

    def content(self) -> dict[str, list[str]]:
        return {user: list(rooms) for user, rooms in self.by_user.items()}
