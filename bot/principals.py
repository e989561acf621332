"""Who sent an event: the sender's person on record, and whether they are an admin."""

from __future__ import annotations

from collections.abc import Iterable

from bot.events import Incoming
from bot.identity import Principal
from store.db import Database
from store.people import Person
from store.repos import Repositories


class Principals:
    """The admins (the config's, and those ``branchbot admin add`` stored) and the
    ``Principal`` of each sender."""

    def __init__(self, admins: Iterable[str]) -> None:
        self.configured = frozenset(admins)
        self.stored: frozenset[str] = frozenset()

    async def refresh(self, db: Database) -> None:
        """Re-read the stored admins (another process may add some)."""
        async with db.session() as session:
            self.stored = frozenset(await Repositories(session).people.stored_admins())

    def is_admin(self, identities: Iterable[str]) -> bool:
        return any(i in self.configured or i in self.stored for i in identities)

    def of(self, event: Incoming, person: Person | None) -> Principal:
        """The sender of ``event``, who is ``person`` (``None``: nobody on record)."""
        if person is None:
            return Principal(
                event.platform,
                event.sender.id,
                event.sender.name,
                is_admin=self.is_admin([event.identity]),
                identities=(event.identity,),
            )
        identities = tuple(person.identities) or (event.identity,)
        return Principal(
            event.platform,
            event.sender.id,
            event.sender.name or person.display_name,
            member_id=person.member_id,
            locale=person.locale,
            branch_id=person.branch_id,
            branch_name=person.branch_name,
            secretary_of=dict(person.secretary_of),
            is_admin=self.is_admin(identities),
            identities=identities,
            direct_chats=dict(person.direct_chats),
        )
