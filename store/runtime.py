"""Named queries of the runtime's hot path, all batched: one statement for many rows.

The core commits the effects of many events in one transaction (group commit); these are the
statements it runs there. They use Core ``executemany``, never the ORM unit of work, because
the cost per event is Python round trips, not the disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.clock import as_utc, clock_of
from store.models import Conversation, KeyValue, OutboxRow, SeenEvent

CONVERSATIONS = cast(Table, Conversation.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
SEEN_EVENTS = cast(Table, SeenEvent.__table__)
VALUES = cast(Table, KeyValue.__table__)

FINISHED = ("sent", "unreachable", "failed")
"""Outbox statuses that are final: the retention deletes only these."""

ConversationKey = tuple[str, str, str, str]
"""(platform, chat id, user id, slot)"""


@dataclass(slots=True)
class StoredConversation:
    dialog: str
    state: str
    data: dict[str, Any]
    version: int
    deadline: datetime | None
    choices: list[str] | None = None
    """The payloads of the step's choices, for answers typed as their numbers."""
    direct: bool = False
    """Started in a direct chat (a timeout has no event to tell)."""

    @classmethod
    def of(cls, row: Any) -> StoredConversation:
        """From a row of ``conversations``."""
        deadline = as_utc(row.deadline) if row.deadline else None
        return cls(row.dialog, row.state, row.data, row.version, deadline, row.choices, row.direct)


def _upsert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


class Conversations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def load(
        self, keys: Sequence[ConversationKey]
    ) -> dict[ConversationKey, StoredConversation]:
        if not keys:
            return {}
        table = CONVERSATIONS
        key_columns = tuple_(table.c.platform, table.c.chat_id, table.c.user_id, table.c.slot)
        found: dict[ConversationKey, StoredConversation] = {}
        for start in range(0, len(keys), 500):
            rows = await self.session.execute(
                select(table).where(key_columns.in_(list(keys[start : start + 500])))
            )
            for row in rows:
                found[(row.platform, row.chat_id, row.user_id, row.slot)] = StoredConversation.of(
                    row
                )
        return found

    async def owner(self, platform: str, chat_id: str, slot: str, version: int) -> str | None:
        """Who in this chat holds the conversation at ``version`` in ``slot``: a button shown
        in a room belongs to one person's conversation, and someone else may press it."""
        user_id: str | None = await self.session.scalar(
            select(Conversation.user_id)
            .where(
                Conversation.platform == platform,
                Conversation.chat_id == chat_id,
                Conversation.slot == slot,
                Conversation.version == version,
            )
            .limit(1)
        )
        return user_id

    async def save_many(self, items: dict[ConversationKey, StoredConversation]) -> None:
        if not items:
            return
        stamp = self.clock.now()
        rows = [
            {
                "platform": k[0],
                "chat_id": k[1],
                "user_id": k[2],
                "slot": k[3],
                "dialog": c.dialog,
                "state": c.state,
                "data": c.data,
                "choices": c.choices,
                "direct": c.direct,
                "version": c.version,
                "deadline": c.deadline,
                "updated_at": stamp,
            }
            for k, c in items.items()
        ]
        statement = _upsert(self.session)(CONVERSATIONS)
        statement = statement.on_conflict_do_update(
            index_elements=["platform", "chat_id", "user_id", "slot"],
            set_={
                name: statement.excluded[name]
                for name in (
                    "dialog",
                    "state",
                    "data",
                    "choices",
                    "direct",
                    "version",
                    "deadline",
                    "updated_at",
                )
            },
        )
        await self.session.execute(statement, rows)

    async def delete_many(self, keys: Iterable[ConversationKey]) -> None:
        keys = list(keys)
        if not keys:
            return
        table = CONVERSATIONS
        await self.session.execute(
            delete(table).where(
                and_(
                    table.c.platform == bindparam("p"),
                    table.c.chat_id == bindparam("c"),
                    table.c.user_id == bindparam("u"),
                    table.c.slot == bindparam("s"),
                )
            ),
            [{"p": k[0], "c": k[1], "u": k[2], "s": k[3]} for k in keys],
        )

    async def due(self, at: datetime, limit: int = 500) -> list[tuple[ConversationKey, int]]:
        """Conversations whose deadline has passed, with the version the deadline belongs to."""
        table = CONVERSATIONS
        rows = await self.session.execute(
            select(
                table.c.platform, table.c.chat_id, table.c.user_id, table.c.slot, table.c.version
            )
            .where(table.c.deadline.is_not(None), table.c.deadline <= at)
            .order_by(table.c.deadline)
            .limit(limit)
        )
        return [((r.platform, r.chat_id, r.user_id, r.slot), r.version) for r in rows]

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Conversation)) or 0)


