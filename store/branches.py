"""Named queries about the organisation: branches, their rooms, invites and link codes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import Clock, as_utc, clock_of
from store.models import Branch, Invite, LinkCode, Member, Room, Secretary

MAX_NAME = 64
IN_CHUNK = 10_000
"""Values in one ``IN (…)`` list: PostgreSQL's driver binds at most 32,767 per statement (SQLite
32,766 in its default build), and an organisation can have more branches than that."""
"""Characters of a branch name (its key): the column's size, checked before any lookup."""


def branch_key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class BranchSummary:
    id: int
    name: str
    members: int
    secretaries: int
    rooms: int


class Branches:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)
        self.languages_changed = False
        """Set by ``set_locale``: whoever caches room languages must read them again."""

    async def add(self, name: str) -> Branch | None:
        """A new branch, or ``None`` when one of that name (in any case) exists."""
        if await self.by_name(name) is not None:
            return None
        branch = Branch(
            name=" ".join(name.split()), key=branch_key(name), created_at=self.clock.now()
        )
        self.session.add(branch)
        await self.session.flush()
        return branch

    async def by_name(self, name: str) -> Branch | None:
        return await self.session.scalar(select(Branch).where(Branch.key == branch_key(name)))

    async def by_names(self, names: list[str]) -> dict[str, Branch]:
        """The branches called any of ``names`` (in any case), by key, in one query."""
        keys = {branch_key(name) for name in names}
        if not keys:
            return {}
        found = await self.session.scalars(select(Branch).where(Branch.key.in_(keys)))
        return {branch.key: branch for branch in found}

    async def named_by_run(
        self, words: Sequence[str], most: int, *, at_end: bool = False
    ) -> tuple[Branch, int] | None:
        """The branch named by the longest run of up to ``most`` words at the start of
        ``words`` (``at_end``: at its end), and that run's length; in one query. Only runs that
        fit a branch name are asked for, so the words a person sends cannot multiply queries."""
        keys: list[str] = []
        for size in range(1, most + 1):
            run = words[-size:] if at_end else words[:size]
            key = branch_key(" ".join(run))
            if len(key) > MAX_NAME:
                break
            keys.append(key)
        found = await self.by_names(keys)
        for size in range(len(keys), 0, -1):
            branch = found.get(keys[size - 1])
            if branch is not None:
                return branch, size
        return None

    async def get(self, branch_id: int) -> Branch | None:
        return await self.session.get(Branch, branch_id)

    async def set_locale(self, branch_id: int, locale: str) -> None:
        await self.session.execute(
            update(Branch).where(Branch.id == branch_id).values(locale=locale)
        )
        self.languages_changed = True

    async def locales(self, branch_ids: Iterable[int]) -> dict[int, str | None]:
        """Each branch's language (``None``: the organisation's default), in one query per
        ``IN_CHUNK`` branches (the drivers bind at most 32,767 values in one statement, and a
        broadcast to every room lists every branch)."""
        wanted = list(set(branch_ids))
        found: dict[int, str | None] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            rows = await self.session.execute(
                select(Branch.id, Branch.locale).where(
                    Branch.id.in_(wanted[start : start + IN_CHUNK])
                )
            )
            found.update((branch_id, locale) for branch_id, locale in rows)
        return found

    async def all(self) -> list[Branch]:
        return list(await self.session.scalars(select(Branch).order_by(Branch.key)))

    async def summaries(self) -> list[BranchSummary]:
        members = (
            select(func.count())
            .select_from(Member)
            .where(Member.branch_id == Branch.id)
            .scalar_subquery()
        )
        secretaries = (
            select(func.count())
            .select_from(Secretary)
            .where(Secretary.branch_id == Branch.id)
            .scalar_subquery()
        )
        rooms = (
            select(func.count())
            .select_from(Room)
            .where(Room.branch_id == Branch.id)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Branch.id, Branch.name, members, secretaries, rooms).order_by(Branch.key)
        )
        return [BranchSummary(*row) for row in rows]


