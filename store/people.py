"""Named queries about people: members, their platform identities, secretaries and admins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    Select,
    Table,
    UniqueConstraint,
    Update,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import clock_of
from store.models import MAX_DISPLAY_NAME, Admin, Base, Branch, Identity, Member, Secretary


@dataclass(slots=True)
class Person:
    """Everything the core needs to know about a sender to check roles and pick a language."""

    member_id: int
    display_name: str
    locale: str | None
    branch_id: int | None
    branch_name: str | None
    secretary_of: dict[int, str] = field(default_factory=dict)
    identities: list[str] = field(default_factory=list)
    direct_chats: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Account:
    """One platform account as an admin finds it (``/member move``)."""

    platform: str
    user_id: str
    name: str
    member_id: int
    branch_id: int | None
    branch_name: str | None
    direct_chat_id: str | None
    locale: str | None

    @property
    def identity(self) -> str:
        return f"{self.platform}:{self.user_id}"


def _member_columns(table: Table) -> list[Column[Any]]:
    """Columns of ``table`` that point at a member (every feature's table, found by its keys)."""
    return [
        column
        for column in table.columns
        if any(key.column.table is Member.__table__ for key in column.foreign_keys)
    ]


def _repoint(table: Table, column: Column[Any], keep: int, absorb: int) -> Update:
    """Move ``absorb``'s rows to ``keep``, except where ``keep`` already has the same key.

    Rows left behind (the conflicts: ``keep`` wins) go with the absorbed member by cascade.
    """
    statement = update(table).where(column == absorb).values({column.name: keep})
    for unique in _unique_sets(table, column):
        others = [c for c in unique if c is not column]
        twin = table.alias("twin")
        statement = statement.where(
            ~exists().where(twin.c[column.name] == keep, *(twin.c[c.name] == c for c in others))
        )
    return statement


def _unique_sets(table: Table, column: Column[Any]) -> list[list[Column[Any]]]:
    """The primary key and unique constraints of ``table`` that include ``column``."""
    sets = [list(table.primary_key.columns)]
    sets += [
        list(constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    sets += [list(index.columns) for index in table.indexes if index.unique]
    return [columns for columns in sets if any(c is column for c in columns)]


class People:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def resolve(self, accounts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Person]:
        """Load every known account of ``accounts`` in a fixed number of queries."""
        wanted = list(set(accounts))
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                select(Identity.platform, Identity.user_id, Member, Branch.name)
                .join(Member, Member.id == Identity.member_id)
                .outerjoin(Branch, Branch.id == Member.branch_id)
                .where(tuple_(Identity.platform, Identity.user_id).in_(wanted))
            )
        ).all()
        people: dict[int, Person] = {}
        by_account: dict[tuple[str, str], Person] = {}
        for platform, user_id, member, branch_name in rows:
            person = people.get(member.id)
            if person is None:
                person = people[member.id] = Person(
                    member.id, member.display_name, member.locale, member.branch_id, branch_name
                )
            by_account[(platform, user_id)] = person
        if not people:
            return by_account
        ids = list(people)
        for member_id, branch_id, name in await self.session.execute(
            select(Secretary.member_id, Secretary.branch_id, Branch.name)
            .join(Branch, Branch.id == Secretary.branch_id)
            .where(Secretary.member_id.in_(ids))
        ):
            people[member_id].secretary_of[branch_id] = name
        for member_id, platform, user_id, chat in await self.session.execute(
            select(Identity.member_id, Identity.platform, Identity.user_id, Identity.direct_chat_id)
            .where(Identity.member_id.in_(ids))
            .order_by(Identity.platform, Identity.user_id)
        ):
            people[member_id].identities.append(f"{platform}:{user_id}")
            if chat:
                people[member_id].direct_chats[platform] = chat
        return by_account

    @staticmethod
    def _accounts(limit: int) -> Select[*tuple[Any, ...]]:
        return (
            select(
                Identity.platform,
                Identity.user_id,
                Identity.display_name,
                Identity.member_id,
                Member.display_name,
                Member.branch_id,
                Branch.name,
                Identity.direct_chat_id,
                Member.locale,
            )
            .join(Member, Member.id == Identity.member_id)
            .outerjoin(Branch, Branch.id == Member.branch_id)
            .order_by(Identity.platform, Identity.user_id)
            .limit(limit)
        )

    async def _load_accounts(self, query: Select[*tuple[Any, ...]]) -> list[Account]:
        return [
            Account(platform, user, own or member_name, member, branch_id, branch, chat, locale)
            for platform, user, own, member, member_name, branch_id, branch, chat, locale in (
                await self.session.execute(query)
            )
        ]

    async def account(self, platform: str, user_id: str) -> Account | None:
        found = await self._load_accounts(
            self._accounts(1).where(Identity.platform == platform, Identity.user_id == user_id)
        )
        return found[0] if found else None

    async def find(self, who: str, limit: int = 10) -> list[Account]:
        """The accounts an admin means by ``who``: the account itself when ``who`` is one
        (``telegram:123``, as ``/me`` shows it), else those whose own or member's display
        name is ``who`` in any case (at most ``limit``). Only key lookups for accounts: ``who``
        is split at each colon, since user ids may hold colons (``matrix:@mei:example.org``)."""
        pairs = [(who[:i], who[i + 1 :]) for i, c in enumerate(who) if c == ":"]
        if pairs:
            found = await self._load_accounts(
                self._accounts(limit).where(tuple_(Identity.platform, Identity.user_id).in_(pairs))
            )
            if found:
                return found
        name = who.lower()
        return await self._load_accounts(
            self._accounts(limit).where(
                or_(
                    func.lower(Identity.display_name) == name,
                    func.lower(Member.display_name) == name,
                )
            )
        )

    async def admins_among(self, identities: Iterable[str]) -> set[str]:
        """Which of ``identities`` were made admins with ``branchbot admin add``."""
        wanted = list(identities)
        if not wanted:
            return set()
        return set(
            await self.session.scalars(select(Admin.identity).where(Admin.identity.in_(wanted)))
        )

    async def ensure(self, platform: str, user_id: str, name: str) -> int:
        """The member id of an account, creating the member on first use."""
        member_id = await self.session.scalar(
            select(Identity.member_id).where(
                Identity.platform == platform, Identity.user_id == user_id
            )
        )
        if member_id is not None:
            return member_id
        name = name[:MAX_DISPLAY_NAME]
        member = Member(display_name=name, created_at=self.clock.now())
        self.session.add(member)
        await self.session.flush()
        self.session.add(
            Identity(platform=platform, user_id=user_id, member_id=member.id, display_name=name)
        )
        await self.session.flush()
        return member.id

    async def note_direct_chat(self, platform: str, user_id: str, chat_id: str) -> None:
        await self.session.execute(
            update(Identity)
            .where(Identity.platform == platform, Identity.user_id == user_id)
            .values(direct_chat_id=chat_id)
        )

    async def set_locale(self, member_id: int, locale: str) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(locale=locale)
        )

    async def set_branch(self, member_id: int, branch_id: int) -> None:
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(branch_id=branch_id)
        )

    async def leave_branch(self, member_id: int) -> None:
        """Out of their branch and every secretary role (``/member remove``). The member, their
        accounts and their history stay: answers and points keep the branch they were earned
        in, and a new invite code brings the person back."""
        await self.session.execute(
            update(Member).where(Member.id == member_id).values(branch_id=None)
        )
        await self.session.execute(delete(Secretary).where(Secretary.member_id == member_id))

    async def add_secretary(self, member_id: int, branch_id: int) -> bool:
        exists = await self.session.get(Secretary, (member_id, branch_id))
        if exists is not None:
            return False
        self.session.add(Secretary(member_id=member_id, branch_id=branch_id))
        await self.session.flush()
        return True

    async def merge(self, keep: int, absorb: int) -> None:
        """Make ``absorb``'s accounts and roles ``keep``'s (``/link``); ``keep`` wins conflicts."""
        kept = await self.session.get(Member, keep)
        gone = await self.session.get(Member, absorb)
        if kept is None or gone is None or keep == absorb:
            return
        if kept.branch_id is None:
            kept.branch_id = gone.branch_id
        if kept.locale is None:
            kept.locale = gone.locale
        await self.session.flush()
        for table in Base.metadata.sorted_tables:
            for column in _member_columns(table):
                await self.session.execute(_repoint(table, column, keep, absorb))
        await self.session.delete(gone)
        await self.session.flush()

    async def add_admin(self, identity: str) -> bool:
        if await self.session.get(Admin, identity) is not None:
            return False
        self.session.add(Admin(identity=identity, added_at=self.clock.now()))
        await self.session.flush()
        return True

    async def stored_admins(self) -> list[str]:
        return list(await self.session.scalars(select(Admin.identity).order_by(Admin.identity)))