EPHEMERAL = "ephemeral"
"""The payload key of a message whose text the outbox keeps only until its outcome."""
VANISH = "vanish"
"""The payload key of an ephemeral message that loses its address with its outcome too: not
even that something was sent to that chat then is kept (an anonymous writer's answers). The
row itself stays, emptied: on SQLite a deleted last row's id would be handed out again, and a
platform that takes the row id as its idempotency key (a Matrix transaction id) would drop the
next message as a repeat."""
TAG = "tag"
"""The payload key of what a feature calls its message (``mail:12``), so that a platform reply
to it can be taken back to what it was about (``Outbox.tag_of``)."""


def erased(payload: dict[str, Any]) -> dict[str, Any]:
    """What an ephemeral row keeps once it has its outcome: that its text is gone, and whether
    it offered choices, so that a number typed after it still answers it (and matches no
    stateless button) rather than an older message (``Outbox.last_choices``)."""
    marker: dict[str, Any] = {"erased": True}
    if payload.get("choices"):
        marker["had_choices"] = True
    return marker


@dataclass(frozen=True, slots=True)
class PendingMessage:
    id: int
    platform: str
    chat_id: str
    direct: bool
    user_id: str | None
    payload: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Queue messages; returns their ids in the order given."""
        if not rows:
            return []
        stamp = self.clock.now()
        values = [{**row, "created_at": stamp, "status": "pending", "attempts": 0} for row in rows]
        if self.session.get_bind().dialect.name == "sqlite":
            # SQLAlchemy cannot sort RETURNING rows on SQLite without falling back to one
            # statement per row. It needs no help here: one INSERT under SQLite's write lock
            # hands out increasing rowids in VALUES order, so sorted ids are in the given order.
            result = await self.session.execute(insert(OUTBOX).returning(OUTBOX.c.id), values)
            return sorted(result.scalars())
        result = await self.session.execute(
            insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True), values
        )
        return list(result.scalars())

    async def pending(
        self, platform: str, after_id: int = 0, limit: int = 1000
    ) -> list[PendingMessage]:
        table = OUTBOX
        rows = await self.session.execute(
            select(
                table.c.id,
                table.c.platform,
                table.c.chat_id,
                table.c.direct,
                table.c.user_id,
                table.c.payload,
                table.c.attempts,
            )
            .where(table.c.platform == platform, table.c.status == "pending", table.c.id > after_id)
            .order_by(table.c.id)
            .limit(limit)
        )
        return [PendingMessage(*row) for row in rows]

    async def fold(self, head_id: int, payload: dict[str, Any], absorbed: Sequence[int]) -> None:
        """Record a merge before it is sent: the head row carries the merged message and the
        absorbed rows are ``folded`` into it (``sent_ref`` is the head's id), so a restart
        sends the merged message once under the head's id instead of each row again."""
        table = OUTBOX
        await self.session.execute(
            update(table).where(table.c.id == head_id).values(payload=payload)
        )
        await self.session.execute(
            update(table)
            .where(table.c.id.in_(list(absorbed)), table.c.status.in_(("pending", "folded")))
            .values(status="folded", sent_ref=str(head_id))
        )

    async def unfold(self, head: PendingMessage) -> list[PendingMessage]:
        """Undo a merge whose message failed: the head row gets ``head.payload`` (its own
        message) and the rows folded into it are pending again, in the head's chat (it may have
        moved since), each marked ``"fold": False`` so that they are sent one by one and never
        merged again. Returns those rows in id order."""
        table = OUTBOX
        rows = await self.session.execute(
            select(table.c.id, table.c.payload, table.c.attempts)
            .where(
                table.c.platform == head.platform,
                table.c.status == "folded",
                table.c.sent_ref == str(head.id),
            )
            .order_by(table.c.id)
        )
        absorbed = [
            PendingMessage(
                row_id,
                head.platform,
                head.chat_id,
                head.direct,
                head.user_id,
                {**payload, "fold": False},
                attempts,
            )
            for row_id, payload, attempts in rows
        ]
        await self.session.execute(
            update(table).where(table.c.id == head.id).values(payload=head.payload)
        )
        if absorbed:
            await self.session.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(
                    status="pending",
                    sent_ref=None,
                    chat_id=head.chat_id,
                    payload=bindparam("body", type_=table.c.payload.type),
                ),
                [{"row_id": row.id, "body": row.payload} for row in absorbed],
            )
        return absorbed

    async def folded(self, platform: str) -> dict[int, list[int]]:
        """Rows folded into a head still to be sent, by head id (the worker's state after a
        restart)."""
        table = OUTBOX
        rows = await self.session.execute(
            select(table.c.id, table.c.sent_ref)
            .where(table.c.platform == platform, table.c.status == "folded")
            .order_by(table.c.id)
        )
        heads: dict[int, list[int]] = {}
        for row_id, head in rows:
            heads.setdefault(int(head), []).append(row_id)
        return heads

    async def last_choices(self, platform: str, chat_id: str, scan: int = 50) -> list[str]:
        """The payloads of the choices (no links) of the newest message sent to a chat that had
        any, in the order a platform without buttons numbered them. A row merged into another
        answers with the merged message, whose choices are those its reader saw. An erased
        ephemeral message that had choices is that newest message, with none left to match."""
        table = OUTBOX
        mine = (table.c.platform == platform, table.c.chat_id == chat_id)
        rows = await self.session.execute(
            select(table.c.id, table.c.payload, table.c.sent_ref)
            .where(*mine, table.c.status == "sent")
            .order_by(table.c.id.desc())
            .limit(scan)
        )
        found = next(
            ((i, p, r) for i, p, r in rows if p.get("choices") or p.get("had_choices")), None
        )
        if found is None:
            return []
        payload, ref = found[1], found[2]
        if ref is not None:
            head = await self.session.scalar(
                select(table.c.payload)
                .where(*mine, table.c.status == "sent", table.c.sent_ref == ref)
                .order_by(table.c.id)
                .limit(1)
            )
            payload = head if head is not None else payload
        return [item[1] for row in payload.get("choices", []) for item in row if len(item) < 3]

    async def move(self, platform: str, old: str, new: str) -> None:
        """Rows still pending for the chat ``old`` go to ``new`` (the chat's new id)."""
        await self.session.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.platform == platform,
                OUTBOX.c.chat_id == old,
                OUTBOX.c.status == "pending",
            )
            .values(chat_id=new)
        )

    async def finish_many(
        self, results: Sequence[tuple[int, str, str | None, str | None, int]]
    ) -> None:
        """Record outcomes: (id, status, sent ref, error, attempts)."""
        if not results:
            return
        table = OUTBOX
        stamp = self.clock.now()
        await self.session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                status=bindparam("new_status"),
                sent_ref=bindparam("ref"),
                error=bindparam("err"),
                attempts=bindparam("tries"),
                sent_at=bindparam("at"),
            ),
            [
                {
                    "row_id": i,
                    "new_status": s,
                    "ref": r,
                    "err": e,
                    "tries": a,
                    "at": stamp if s == "sent" else None,
                }
                for i, s, r, e, a in results
            ],
        )

    async def erase_many(self, bodies: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Replace the payloads of ephemeral rows that got their outcome with their erased
        marker (id, ``erased(payload)``), in the transaction that records the outcome: with
        SQLite's ``secure_delete`` the old bytes are zeroed in the page (docs/privacy.md)."""
        if not bodies:
            return
        table = OUTBOX
        await self.session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(payload=bindparam("body", type_=table.c.payload.type)),
            [{"row_id": i, "body": body} for i, body in bodies],
        )

    async def vanish_many(self, ids: Sequence[int]) -> None:
        """Empty vanishing rows (``VANISH``) that got their outcome, in the transaction that
        records it: no chat, no person, no text, no platform id is left."""
        if ids:
            await self.session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(list(ids)))
                .values(
                    chat_id="", user_id=None, payload={"erased": True}, sent_ref=None, error=None
                )
            )

    async def tag_of(self, platform: str, chat_id: str, sent_ref: str) -> str | None:
        """The tag of our message ``sent_ref`` in that chat (what a person replied to), or
        ``None``: untagged, not ours, or pruned."""
        table = OUTBOX
        payloads = await self.session.scalars(
            select(table.c.payload)
            .where(table.c.platform == platform, table.c.chat_id == chat_id)
            .where(table.c.sent_ref == sent_ref)
            .order_by(table.c.id.desc())
            .limit(1)
        )
        found = payloads.first()
        tag = found.get(TAG) if isinstance(found, dict) else None
        return tag if isinstance(tag, str) else None

    async def tried_many(self, tries: Sequence[tuple[int, int, str]]) -> None:
        """Record failed tries of rows still pending: (id, attempts so far, last error). A
        restart reads the count back, so a row that keeps failing is given up in the end even
        if the bot restarts between its tries."""
        if not tries:
            return
        table = OUTBOX
        await self.session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"), table.c.status == "pending")
            .values(attempts=bindparam("tries"), error=bindparam("err")),
            [{"row_id": i, "tries": a, "err": e} for i, a, e in tries],
        )

    async def prune(
        self, before: datetime, below_id: int | None, after_id: int, chunk: int
    ) -> tuple[int, int | None]:
        """Delete one chunk of finished rows (sent, unreachable, failed) created before
        ``before``, with ids above ``after_id`` and below ``below_id`` (the oldest row a report
        may still read). Returns how many went and the id to go on after, ``None`` at the end.

        Rows are walked in id order, which is the order they were written in, and the walk
        stops at the first row too young to go: it reads the old rows and one chunk more, never
        the whole table, with no index but the primary key. Pending and folded rows are kept
        whatever their age: their messages are still to be sent."""
        table = OUTBOX
        query = select(table.c.id, table.c.status, table.c.created_at).where(table.c.id > after_id)
        if below_id is not None:
            query = query.where(table.c.id < below_id)
        rows = (await self.session.execute(query.order_by(table.c.id).limit(chunk))).all()
        doomed: list[int] = []
        young = False
        for row_id, status, created_at in rows:
            if as_utc(created_at) >= before:
                young = True
                break
            if status in FINISHED:
                doomed.append(row_id)
        if doomed:
            await self.session.execute(delete(table).where(table.c.id.in_(doomed)))
        more = not young and len(rows) == chunk
        return len(doomed), rows[-1].id if more else None

    async def counts(self) -> dict[str, int]:
        table = OUTBOX
        rows = await self.session.execute(
            select(table.c.status, func.count()).group_by(table.c.status)
        )
        return {status: count for status, count in rows}


class SeenEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    async def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        table = SEEN_EVENTS
        found: set[tuple[str, str]] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = await self.session.execute(
                select(table.c.platform, table.c.event_id).where(
                    or_(*[and_(table.c.platform == p, table.c.event_id == e) for p, e in chunk])
                    if len(chunk) < 4
                    else tuple_(table.c.platform, table.c.event_id).in_(list(chunk))
                )
            )
            found.update((p, e) for p, e in rows)
        return found

    async def add_many(self, keys: Sequence[tuple[str, str]]) -> None:
        if keys:
            stamp = self.clock.now()
            await self.session.execute(
                insert(SEEN_EVENTS),
                [{"platform": p, "event_id": e, "seen_at": stamp} for p, e in keys],
            )

    async def prune(self, before: datetime) -> None:
        await self.session.execute(delete(SeenEvent).where(SeenEvent.seen_at < before))


class Values:
    """Small named values (an adapter's poll offset, a sync token)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> str | None:
        row = await self.session.get(KeyValue, name)
        return row.value if row else None

    async def put(self, name: str, value: str) -> None:
        statement = _upsert(self.session)(VALUES).values(name=name, value=value)
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=["name"], set_={"value": value})
        )
