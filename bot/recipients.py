"""Telling people something outside the conversation they are in: whom (a member's direct
chat, the admins, a branch's secretaries) and how (a ``Note`` queued by a handler with
``queue``, or written as outbox rows by a worker with ``rows``), so a feature's handlers and its
workers say the same thing the same way."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Context, Settings
from bot.markup import Markup
from bot.messages import Address, Choice, Image, Outgoing
from bot.outbox import Row, payload
from store.models import Identity, Member, Secretary
from store.repos import Repositories


@dataclass(frozen=True, slots=True)
class Reader:
    """Someone (or a room) a note goes to, in their language."""

    address: Address
    locale: str | None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class Note:
    reader: Reader
    text: Markup
    image: Image | None = None
    tag: str | None = None
    """What the feature calls the message, for a platform reply to it (``Outbox.tag_of``)."""
    vanish: bool = False
    """Emptied from the outbox once delivered."""
    choices: tuple[tuple[Choice, ...], ...] | None = None


async def readers(
    session: AsyncSession, member_ids: Collection[int], may_open: Callable[[str], bool]
) -> list[Reader]:
    """Each member's direct chat: a known one the platform has not refused, else one the bot
    may open; a member with neither is left out."""
    if not member_ids:
        return []
    rows = await session.execute(
        select(
            Member.id, Member.locale, Identity.platform, Identity.user_id, Identity.direct_chat_id
        )
        .join(Identity, Identity.member_id == Member.id)
        .where(Member.id.in_(list(member_ids)), Identity.unreachable.is_(None))
        .order_by(Member.id, Identity.direct_chat_id.is_(None), Identity.platform)
    )
    found: dict[int, Reader] = {}
    for member_id, locale, platform, user_id, chat in rows:
        if member_id in found or (chat is None and not may_open(platform)):
            continue
        found[member_id] = Reader(Address(platform, chat or "", True, user_id), locale, member_id)
    return list(found.values())


async def admin_ids(repos: Repositories, settings: Settings) -> set[int]:
    """The members behind the admins' accounts (config and ``branchbot admin add``), matched
    on the whole ``platform:user`` (a platform name may hold a colon: ``webhook:lab``)."""
    identities = {*settings.admins, *await repos.people.stored_admins()}
    if not identities:
        return set()
    account = Identity.platform + ":" + Identity.user_id
    found = await repos.session.scalars(
        select(Identity.member_id).where(account.in_(sorted(identities)))
    )
    return set(found)


async def secretary_ids(session: AsyncSession, branch_ids: Collection[int]) -> dict[int, list[int]]:
    """The secretaries of each of ``branch_ids`` (member ids; a branch without one is absent)."""
    found: dict[int, list[int]] = {}
    if not branch_ids:
        return found
    rows = await session.execute(
        select(Secretary.branch_id, Secretary.member_id)
        .where(Secretary.branch_id.in_(list(branch_ids)))
        .order_by(Secretary.branch_id, Secretary.member_id)
    )
    for branch_id, member_id in rows:
        found.setdefault(branch_id, []).append(member_id)
    return found


def may_open(ctx: Context) -> Callable[[str], bool]:
    """Where a handler may write to someone first: only on this platform, if it allows it (a
    chat already known is used on any platform)."""
    here, allowed = ctx.event.platform, ctx.capabilities.can_open_dm
    return lambda platform: allowed and platform == here


def queue(ctx: Context, notes: Iterable[Note]) -> None:
    """Send ``notes`` from a handler, with the event's commit."""
    for note in notes:
        ctx.send_to(
            note.reader.address,
            note.text,
            image=note.image,
            choices=[list(row) for row in note.choices] if note.choices else None,
            locale=note.reader.locale,
            vanish=note.vanish,
            tag=note.tag,
        )


def rows(notes: Iterable[Note]) -> list[Row]:
    """``notes`` as outbox rows, for a worker's own transaction (``bot.outbox.enqueue``)."""
    return [
        Row(
            note.reader.address,
            payload(
                Outgoing(note.text, choices=note.choices or (), image=note.image),
                note.reader.locale,
                vanish=note.vanish,
                tag=note.tag,
            ),
        )
        for note in notes
    ]
