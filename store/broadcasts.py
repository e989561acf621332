"""Named queries of broadcasts: recipients and their outbox rows, acknowledgements, schedules
and digest items. Recipient writes are batched (``executemany``): a broadcast can have
thousands of them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.broadcast_tables import Broadcast, BroadcastRecipient, BroadcastSchedule, DigestItem
from store.clock import clock_of
from store.models import Branch, Identity, Member, OutboxRow, Room, Secretary

RECIPIENTS = cast(Table, BroadcastRecipient.__table__)


@dataclass(frozen=True, slots=True)
class Reachable:
    """A member as a broadcast sees them: where their direct chat is, if anywhere. ``""``:
    none is known yet, and the platform's adapter opens one when it sends."""

    member_id: int
    branch_id: int
    name: str
    locale: str | None
    platform: str | None
    user_id: str | None
    chat_id: str | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A destination the report names: who, a direct chat or a room, and why it failed."""

    name: str
    direct: bool
    error: str | None
    failed: bool = False
    """Delivery gave the message up after repeated errors (``error`` is the last one), rather
    than the platform refusing the destination."""


@dataclass(slots=True)
class BranchAcks:
    branch: str
    acked: int
    total: int
    missing: list[str]
    undelivered: list[str] = field(default_factory=list)
    """Members who have not confirmed and whose direct chat the notice did not reach
    (unreachable, or failed): a reminder will not reach them either."""


def _delivery(recipient_status: str, outbox_status: str | None) -> str:
    """sent, pending, unreachable or failed: a row folded into another waits for that one's
    send."""
    if recipient_status == "unreachable":
        return "unreachable"
    if outbox_status is None or outbox_status == "folded":
        return "pending"
    return outbox_status


def _branch_filter(column: Any, branch_ids: Sequence[int] | None) -> Any:
    return True if branch_ids is None else column.in_(list(branch_ids))


class Broadcasts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def create(self, **fields: Any) -> Broadcast:
        broadcast = Broadcast(created_at=self.clock.now(), status="new", total=0, **fields)
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id)

    async def unfinished(self) -> list[Broadcast]:
        return list(
            await self.session.scalars(
                select(Broadcast).where(Broadcast.status != "done").order_by(Broadcast.id)
            )
        )

    async def reachable_members(
        self, branch_ids: Sequence[int] | None, can_open_dm: Callable[[str], bool]
    ) -> list[Reachable]:
        """Members of the branches with one direct chat each: a known one (the first platform
        that has one), else ``""`` on the first platform whose bot may open one, else none."""
        rows = await self.session.execute(
            select(
                Member.id,
                Member.branch_id,
                Member.display_name,
                Member.locale,
                Identity.platform,
                Identity.user_id,
                Identity.direct_chat_id,
            )
            .outerjoin(Identity, Identity.member_id == Member.id)
            .where(Member.branch_id.is_not(None), _branch_filter(Member.branch_id, branch_ids))
            .order_by(
                Member.id, Identity.direct_chat_id.is_(None), Identity.platform, Identity.user_id
            )
        )
        found: dict[int, Reachable] = {}
        for member_id, branch_id, name, locale, platform, user_id, chat in rows:
            known = found.get(member_id)
            if known is not None and known.chat_id is not None:
                continue
            if chat is None and platform is not None and can_open_dm(platform):
                chat = ""
            if known is None or chat is not None:
                found[member_id] = Reachable(
                    member_id, cast(int, branch_id), name, locale, platform, user_id, chat
                )
        return list(found.values())

    async def rooms(self, branch_ids: Sequence[int] | None) -> list[Room]:
        return list(
            await self.session.scalars(
                select(Room)
                .where(_branch_filter(Room.branch_id, branch_ids))
                .order_by(Room.branch_id, Room.platform, Room.chat_id)
            )
        )

    async def add_recipients(self, rows: Sequence[dict[str, Any]]) -> None:
        defaults = {"error": None, "outbox_id": None, "acked_at": None, "reminders": 0}
        for start in range(0, len(rows), 1000):
            await self.session.execute(
                insert(RECIPIENTS), [{**defaults, **row} for row in rows[start : start + 1000]]
            )

    async def queued(self, broadcast_id: int, limit: int) -> list[BroadcastRecipient]:
        return list(
            await self.session.scalars(
                select(BroadcastRecipient)
                .where(
                    BroadcastRecipient.broadcast_id == broadcast_id,
                    BroadcastRecipient.status == "queued",
                )
                .order_by(BroadcastRecipient.id)
                .limit(limit)
            )
        )

    async def link_outbox(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Recipients (id, outbox id) are now in the outbox: written with the rows themselves."""
        if pairs:
            await self.session.execute(
                update(RECIPIENTS)
                .where(RECIPIENTS.c.id == bindparam("rid"))
                .values(status="outbox", outbox_id=bindparam("oid")),
                [{"rid": r, "oid": o} for r, o in pairs],
            )

    async def delivery_counts(self, broadcast_id: int) -> dict[str, int]:
        """sent / pending / unreachable / failed over every recipient that has a
        destination."""
        rows = await self.session.execute(
            select(BroadcastRecipient.status, OutboxRow.status, func.count())
            .outerjoin(OutboxRow, OutboxRow.id == BroadcastRecipient.outbox_id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.status != "track",
            )
            .group_by(BroadcastRecipient.status, OutboxRow.status)
        )
        counts = {"sent": 0, "pending": 0, "unreachable": 0, "failed": 0}
        for mine, theirs, count in rows:
            key = _delivery(mine, theirs)
            counts[key] = counts.get(key, 0) + count
        return counts

    async def undelivered(self, broadcast_id: int, most: int) -> list[Outcome]:
        """The first ``most`` destinations that could not be reached or whose message failed,
        for the report (the counts are in ``delivery_counts``; a 10,000-recipient report shows
        only a few lines)."""
        rows = await self.session.execute(
            select(
                BroadcastRecipient.name,
                BroadcastRecipient.direct,
                BroadcastRecipient.error,
                OutboxRow.error,
                OutboxRow.status,
            )
            .outerjoin(OutboxRow, OutboxRow.id == BroadcastRecipient.outbox_id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                or_(
                    BroadcastRecipient.status == "unreachable",
                    and_(
                        BroadcastRecipient.status != "track",
                        OutboxRow.status.in_(("unreachable", "failed")),
                    ),
                ),
            )
            .order_by(BroadcastRecipient.id)
            .limit(most)
        )
        return [
            Outcome(name, direct, error or outbox_error, outbox_status == "failed")
            for name, direct, error, outbox_error, outbox_status in rows
        ]

    async def oldest_outbox_in_use(self, reminder_max: int) -> int | None:
        """The lowest outbox id a broadcast may still read: one still sending counts its rows
        for the report, one that may still remind (``reminder_max`` rounds) looks up whose
        notice got through. The outbox retention keeps everything from here on."""
        return cast(
            int | None,
            await self.session.scalar(
                select(func.min(BroadcastRecipient.outbox_id))
                .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
                .where(
                    or_(
                        Broadcast.status != "done",
                        and_(Broadcast.ack.is_(True), Broadcast.reminders < reminder_max),
                    )
                )
            ),
        )

    async def finish(self, broadcast_id: int) -> None:
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(status="done", finished_at=self.clock.now())
        )

    # -- acknowledgements ---------------------------------------------------------------

    async def acknowledge(self, broadcast_id: int, member_id: int) -> bool | None:
        """``True``: recorded now; ``False``: already recorded; ``None``: not a recipient."""
        result = await self.session.execute(
            update(BroadcastRecipient)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.member_id == member_id,
                BroadcastRecipient.acked_at.is_(None),
            )
            .values(acked_at=self.clock.now())
        )
        if getattr(result, "rowcount", 0):
            return True
        exists = await self.session.scalar(
            select(func.count()).where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.member_id == member_id,
            )
        )
        return False if exists else None

    async def receipt(self, broadcast_id: int, member_id: int) -> tuple[datetime | None] | None:
        """The member's "received" for the broadcast (``(None,)``: not yet); ``None``: the
        member is not one of its recipients."""
        found = await self.session.execute(
            select(BroadcastRecipient.acked_at)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.member_id == member_id,
            )
            .limit(1)
        )
        row = found.first()
        return None if row is None else (row[0],)

    async def acks_by_branch(
        self, broadcast_id: int, branch_ids: Sequence[int] | None
    ) -> list[BranchAcks]:
        rows = await self.session.execute(
            select(
                Branch.name,
                BroadcastRecipient.name,
                BroadcastRecipient.acked_at,
                BroadcastRecipient.status,
                OutboxRow.status,
            )
            .join(Branch, Branch.id == BroadcastRecipient.branch_id)
            .outerjoin(OutboxRow, OutboxRow.id == BroadcastRecipient.outbox_id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.member_id.is_not(None),
                _branch_filter(BroadcastRecipient.branch_id, branch_ids),
            )
            .order_by(Branch.key, BroadcastRecipient.name)
        )
        branches: dict[str, BranchAcks] = {}
        for branch, name, acked_at, mine, theirs in rows:
            entry = branches.setdefault(branch, BranchAcks(branch, 0, 0, []))
            entry.total += 1
            if acked_at is not None:
                entry.acked += 1
            elif _delivery(mine, theirs) in ("unreachable", "failed"):
                entry.undelivered.append(name)
            else:
                entry.missing.append(name)
        return list(branches.values())

    async def month_acks(
        self, branch_ids: Collection[int] | None, start: datetime, end: datetime
    ) -> tuple[int, int]:
        """Of the broadcasts created in ``[start, end)`` that asked for "received": how many
        acknowledgements their member recipients in the branches owe (``None``: every branch),
        and how many they have given by now. One statement."""
        row = (
            await self.session.execute(
                select(func.count(), func.count(BroadcastRecipient.acked_at))
                .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
                .where(
                    Broadcast.ack.is_(True),
                    Broadcast.created_at >= start,
                    Broadcast.created_at < end,
                    BroadcastRecipient.member_id.is_not(None),
                    _branch_filter(
                        BroadcastRecipient.branch_id,
                        None if branch_ids is None else sorted(branch_ids),
                    ),
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    async def due_reminders(self, before: datetime, most: int) -> list[Broadcast]:
        """Finished broadcasts asking for acks whose last nudge (or sending) is ``before``."""
        return list(
            await self.session.scalars(
                select(Broadcast).where(
                    Broadcast.ack.is_(True),
                    Broadcast.status == "done",
                    Broadcast.reminders < most,
                    or_(
                        Broadcast.reminded_at < before,
                        and_(Broadcast.reminded_at.is_(None), Broadcast.finished_at < before),
                    ),
                )
            )
        )

    async def unacked_direct(
        self, broadcast_id: int, round_: int, most: int
    ) -> list[BroadcastRecipient]:
        """Up to ``most`` members not yet nudged in reminder round ``round_`` who have not
        acknowledged and whose notice did reach their direct chat (an unreachable chat would
        only fail again)."""
        member_chats = (
            select(BroadcastRecipient)
            .join(OutboxRow, OutboxRow.id == BroadcastRecipient.outbox_id)
            .where(
                BroadcastRecipient.broadcast_id == broadcast_id,
                BroadcastRecipient.member_id.is_not(None),
                BroadcastRecipient.acked_at.is_(None),
                BroadcastRecipient.direct.is_(True),
                BroadcastRecipient.status == "outbox",
                BroadcastRecipient.reminders <= round_,
                OutboxRow.status == "sent",
            )
            .order_by(BroadcastRecipient.id)
            .limit(most)
        )
        return list(await self.session.scalars(member_chats))

    async def nudged(self, recipient_ids: Sequence[int]) -> None:
        """These recipients got this round's reminder."""
        if recipient_ids:
            await self.session.execute(
                update(RECIPIENTS)
                .where(RECIPIENTS.c.id == bindparam("rid"))
                .values(reminders=RECIPIENTS.c.reminders + 1),
                [{"rid": r} for r in recipient_ids],
            )

    async def reminded(self, broadcast_id: int) -> None:
        """A reminder round is complete: the next one is an interval away."""
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(reminders=Broadcast.reminders + 1, reminded_at=self.clock.now())
        )

    # -- schedules ----------------------------------------------------------------------

    async def add_schedule(self, **fields: Any) -> BroadcastSchedule:
        schedule = BroadcastSchedule(created_at=self.clock.now(), active=True, **fields)
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def schedule(self, schedule_id: int) -> BroadcastSchedule | None:
        return await self.session.get(BroadcastSchedule, schedule_id)

    async def active_schedules(self, kind: str | None = None) -> list[BroadcastSchedule]:
        query = select(BroadcastSchedule).where(BroadcastSchedule.active.is_(True))
        if kind is not None:
            query = query.where(BroadcastSchedule.kind == kind)
        return list(await self.session.scalars(query.order_by(BroadcastSchedule.id)))

    async def rights(self, member_id: int) -> tuple[list[str], set[int]] | None:
        """A member's accounts (``platform:user``, to compare with the admins) and the branches
        they are secretary of; ``None`` when the member is gone."""
        if await self.session.get(Member, member_id) is None:
            return None
        identities = await self.session.execute(
            select(Identity.platform, Identity.user_id).where(Identity.member_id == member_id)
        )
        branches = await self.session.scalars(
            select(Secretary.branch_id).where(Secretary.member_id == member_id)
        )
        return [f"{p}:{u}" for p, u in identities], set(branches)

    async def stop_schedule(self, schedule_id: int) -> None:
        await self.session.execute(
            update(BroadcastSchedule)
            .where(BroadcastSchedule.id == schedule_id, BroadcastSchedule.active.is_(True))
            .values(active=False, stopped_at=self.clock.now())
        )

    async def claim_run(self, schedule_id: int, last_run_at: datetime | None) -> bool:
        """Record a run, unless another process (or a second firing) recorded it first."""
        previous = (
            BroadcastSchedule.last_run_at.is_(None)
            if last_run_at is None
            else BroadcastSchedule.last_run_at == last_run_at
        )
        result = await self.session.execute(
            update(BroadcastSchedule)
            .where(
                BroadcastSchedule.id == schedule_id, BroadcastSchedule.active.is_(True), previous
            )
            .values(last_run_at=self.clock.now())
        )
        return bool(getattr(result, "rowcount", 0))

    # -- digests ------------------------------------------------------------------------

    async def add_digest_item(self, branch_id: int | None, text: str, by: int | None) -> int:
        item = DigestItem(
            branch_id=branch_id, text=text, created_by=by, created_at=self.clock.now()
        )
        self.session.add(item)
        await self.session.flush()
        return item.id

    async def queued_digest(self) -> list[DigestItem]:
        return list(
            await self.session.scalars(
                select(DigestItem).where(DigestItem.broadcast_id.is_(None)).order_by(DigestItem.id)
            )
        )

    async def fold_digest(self, item_ids: Sequence[int], broadcast_id: int) -> None:
        await self.session.execute(
            update(DigestItem)
            .where(DigestItem.id.in_(list(item_ids)))
            .values(broadcast_id=broadcast_id)
        )

    async def branch_names(self) -> dict[int, str]:
        return {b.id: b.name for b in await self.session.scalars(select(Branch))}
