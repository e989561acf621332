"""The mailbox repository (``ctx.store.get(Mailbox)``): letters, their threads, files, the
relay rows, blocks and the daily cap.

Nothing here returns who wrote an anonymous letter: ``writers`` opens relay rows only to
compare them with one given member (``mine``, a block, the cap) and ``writer_of`` only for the
relay's own delivery (``dialogs.mailbox.delivery``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.mailbox.common import SEQ
from dialogs.mailbox.relay import Relay
from dialogs.mailbox.tables import OPEN, Block, Entry, Letter, LetterFile, Quota
from dialogs.mailbox.tables import Relay as RelayRow
from store.clock import clock_of

MINE_DAYS = 400
"""How far back "my letters" looks among anonymous letters (each is opened to compare)."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A letter as the writing dialog hands it over."""

    anonymous: bool
    category: str
    text: str
    branch_id: int | None
    writer_id: int
    answer_due: date
    resolve_due: date
    token: str
    """The draft's files are stored under it."""


def number_of(letter: Letter) -> int:
    return letter.year * SEQ + letter.seq


class Mailbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    # -- letters ----------------------------------------------------------------------------

    async def _free_seq(self, year: int) -> int:
        """A case number's place drawn at random among the free ones: numbers in order would
        place an anonymous letter between the signed ones around it. Four digits while a draw
        mostly hits a free one (one indexed lookup each), a digit more after every few misses,
        so a full year never loops for long."""
        span = 9999
        for attempt in range(1, 1000):
            seq = secrets.randbelow(span) + 1
            taken = await self.session.scalar(
                select(Letter.id).where(Letter.year == year, Letter.seq == seq)
            )
            if taken is None:
                return seq
            if attempt % 4 == 0:
                span = span * 10 + 9
        raise RuntimeError(f"no free case number in {year}")

    async def write(self, draft: Draft, relay: Relay, today: date) -> Letter:
        """Store a letter, its first thread entry, its files, its relay row and the cap."""
        year = today.year
        letter = Letter(
            year=year,
            seq=await self._free_seq(year),
            released=not draft.anonymous,
            branch_id=draft.branch_id,
            category=draft.category,
            anonymous=draft.anonymous,
            writer_id=None if draft.anonymous else draft.writer_id,
            status="new",
            written_on=today,
            answer_due=draft.answer_due,
            resolve_due=draft.resolve_due,
            last_step_on=today,
            with_admins=draft.branch_id is None,
            reminded=0,
            escalations=0,
        )
        self.session.add(letter)
        await self.session.flush()
        await self.add_entry(letter, "letter", "writer", draft.writer_id, draft.text, today=today)
        if draft.anonymous:
            self.session.add(
                RelayRow(letter_id=letter.id, sealed=relay.seal(letter.id, draft.writer_id))
            )
        await self._keep_files(draft.token, letter, relay)
        await self._count(relay.quota_token(draft.writer_id, today), today)
        return letter

    async def _keep_files(self, token: str, letter: Letter, relay: Relay) -> None:
        """The draft's images become the letter's, sealed again under the letter: no trace of
        the draft's token (which the writer's conversation held) stays beside them."""
        files = await self.session.scalars(
            select(LetterFile).where(LetterFile.draft == token, LetterFile.letter_id.is_(None))
        )
        for file in files:
            data = relay.open_bytes(f"file:{token}", file.data)
            if data is None:
                await self.session.delete(file)
                continue
            file.data = relay.seal_bytes(f"letter-file:{letter.id}", data)
            file.letter_id, file.draft = letter.id, ""

    async def images(self, letter_id: int, relay: Relay) -> list[tuple[str, bytes]]:
        """The letter's images as (MIME type, bytes), in the order they were added."""
        found = []
        for file in await self.files(letter_id):
            data = relay.open_bytes(f"letter-file:{letter_id}", file.data)
            if data is not None:
                found.append((file.mime, data))
        return found

    async def letter(self, number: int) -> Letter | None:
        return await self.session.scalar(
            select(Letter).where(Letter.year == number // SEQ, Letter.seq == number % SEQ)
        )

    async def by_id(self, letter_id: int) -> Letter | None:
        return await self.session.get(Letter, letter_id)

    async def add_entry(
        self,
        letter: Letter,
        kind: str,
        author: str,
        author_id: int | None,
        text: str = "",
        detail: dict[str, object] | None = None,
        *,
        today: date,
    ) -> Entry:
        """A step of the thread. An anonymous writer's step keeps no time and waits for the
        next release slot before the secretaries hear of it."""
        hidden = letter.anonymous and author == "writer"
        entry = Entry(
            letter_id=letter.id,
            kind=kind,
            author=author,
            author_id=None if hidden else author_id,
            on=today,
            at=None if hidden else self.clock.now(),
            text=text,
            detail=detail or {},
            posted=not hidden,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def thread(self, letter_id: int, *, posted_only: bool = False) -> list[Entry]:
        """The letter's steps in order; ``posted_only``: those its secretaries have been told
        of (an anonymous writer's newest ones wait for their release slot)."""
        query = select(Entry).where(Entry.letter_id == letter_id).order_by(Entry.id)
        if posted_only:
            query = query.where(Entry.posted.is_(True))
        return list(await self.session.scalars(query))

    async def files(self, letter_id: int) -> list[LetterFile]:
        return list(
            await self.session.scalars(
                select(LetterFile).where(LetterFile.letter_id == letter_id).order_by(LetterFile.id)
            )
        )

    # -- whose ------------------------------------------------------------------------------

    async def mine(self, member_id: int, relay: Relay, today: date) -> list[Letter]:
        """The member's letters, signed and anonymous, newest first."""
        signed = list(
            await self.session.scalars(select(Letter).where(Letter.writer_id == member_id))
        )
        since = today - timedelta(days=MINE_DAYS)
        rows = await self.session.execute(
            select(Letter, RelayRow.sealed)
            .join(RelayRow, RelayRow.letter_id == Letter.id)
            .where(Letter.written_on >= since)
        )
        anonymous = [
            letter for letter, sealed in rows if relay.open(letter.id, sealed) == member_id
        ]
        return sorted([*signed, *anonymous], key=lambda letter: letter.id, reverse=True)

    async def wrote(self, letter: Letter, member_id: int, relay: Relay) -> bool:
        """Whether ``member_id`` wrote ``letter`` (opens its relay row for an anonymous one)."""
        if not letter.anonymous:
            return letter.writer_id == member_id
        return await self.writer_of(letter, relay) == member_id

    async def writer_of(self, letter: Letter, relay: Relay) -> int | None:
        """The writer, to deliver to or to compare with: never shown, logged or returned by
        a command."""
        if not letter.anonymous:
            return letter.writer_id
        sealed = await self.session.scalar(
            select(RelayRow.sealed).where(RelayRow.letter_id == letter.id)
        )
        return relay.open(letter.id, sealed) if sealed is not None else None

    # -- files of a draft -------------------------------------------------------------------

    async def add_draft_file(
        self, token: str, name: str, mime: str, data: bytes, relay: Relay, today: date
    ) -> None:
        self.session.add(
            LetterFile(
                draft=token,
                name=name,
                mime=mime,
                data=relay.seal_bytes(f"file:{token}", data),
                on=today,
            )
        )

    async def drop_draft(self, token: str) -> None:
        await self.session.execute(
            delete(LetterFile).where(LetterFile.draft == token, LetterFile.letter_id.is_(None))
        )

    async def prune_drafts(self, before: date) -> int:
        """Files of drafts never sent (the conversation timed out or was cancelled)."""
        result = await self.session.execute(
            delete(LetterFile).where(LetterFile.letter_id.is_(None), LetterFile.on < before)
        )
        return int(getattr(result, "rowcount", 0))

    # -- the cap and blocks -----------------------------------------------------------------

    async def sent_today(self, member_id: int, relay: Relay, today: date) -> int:
        token = relay.quota_token(member_id, today)
        return int(await self.session.scalar(select(Quota.count).where(Quota.token == token)) or 0)

    async def _count(self, token: str, today: date) -> None:
        row = await self.session.get(Quota, token)
        if row is None:
            self.session.add(Quota(token=token, day=today, count=1))
        else:
            row.count += 1

    async def prune_quota(self, today: date) -> None:
        """Forget the counts of past days (the deadline worker's pass)."""
        await self.session.execute(delete(Quota).where(Quota.day < today - timedelta(days=2)))

    async def blocked_until(self, member_id: int, relay: Relay, today: date) -> date | None:
        """The end of the member's longest block in force: every block in force is opened
        (they are few), since none can be looked up by member."""
        rows = await self.session.execute(
            select(Block.id, Block.sealed, Block.until).where(Block.until >= today)
        )
        ends = [
            until for block_id, sealed, until in rows if relay.open(-block_id, sealed) == member_id
        ]
        return max(ends, default=None)

    async def block(
        self,
        letter: Letter,
        writer_id: int,
        by_id: int | None,
        until: date,
        relay: Relay,
        today: date,
    ) -> Block:
        row = Block(
            sealed=b"",
            letter_id=letter.id,
            branch_id=letter.branch_id,
            by_id=by_id,
            until=until,
            created_on=today,
        )
        self.session.add(row)
        await self.session.flush()
        row.sealed = relay.seal(-row.id, writer_id)  # bound to the block (letter ids are > 0)
        return row

    async def blocks(self, today: date, branch_ids: Iterable[int] | None = None) -> list[Block]:
        query = select(Block).where(Block.until >= today).order_by(Block.until)
        if branch_ids is not None:
            query = query.where(Block.branch_id.in_(list(branch_ids)))
        return list(await self.session.scalars(query))

    # -- secretaries' views -----------------------------------------------------------------

    async def open_letters(self, branch_ids: Sequence[int] | None) -> list[Letter]:
        """Open letters of these branches (``None``: all, letters without a branch too), the
        nearest deadline first."""
        query = select(Letter).where(Letter.status.in_(OPEN), Letter.released.is_(True))
        if branch_ids is not None:
            query = query.where(Letter.branch_id.in_(list(branch_ids)))
        letters = list(await self.session.scalars(query))
        return sorted(letters, key=lambda letter: (due_of(letter), letter.id))

    async def letters(
        self,
        branch_ids: Collection[int] | None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[Letter]:
        """The released letters of the branches (``None``: all, the admins' too) written from
        ``since`` to ``until``, both included."""
        query = select(Letter).where(Letter.released.is_(True))
        if branch_ids is not None:
            query = query.where(Letter.branch_id.in_(list(branch_ids)))
        if since is not None:
            query = query.where(Letter.written_on >= since)
        if until is not None:
            query = query.where(Letter.written_on <= until)
        return list(await self.session.scalars(query))

    async def unposted(self, limit: int) -> list[Entry]:
        return list(
            await self.session.scalars(
                select(Entry).where(Entry.posted.is_(False)).order_by(Entry.id).limit(limit)
            )
        )


def due_of(letter: Letter) -> date:
    """The deadline that matters now: the first answer's until there is one."""
    return letter.answer_due if letter.answered_on is None else letter.resolve_due


def overdue(letter: Letter, today: date) -> bool:
    if letter.status == "closed":
        return False
    if letter.answered_on is None:
        return today > letter.answer_due
    return letter.status in ("new", "reopened") and today > letter.resolve_due
