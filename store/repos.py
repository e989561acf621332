"""All repositories bound to one session: what dialogs and the core reach as ``ctx.store``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from store.attempts import CodeAttempts
from store.bank_jobs import BankJobs
from store.branches import Branches, Invites, LinkCodes, Rooms
from store.broadcasts import Broadcasts
from store.learning import Learning
from store.people import People
from store.reachability import Reachability
from store.runtime import Conversations, Outbox, SeenEvents, Values


class Repositories:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
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
        self.learning = Learning(session)
        self.bank_jobs = BankJobs(session)
        self.broadcasts = Broadcasts(session)

    def take_room_changes(self) -> bool:
        """Whether room languages may have changed since last asked (bindings, a branch's
        ``/lang``); asking resets it, so a cache reloads once per change."""
        changed = self.rooms.languages_changed or self.branches.languages_changed
        self.rooms.languages_changed = self.branches.languages_changed = False
        return changed

    async def flush(self) -> None:
        """Write what repositories kept back to write in bulk (called before each commit)."""
        await self.learning.flush()

    async def merge_members(self, keep: int, absorb: int) -> None:
        """``/link``: write what is kept back first, so rows still held for ``absorb`` are in
        the tables the merge moves (written after it, they would point at a deleted member)."""
        await self.flush()
        await self.people.merge(keep=keep, absorb=absorb)
