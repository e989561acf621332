"""Named queries about people: members, their platform identities, secretaries and admins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import now
from store.models import Admin, Branch, Identity, Member, Secretary


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


class People:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def ensure(self, platform: str, user_id: str, name: str) -> int:
        """The member id of an account, creating the member on first use."""
        member_id = await self.session.scalar(
            select(Identity.member_id).where(
                Identity.platform == platform, Identity.user_id == user_id
            )
        )
        if member_id is not None:
            return member_id
        name = name[:128]
        member = Member(display_name=name, created_at=now())
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
        await self.session.execute(
            update(Identity).where(Identity.member_id == absorb).values(member_id=keep)
        )
        held = set(
            await self.session.scalars(
                select(Secretary.branch_id).where(Secretary.member_id == keep)
            )
        )
        for branch_id in await self.session.scalars(
            select(Secretary.branch_id).where(Secretary.member_id == absorb)
        ):
            if branch_id not in held:
                self.session.add(Secretary(member_id=keep, branch_id=branch_id))
        await self.session.execute(delete(Secretary).where(Secretary.member_id == absorb))
        await self.session.flush()
        await self.session.delete(gone)
        await self.session.flush()

    async def add_admin(self, identity: str) -> bool:
        if await self.session.get(Admin, identity) is not None:
            return False
        self.session.add(Admin(identity=identity, added_at=now()))
        await self.session.flush()
        return True

    async def stored_admins(self) -> list[str]:
        return list(await self.session.scalars(select(Admin.identity).order_by(Admin.identity)))
