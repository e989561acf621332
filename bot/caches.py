"""What the engine remembers between batches, so most events need no query before their commit.

Every cache holds committed truth only: a batch reads through it and the pipeline updates it
after the commit (``Batch.learn``) or, when a batch is rolled back, drops what its events may
have touched (``Caches.forget``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import TypeVar

from bot.conversation import ROOM
from bot.events import Incoming
from store.people import Person
from store.runtime import StoredConversation

ChatKey = tuple[str, str, str]
"""(platform, chat id, user id): the conversations of one person in one chat, by slot."""

Account = tuple[str, str]
"""(platform, user id)"""

Room = tuple[str, str]
"""(platform, chat id) of a group chat"""


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(OrderedDict[K, V]):
    """A mapping that forgets its least recently remembered keys beyond ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: K, value: V) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


class Caches:
    def __init__(self, limit: int) -> None:
        self.people: LRU[Account, Person | None] = LRU(limit)
        """Who an account is (``None``: nobody we know)."""
        self.conversations: LRU[ChatKey, dict[str, StoredConversation]] = LRU(limit)
        """The conversations of a person (or of a room, user ``*``) in a chat, by slot."""
        self.seen: LRU[tuple[str, str], None] = LRU(limit)
        """(platform, event id) of committed events, so a redelivery costs no query."""
        self.room_locales: LRU[Room, str | None] = LRU(limit)
        """A group chat's language (its branch's; ``None``: the default)."""

    def forget(self, events: Iterable[Incoming]) -> None:
        """A rolled-back batch may have touched cached objects: drop them, reload on retry."""
        for event in events:
            self.people.pop((event.platform, event.sender.id), None)
            self.conversations.pop((event.platform, event.chat.id, event.sender.id), None)
            self.conversations.pop((event.platform, event.chat.id, ROOM), None)
