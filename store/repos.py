"""All repositories bound to one session: what dialogs and the core reach as ``ctx.store``.

The core's repositories are attributes. A feature's repository is any class built from a
session, reached as ``store.get(Kind)``: made on first use in this session (a batch that never
asks for it pays nothing), and, when it keeps writes back to do them in bulk (``Buffered``),
flushed by ``flush`` before each commit. So no feature is named here.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from store.attempts import CodeAttempts
from store.branches import Branches, Invites, LinkCodes, Rooms
from store.clock import clock_of
from store.people import People
from store.reachability import Reachability
from store.runtime import Conversations, Outbox, SeenEvents, Values

R = TypeVar("R")


@runtime_checkable
class Buffered(Protocol):
    """A repository that keeps writes back within a batch and writes them in bulk."""

    async def flush(self) -> None: ...


class Repositories:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)
        """The time this session's repositories read (the ``Database``'s clock)."""
        self.people = People(session)
        self.branches = Branches(session)
        self.rooms = Rooms(session)
        self.invites = Invites(session)
        self.links = LinkCodes(session)
        self.attempts = CodeAttempts(session)
        self.conversations = Conversations(session)
        self.outbox = Outbox(session)
        self.seen = SeenEvents(session)
        self.values = Values(session)
        self.reachability = Reachability(session)
        self._features: dict[type, object] = {}
        self._buffered: list[Buffered] = []

    def get(self, kind: type[R]) -> R:
        """The repository ``kind`` on this session (one per session, made when first asked)."""
        repository = self._features.get(kind)
        if repository is None:
            repository = self._features[kind] = kind(self.session)  # type: ignore[call-arg]
            if isinstance(repository, Buffered):
                self._buffered.append(repository)
        return repository  # type: ignore[return-value]

    def take_room_changes(self) -> bool:
        """Whether room languages may have changed since last asked (bindings, a branch's
        ``/lang``); asking resets it, so a cache reloads once per change."""
        changed = self.rooms.languages_changed or self.branches.languages_changed
        self.rooms.languages_changed = self.branches.languages_changed = False
        return changed

    async def flush(self) -> None:
        """Write what repositories kept back to write in bulk (called before each commit)."""
        for repository in self._buffered:
            await repository.flush()

    async def merge_members(self, keep: int, absorb: int) -> None:
        """``/link``: write what is kept back first, so rows still held for ``absorb`` are in
        the tables the merge moves (written after it, they would point at a deleted member)."""
        await self.flush()
        await self.people.merge(keep=keep, absorb=absorb)
