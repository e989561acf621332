"""The supervision repository (``ctx.store.get(Supervision)``): indicators, reports and their
files, rectification tasks and their history, the notices the worker sent, web tokens,
the boards waiting to be drawn.

Queries are by set, never one per branch: the board of 500 branches × 20 indicators is one
query for the reports and one for the tasks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Address
from dialogs.supervision.indicators import Indicator
from dialogs.supervision.tables import (
    TASK_OPEN,
    BoardRequest,
    EvidenceFile,
    Notice,
    Report,
    StoredIndicator,
    Task,
    TaskStep,
    WebToken,
)
from store.clock import clock_of

SEARCH_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Active:
    """An imported indicator, its definition read back."""

    id: int
    indicator: Indicator
    starts_on: date

    @property
    def key(self) -> str:
        return self.indicator.key


@dataclass(frozen=True, slots=True)
class Filed:
    """What the board reads of a current report."""

    id: int
    late: bool
    on: date
    numbers: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Asked:
    """A ``/board`` waiting for the drawing worker: where its answer goes, in which language,
    over which branches (``None``: all)."""

    id: int
    address: Address
    thread: str | None
    locale: str
    branch_ids: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class Imported:
    added: int
    changed: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class NewFile:
    name: str
    mime: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TaskCounts:
    """A branch's tasks due by a day: ``done_in_time`` of ``due`` closed by their deadline
    (dropped tasks do not count), and how many are open past it."""

    due: int = 0
    done_in_time: int = 0
    overdue: int = 0
    most_overdue_days: int = 0

    @property
    def rate(self) -> float | None:
        return self.done_in_time / self.due if self.due else None


def searchable(*parts: str) -> str:
    return " ".join(" ".join(part.split()) for part in parts if part).lower()


class Supervision:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)

    # -- indicators -------------------------------------------------------------------------

    async def import_indicators(self, indicators: Sequence[Indicator], today: date) -> Imported:
        """Add new keys, update changed definitions (a new version), keep the rest; the file's
        order becomes the board's column order. Keys not in the file are left as they are."""
        stored = {
            row.key: row
            for row in await self.session.scalars(
                select(StoredIndicator).where(StoredIndicator.key.in_([i.key for i in indicators]))
            )
        }
        added = changed = 0
        now = self.clock.now()
        for position, indicator in enumerate(indicators):
            definition = indicator.model_dump(mode="json")
            row = stored.get(indicator.key)
            if row is None:
                self.session.add(
                    StoredIndicator(
                        key=indicator.key,
                        definition=definition,
                        position=position,
                        active=indicator.active,
                        starts_on=today,
                        version=1,
                        imported_at=now,
                    )
                )
                added += 1
                continue
            row.position = position
            if row.definition != definition:
                row.definition, row.active = definition, indicator.active
                row.version += 1
                row.imported_at = now
                changed += 1
        await self.session.flush()
        return Imported(added, changed, len(indicators) - added - changed)

    async def indicators(self, *, everyone: bool = False) -> list[Active]:
        """The active indicators in board order (``everyone``: the retired too)."""
        query = select(StoredIndicator).order_by(StoredIndicator.position, StoredIndicator.id)
        if not everyone:
            query = query.where(StoredIndicator.active.is_(True))
        return [
            Active(row.id, Indicator.model_validate(row.definition), row.starts_on)
            for row in await self.session.scalars(query)
        ]

    # -- reports ----------------------------------------------------------------------------

    async def current(
        self, branch_ids: Collection[int] | None, periods: Collection[str]
    ) -> dict[tuple[int, int, str], Filed]:
        """The current report of each (indicator, branch, period) among ``periods``: only the
        columns a colour needs, as tuples (a board of 500 branches reads about 20,000; ORM
        objects for them cost a second)."""
        if not periods:
            return {}
        query = select(
            Report.indicator_id,
            Report.branch_id,
            Report.period,
            Report.id,
            Report.late,
            Report.on,
            Report.numbers,
        ).where(Report.current.is_(True), Report.period.in_(list(periods)))
        if branch_ids is not None:
            query = query.where(Report.branch_id.in_(list(branch_ids)))
        return {
            (indicator_id, branch_id, period): Filed(report_id, late, on, numbers or {})
            for indicator_id, branch_id, period, report_id, late, on, numbers in (
                await self.session.execute(query)
            )
        }

    async def versions(self, indicator_id: int, branch_id: int, period: str) -> list[Report]:
        """Every version of one report, newest first (its history)."""
        return list(
            await self.session.scalars(
                select(Report)
                .where(
                    Report.indicator_id == indicator_id,
                    Report.branch_id == branch_id,
                    Report.period == period,
                )
                .order_by(Report.version.desc())
            )
        )

    async def submit(
        self,
        *,
        indicator_id: int,
        branch_id: int,
        period: str,
        late: bool,
        by_id: int | None,
        today: date,
        text: str,
        numbers: dict[str, int],
        search: str,
        files: Sequence[NewFile],
    ) -> Report:
        """A new version of the report, the earlier one kept as history. A correction keeps
        the first version's lateness: correcting a report on time does not make it late."""
        earlier = await self.session.scalar(
            select(Report)
            .where(
                Report.indicator_id == indicator_id,
                Report.branch_id == branch_id,
                Report.period == period,
                Report.current.is_(True),
            )
            .with_for_update()
        )
        version = 1
        if earlier is not None:
            earlier.current = False
            version, late = earlier.version + 1, earlier.late
        report = Report(
            indicator_id=indicator_id,
            branch_id=branch_id,
            period=period,
            version=version,
            current=True,
            late=late,
            by_id=by_id,
            at=self.clock.now(),
            on=today,
            text=text,
            numbers=numbers,
            search=search,
        )
        self.session.add(report)
        await self.session.flush()
        self.session.add_all(
            EvidenceFile(
                report_id=report.id,
                seq=seq,
                name=file.name,
                mime=file.mime,
                size=file.size,
                sha256=file.sha256,
            )
            for seq, file in enumerate(files, start=1)
        )
        return report

    async def report(self, report_id: int) -> Report | None:
        return await self.session.get(Report, report_id)

    async def history(self, branch_id: int, since: str = "") -> list[Report]:
        """A branch's current reports from period ``since`` on, newest period first."""
        return list(
            await self.session.scalars(
                select(Report)
                .where(
                    Report.branch_id == branch_id,
                    Report.current.is_(True),
                    Report.period >= since,
                )
                .order_by(Report.period.desc(), Report.indicator_id)
            )
        )

    async def search(
        self, words: Sequence[str], branch_ids: Collection[int] | None, limit: int = SEARCH_LIMIT
    ) -> list[Report]:
        """Current reports whose titles or text hold every word, newest first."""
        query = select(Report).where(Report.current.is_(True))
        for word in words:
            escaped = word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(Report.search.like(f"%{escaped}%", escape="\\"))
        if branch_ids is not None:
            query = query.where(Report.branch_id.in_(list(branch_ids)))
        return list(await self.session.scalars(query.order_by(Report.at.desc()).limit(limit)))

    async def files(self, report_ids: Iterable[int]) -> dict[int, list[EvidenceFile]]:
        found: dict[int, list[EvidenceFile]] = {}
        ids = list(report_ids)
        if not ids:
            return found
        for row in await self.session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.report_id.in_(ids))
            .order_by(EvidenceFile.report_id, EvidenceFile.seq)
        ):
            assert row.report_id is not None
            found.setdefault(row.report_id, []).append(row)
        return found

    async def step_files(self, step_ids: Iterable[int]) -> dict[int, list[EvidenceFile]]:
        found: dict[int, list[EvidenceFile]] = {}
        ids = list(step_ids)
        if not ids:
            return found
        for row in await self.session.scalars(
            select(EvidenceFile)
            .where(EvidenceFile.step_id.in_(ids))
            .order_by(EvidenceFile.step_id, EvidenceFile.seq)
        ):
            assert row.step_id is not None
            found.setdefault(row.step_id, []).append(row)
        return found

    async def file(self, file_id: int) -> EvidenceFile | None:
        return await self.session.get(EvidenceFile, file_id)

    # -- tasks ------------------------------------------------------------------------------

    async def add_task(
        self,
        *,
        branch_id: int,
        title: str,
        owner_id: int | None,
        made_by_id: int | None,
        made_by: str,
        due: date,
        today: date,
        source: str | None = None,
    ) -> Task:
        task = Task(
            branch_id=branch_id,
            title=title,
            owner_id=owner_id,
            made_by_id=made_by_id,
            made_by=made_by,
            source=source,
            created_on=today,
            due=due,
            status="open",
            note="",
            reminded=0,
        )
        self.session.add(task)
        await self.session.flush()
        await self.step(task, "made", made_by, title)
        return task

    async def task(self, task_id: int) -> Task | None:
        return await self.session.get(Task, task_id)

    async def task_from(self, source: str) -> Task | None:
        return await self.session.scalar(select(Task).where(Task.source == source).limit(1))

    async def step(
        self, task: Task, kind: str, by: str, text: str = "", files: Sequence[NewFile] = ()
    ) -> TaskStep:
        step = TaskStep(task_id=task.id, kind=kind, by=by, at=self.clock.now(), text=text)
        self.session.add(step)
        await self.session.flush()
        self.session.add_all(
            EvidenceFile(
                step_id=step.id,
                seq=seq,
                name=file.name,
                mime=file.mime,
                size=file.size,
                sha256=file.sha256,
            )
            for seq, file in enumerate(files, start=1)
        )
        return step

    async def steps(self, task_id: int) -> list[TaskStep]:
        return list(
            await self.session.scalars(
                select(TaskStep).where(TaskStep.task_id == task_id).order_by(TaskStep.id)
            )
        )

    async def tasks(
        self,
        *,
        owner_id: int | None = None,
        branch_ids: Collection[int] | None = None,
        open_only: bool = True,
        limit: int = 50,
    ) -> list[Task]:
        """Tasks of an owner or of branches (``None``: every branch), soonest deadline first."""
        query = select(Task)
        if owner_id is not None:
            query = query.where(Task.owner_id == owner_id)
        if branch_ids is not None:
            query = query.where(Task.branch_id.in_(list(branch_ids)))
        if open_only:
            query = query.where(Task.status.in_(TASK_OPEN))
        return list(await self.session.scalars(query.order_by(Task.due, Task.id).limit(limit)))

    async def open_tasks(self, due_by: date) -> list[Task]:
        """Open tasks due on or before ``due_by`` (the worker's reminders)."""
        return list(
            await self.session.scalars(
                select(Task)
                .where(Task.status.in_(TASK_OPEN), Task.due <= due_by)
                .order_by(Task.due, Task.id)
            )
        )

    async def task_counts(
        self, branch_ids: Collection[int] | None, first: date, last: date, today: date
    ) -> dict[int, TaskCounts]:
        """Per branch, the tasks due in ``[first, last]`` (the closed-loop rate: done by their
        deadline over due, dropped ones left out) and those open past their deadline today."""
        due_in = and_(Task.due >= first, Task.due <= last, Task.status != "dropped")
        in_time = and_(due_in, Task.status == "done", Task.closed_on <= Task.due)
        late = and_(Task.status.in_(TASK_OPEN), Task.due < today)
        query = select(
            Task.branch_id,
            func.count().filter(due_in),
            func.count().filter(in_time),
            func.count().filter(late),
            func.min(Task.due).filter(late),
        ).group_by(Task.branch_id)
        query = query.where(or_(due_in, late))
        if branch_ids is not None:
            query = query.where(Task.branch_id.in_(list(branch_ids)))
        found: dict[int, TaskCounts] = {}
        for branch_id, due, done, overdue, oldest in await self.session.execute(query):
            days = (today - oldest).days if oldest is not None else 0
            found[branch_id] = TaskCounts(due, done, overdue, days)
        return found

    # -- notices ----------------------------------------------------------------------------

    async def unsent(self, keys: Collection[str]) -> set[str]:
        """Which of ``keys`` were never sent."""
        if not keys:
            return set()
        sent = set(await self.session.scalars(select(Notice.key).where(Notice.key.in_(list(keys)))))
        return set(keys) - sent

    async def claim(self, keys: Collection[str]) -> set[str]:
        """Record ``keys`` as sent; returns those this call recorded. One ``INSERT … ON
        CONFLICT DO NOTHING RETURNING``: two passes (or processes) never both send one."""
        if not keys:
            return set()
        dialect = self.session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        table = cast(Table, Notice.__table__)
        now = self.clock.now()
        return set(
            await self.session.scalars(
                insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.key),
                [{"key": key, "at": now} for key in sorted(keys)],
            )
        )

    # -- web tokens -------------------------------------------------------------------------

    def add_token(self, kind: str, digest: str, identity: str, expires_at: datetime) -> None:
        self.session.add(
            WebToken(kind=kind, digest=digest, identity=identity, expires_at=expires_at, used=False)
        )

    async def spend_link(self, digest: str) -> str | None:
        """The identity of an unexpired, unused link, which is used up; ``None`` otherwise.
        One ``UPDATE … RETURNING``: two requests with one link never both win."""
        row = await self.session.execute(
            update(WebToken)
            .where(
                WebToken.digest == digest,
                WebToken.kind == "link",
                WebToken.used.is_(False),
                WebToken.expires_at > self.clock.now(),
            )
            .values(used=True)
            .returning(WebToken.identity)
        )
        return row.scalar_one_or_none()

    async def session_of(self, digest: str) -> str | None:
        return await self.session.scalar(
            select(WebToken.identity).where(
                WebToken.digest == digest,
                WebToken.kind == "session",
                WebToken.expires_at > self.clock.now(),
            )
        )

    async def prune_tokens(self) -> None:
        await self.session.execute(delete(WebToken).where(WebToken.expires_at <= self.clock.now()))

    # -- boards to draw ---------------------------------------------------------------------

    async def ask_board(
        self,
        asker: str,
        address: Address,
        thread: str | None,
        locale: str,
        branch_ids: Collection[int] | None,
    ) -> bool:
        """Record a ``/board`` for the drawing worker; ``False`` when one of ``asker``'s is
        already waiting (it will answer). ``INSERT … ON CONFLICT DO NOTHING``."""
        dialect = self.session.get_bind().dialect.name
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        table = cast(Table, BoardRequest.__table__)
        row = {
            "asker": asker,
            "platform": address.platform,
            "chat_id": address.chat_id,
            "direct": address.direct,
            "user_id": address.user_id,
            "thread": thread,
            "locale": locale,
            "branch_ids": None if branch_ids is None else sorted(branch_ids),
            "asked_at": self.clock.now(),
        }
        added = await self.session.scalar(
            insert(table)
            .values(row)
            .on_conflict_do_nothing(index_elements=["asker"])
            .returning(table.c.id)
        )
        return added is not None

    async def asked(self, limit: int) -> list[Asked]:
        """The oldest ``limit`` boards waiting to be drawn."""
        rows = await self.session.scalars(
            select(BoardRequest).order_by(BoardRequest.id).limit(limit)
        )
        return [
            Asked(
                r.id,
                Address(r.platform, r.chat_id, r.direct, r.user_id),
                r.thread,
                r.locale,
                None if r.branch_ids is None else tuple(r.branch_ids),
            )
            for r in rows
        ]

    async def answered(self, request_id: int) -> bool:
        """Remove a drawn request; ``False`` when another pass (or process) already did, and
        so already queued its answer."""
        done = await self.session.execute(
            delete(BoardRequest).where(BoardRequest.id == request_id).returning(BoardRequest.id)
        )
        return done.scalar_one_or_none() is not None