class Rooms:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)
        self.languages_changed = False
        """Set when a room got, lost or moved its branch, so its language may have changed."""

    async def by_chat(self, platform: str, chat_id: str) -> Room | None:
        return await self.session.get(Room, (platform, chat_id))

    async def locales(self, chats: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str | None]:
        """The language each (platform, chat id) is spoken to in: its branch's, or ``None``
        (the organisation's default) for a room with none set or not bound. One query."""
        wanted = list(set(chats))
        found: dict[tuple[str, str], str | None] = dict.fromkeys(wanted)
        for start in range(0, len(wanted), 500):
            rows = await self.session.execute(
                select(Room.platform, Room.chat_id, Branch.locale)
                .join(Branch, Branch.id == Room.branch_id)
                .where(tuple_(Room.platform, Room.chat_id).in_(wanted[start : start + 500]))
            )
            for platform, chat_id, locale in rows:
                found[(platform, chat_id)] = locale
        return found

    async def bind(
        self, platform: str, chat_id: str, branch_id: int, title: str, by: int | None
    ) -> Room:
        room = await self.by_chat(platform, chat_id)
        if room is None:
            room = Room(platform=platform, chat_id=chat_id)
            self.session.add(room)
        room.branch_id, room.title, room.bound_by, room.bound_at = (
            branch_id,
            title,
            by,
            self.clock.now(),
        )
        await self.session.flush()
        self.languages_changed = True
        return room

    async def unbind(self, platform: str, chat_id: str) -> None:
        await self.session.execute(
            delete(Room).where(Room.platform == platform, Room.chat_id == chat_id)
        )
        self.languages_changed = True

    async def move(self, platform: str, old: str, new: str) -> bool:
        """The chat ``old`` now has the id ``new``: its binding (and mark) goes with it.

        ``False`` when ``old`` was not bound, or ``new`` is bound already (then that stays).
        """
        if await self.by_chat(platform, new) is not None:
            return False
        result = await self.session.execute(
            update(Room)
            .where(Room.platform == platform, Room.chat_id == old)
            .values(chat_id=new)
            .execution_options(synchronize_session=False)
        )
        self.languages_changed = True
        return bool(getattr(result, "rowcount", 0))

    async def of_branch(self, branch_id: int) -> list[Room]:
        return list(await self.session.scalars(select(Room).where(Room.branch_id == branch_id)))


class Invites:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def create(
        self, code: str, branch_id: int, role: str, by: int | None, expires_at: datetime
    ) -> Invite:
        invite = Invite(
            code=code,
            branch_id=branch_id,
            role=role,
            created_by=by,
            created_at=self.clock.now(),
            expires_at=expires_at,
        )
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_code(self, code: str) -> Invite | None:
        return await self.session.get(Invite, code.upper())

    async def use(self, code: str, member_id: int) -> bool:
        """Spend a one-time code; ``False`` when someone spent it first."""
        result = await self.session.execute(
            update(Invite)
            .where(Invite.code == code, Invite.used_by.is_(None), Invite.revoked_at.is_(None))
            .values(used_by=member_id, used_at=self.clock.now())
        )
        return bool(getattr(result, "rowcount", 0))

    async def revoke(self, code: str) -> None:
        await self.session.execute(
            update(Invite).where(Invite.code == code).values(revoked_at=self.clock.now())
        )


def is_expired(expires_at: datetime, clock: Clock) -> bool:
    return as_utc(expires_at) <= clock.now()


class LinkCodes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def create(
        self, code: str, member_id: int, platform: str, user_id: str, expires_at: datetime
    ) -> None:
        await self.session.execute(delete(LinkCode).where(LinkCode.member_id == member_id))
        self.session.add(
            LinkCode(
                code=code,
                member_id=member_id,
                platform=platform,
                user_id=user_id,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def valid(self, code: str) -> LinkCode | None:
        """The link code, unless it is unknown, expired, or older than the account it names."""
        link = await self.session.get(LinkCode, code.upper())
        if link is None or link.user_id is None or is_expired(link.expires_at, self.clock):
            return None
        return link

    async def prune(self) -> int:
        """Delete the expired codes (each member has one at most, but a stranger's stays after
        it expires, one for every account that ever sent ``/link``). Returns how many."""
        result = await self.session.execute(
            delete(LinkCode).where(LinkCode.expires_at <= self.clock.now())
        )
        return int(getattr(result, "rowcount", 0))

    async def spend(self, link: LinkCode) -> None:
        await self.session.delete(link)
        await self.session.flush()
