"""Named queries of learning: banks, answers, spaced repetition, points, streaks, rankings."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    Table,
    bindparam,
    case,
    delete,
    distinct,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from store.banks import Bank
from store.clock import clock_of
from store.learning_tables import (
    AnswerRecord,
    DailyDone,
    Lesson,
    Level,
    PointsEntry,
    Question,
    QuestionBank,
    Record,
    Review,
)
from store.models import Branch, Member

CHUNK = 500
"""Keys or rows per statement: SQLite allows 32,766 bound parameters (999 before 3.32),
PostgreSQL 32,767; 500 keys stay far below both."""
QUESTION_FIELDS = (
    "kind",
    "text",
    "options",
    "answers",
    "feedback",
    "explanation",
    "category",
    "difficulty",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class Imported:
    added: int
    updated: int
    levels: int
    lessons: int
    missing: int = 0
    """Questions of the bank in the database that the file no longer has: reported, never
    deleted (members' answers to them stay in the history)."""


@dataclass(frozen=True, slots=True)
class Card:
    """A question as a run needs it, small enough to keep in the conversation's data for the
    whole run (one read at the start instead of one per answer)."""

    id: int
    kind: str
    text: str
    options: list[str]
    answers: list[Any]
    feedback: list[str]
    explanation: str
    category: str
    schedule: list[float] | None = None
    """The member's SM-2 state for it at the start: repetitions, interval days, ease."""

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Card:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Schedule:
    repetitions: int
    interval_days: int
    ease: float


REVIEW_SHARE = (3, 5)
"""At most 3 of every 5 daily questions are reviews, so a member keeps meeting new ones."""
FIRST_RIGHT_DAYS = 3
"""A question answered right the first time comes back after this many days, not tomorrow:
it is the wrong answers that need the early repetition."""


def sm2(previous: Schedule | None, quality: int) -> Schedule:
    """SuperMemo-2: ``quality`` 0–5; below 3 starts the question over tomorrow. The first
    right answer waits ``FIRST_RIGHT_DAYS`` (SM-2 says 1)."""
    reps, interval, ease = (
        (previous.repetitions, previous.interval_days, previous.ease) if previous else (0, 0, 2.5)
    )
    ease = max(1.3, ease + 0.1 - (5 - quality) * (0.08 + (5 - quality) * 0.02))
    if quality < 3:
        return Schedule(0, 1, ease)
    reps += 1
    interval = FIRST_RIGHT_DAYS if reps == 1 else 6 if reps == 2 else round(interval * ease)
    return Schedule(reps, interval, ease)


@dataclass(frozen=True, slots=True)
class MemberPoints:
    member_id: int
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class BranchActivity:
    branch_id: int
    name: str
    members: int
    active: int
    answers: int
    correct: int

    @property
    def participation(self) -> float:
        return self.active / self.members if self.members else 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


@dataclass(frozen=True, slots=True)
class MonthActivity:
    """A span of branches over a month: its members, how many of them answered, the answers."""

    members: int
    active: int
    answers: int


@dataclass(frozen=True, slots=True)
class CategoryAccuracy:
    category: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answers if self.answers else 0.0


def streak_of(days: set[date], today: date) -> int:
    """Consecutive days with a finished daily quiz, ending today or yesterday."""
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def visible_to(branch_id: int | None) -> ColumnElement[bool]:
    """Who sees which questions: a member sees the organisation's banks and the banks of
    their own branch (a room, the banks of its branch), never another branch's. A condition
    on ``Question`` with the banks as a subquery, so a pick stays one statement."""
    owner: ColumnElement[bool] = QuestionBank.branch_id.is_(None)
    if branch_id is not None:
        owner = owner | (QuestionBank.branch_id == branch_id)
    return Question.bank_id.in_(select(QuestionBank.id).where(owner))


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@dataclass(slots=True)
class _Award:
    branch_id: int | None
    points: int
    daily_cap: int


class Learning:
    """Answers, schedules, points and finished days are written behind: kept here and written
    with one ``executemany`` each when the engine commits the batch (``flush``), so answering
    a question costs no round trip to the database. Every read of those tables flushes first,
    so reads always see them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.clock = clock_of(session)
        self._answers: dict[str, dict[str, Any]] = {}
        self._reviews: dict[str, dict[str, Any]] = {}
        """By attempt: a schedule changes only if its answer was recorded."""
        self._days: dict[tuple[int, date], dict[str, Any]] = {}
        self._awards: dict[tuple[int, str, date], _Award] = {}
        """By member, activity and day: points to add within the day's cap at the flush."""

    async def flush(self) -> None:
        """Write what was kept back (the engine calls this before each commit)."""
        insert = _insert(self.session)
        if self._awards:
            awards, self._awards = self._awards, {}
            await self._grant(awards)
        if self._answers:
            rows, self._answers = list(self._answers.values()), {}
            table = cast(Table, AnswerRecord.__table__)
            inserted = set(
                await self.session.scalars(
                    insert(table)
                    .on_conflict_do_nothing(index_elements=["attempt"])
                    .returning(table.c.attempt),
                    rows,
                )
            )
            reviews, self._reviews = self._reviews, {}
            latest = {
                (r["member_id"], r["question_id"]): r
                for attempt, r in reviews.items()
                if attempt in inserted
            }
            if latest:
                statement = insert(cast(Table, Review.__table__))
                await self.session.execute(
                    statement.on_conflict_do_update(
                        index_elements=["member_id", "question_id"],
                        set_={
                            name: statement.excluded[name]
                            for name in ("repetitions", "interval_days", "ease", "due")
                        },
                    ),
                    list(latest.values()),
                )
        if self._days:
            rows, self._days = list(self._days.values()), {}
            await self.session.execute(
                insert(cast(Table, DailyDone.__table__)).on_conflict_do_nothing(
                    index_elements=["member_id", "day"]
                ),
                rows,
            )

    # -- banks ------------------------------------------------------------------------------

    async def bank_id(self, name: str, branch_id: int | None) -> int:
        """The bank ``name`` of its owner (a branch, or the organisation for None), created
        on first use."""
        owner = (
            QuestionBank.branch_id.is_(None)
            if branch_id is None
            else (QuestionBank.branch_id == branch_id)
        )
        found = await self.session.scalar(
            select(QuestionBank.id).where(QuestionBank.name == name, owner)
        )
        if found is not None:
            return int(found)
        row = QuestionBank(name=name, branch_id=branch_id)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def import_bank(self, bank: Bank, branch_id: int | None = None) -> Imported:
        """Upsert by stable key within one bank: the bank of that name owned by ``branch_id``
        (a secretary's branch) or by the organisation (None). A re-import updates questions,
        never duplicates them; another bank's questions are never touched, whatever their
        keys. Every statement takes at most ``CHUNK`` keys or rows, so a big bank stays under
        SQLite's and PostgreSQL's limits on bound parameters."""
        bank_id = await self.bank_id(bank.name, branch_id)
        table = cast(Table, Question.__table__)
        keys = [q.key for q in bank.questions]
        existing: dict[str, int] = {}
        for start in range(0, len(keys), CHUNK):
            rows = await self.session.execute(
                select(table.c.key, table.c.id).where(
                    table.c.bank_id == bank_id, table.c.key.in_(keys[start : start + CHUNK])
                )
            )
            existing.update({key: row_id for key, row_id in rows})
        stamp = self.clock.now()
        added: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for parsed in bank.questions:
            values = {
                "kind": parsed.kind,
                "text": parsed.text,
                "options": parsed.options,
                "answers": parsed.answers,
                "feedback": parsed.feedback,
                "explanation": parsed.explanation,
                "category": parsed.category,
                "difficulty": parsed.difficulty,
                "updated_at": stamp,
            }
            row_id = existing.get(parsed.key)
            if row_id is None:
                added.append({**values, "bank_id": bank_id, "key": parsed.key})
            else:
                changed.append({**values, "question_id": row_id})
        for start in range(0, len(added), CHUNK):
            await self.session.execute(insert(table), added[start : start + CHUNK])
        update_row = (
            update(table)
            .where(table.c.id == bindparam("question_id"))
            .values({name: bindparam(name) for name in QUESTION_FIELDS})
        )
        for start in range(0, len(changed), CHUNK):
            await self.session.execute(update_row, changed[start : start + CHUNK])
        if bank.levels:
            await self.session.execute(delete(Level))
            for level in bank.levels:
                self.session.add(
                    Level(
                        number=level.number,
                        title=level.title,
                        category=level.category,
                        questions=level.questions,
                        pass_mark=level.pass_mark,
                    )
                )
        await self._import_lessons(bank)
        await self.session.flush()
        total = await self.session.scalar(
            select(func.count()).select_from(table).where(table.c.bank_id == bank_id)
        )
        missing = int(total or 0) - len(keys)
        return Imported(len(added), len(changed), len(bank.levels), len(bank.lessons), missing)

    async def _import_lessons(self, bank: Bank) -> None:
        keys = [lesson.key for lesson in bank.lessons]
        found: dict[str, Lesson] = {}
        for start in range(0, len(keys), CHUNK):
            rows = await self.session.scalars(
                select(Lesson).where(Lesson.key.in_(keys[start : start + CHUNK]))
            )
            found.update({row.key: row for row in rows})
        for lesson in bank.lessons:
            row = found.get(lesson.key) or Lesson(key=lesson.key)
            row.title, row.text, row.link = lesson.title, lesson.text, lesson.link
            row.category, row.questions = lesson.category, lesson.questions
            self.session.add(row)

    async def cards(self, member_id: int, ids: list[int]) -> list[Card]:
        """The questions ``ids`` in that order, each with the member's schedule (missing
        questions left out), in one query."""
        await self.flush()
        if not ids:
            return []
        table = cast(Table, Question.__table__)
        reviews = cast(Table, Review.__table__)
        rows = await self.session.execute(
            select(
                table.c.id,
                table.c.kind,
                table.c.text,
                table.c.options,
                table.c.answers,
                table.c.feedback,
                table.c.explanation,
                table.c.category,
                reviews.c.repetitions,
                reviews.c.interval_days,
                reviews.c.ease,
            )
            .outerjoin(
                reviews,
                (reviews.c.question_id == table.c.id) & (reviews.c.member_id == member_id),
            )
            .where(table.c.id.in_(ids))
        )
        found = {
            row[0]: Card(
                *row[:8],
                schedule=None if row[8] is None else [float(row[8]), float(row[9]), row[10]],
            )
            for row in rows
        }
        return [found[i] for i in ids if i in found]

    async def sample(
        self,
        branch_id: int | None,
        count: int,
        category: str | None = None,
        kinds: tuple[str, ...] = (),
    ) -> list[int]:
        """Random question ids a member of ``branch_id`` may see (of one category, of some
        kinds, when given)."""
        query = (
            select(Question.id).where(visible_to(branch_id)).order_by(func.random()).limit(count)
        )
        if category:
            query = query.where(Question.category == category)
        if kinds:
            query = query.where(Question.kind.in_(kinds))
        return list(await self.session.scalars(query))

    async def daily_pick(
        self, member_id: int, branch_id: int | None, today: date, count: int
    ) -> list[int]:
        """Due reviews (wrong answers first, then the longest overdue), at most
        ``REVIEW_SHARE`` of the quiz so new questions keep coming; then questions never seen;
        then more due reviews, then any. Only questions a member of ``branch_id`` may see: a
        review of a question that is no longer visible (the member moved) is not due."""
        await self.flush()
        review = (Review.question_id == Question.id) & (Review.member_id == member_id)
        visible = visible_to(branch_id)
        due = list(
            await self.session.scalars(
                select(Question.id)
                .join(Review, review)
                .where(Review.due <= today, visible)
                .order_by(Review.repetitions > 0, Review.due, func.random())
                .limit(count)
            )
        )
        unseen = list(
            await self.session.scalars(
                select(Question.id)
                .outerjoin(Review, review)
                .where(Review.question_id.is_(None), visible)
                .order_by(func.random())
                .limit(count)
            )
        )
        reviews = max(1, count * REVIEW_SHARE[0] // REVIEW_SHARE[1])
        picked = due[:reviews] + unseen
        picked = (picked + due[reviews:])[:count]
        if len(picked) < count:
            rest = (
                select(Question.id)
                .where(Question.id.not_in(picked), visible)
                .order_by(func.random())
            )
            picked += list(await self.session.scalars(rest.limit(count - len(picked))))
        return picked

    async def levels(self) -> list[Level]:
        return list(await self.session.scalars(select(Level).order_by(Level.number)))

    async def lessons(self) -> list[Lesson]:
        return list(await self.session.scalars(select(Lesson).order_by(Lesson.key)))

    async def lesson(self, key: str) -> Lesson | None:
        return await self.session.get(Lesson, key)

    # -- answers and reviews ----------------------------------------------------------------

    def record_answer(
        self,
        member_id: int,
        branch_id: int | None,
        card: Card,
        attempt: str,
        mode: str,
        correct: bool,
        quality: int,
        today: date,
    ) -> None:
        """Record one answer and reschedule the question from the schedule the run started
        with. ``attempt`` is unique in the store: an answer recorded twice counts once, and
        only the first moves the question's schedule."""
        if attempt in self._answers:
            return
        self._answers[attempt] = {
            "member_id": member_id,
            "branch_id": branch_id,
            "question_id": card.id,
            "attempt": attempt,
            "mode": mode,
            "correct": correct,
            "answered_at": self.clock.now(),
        }
        previous = (
            Schedule(int(card.schedule[0]), int(card.schedule[1]), card.schedule[2])
            if card.schedule
            else None
        )
        schedule = sm2(previous, quality)
        self._reviews[attempt] = {
            "member_id": member_id,
            "question_id": card.id,
            "repetitions": schedule.repetitions,
            "interval_days": schedule.interval_days,
            "ease": schedule.ease,
            "due": today + timedelta(days=schedule.interval_days),
        }

    # -- points -----------------------------------------------------------------------------

    async def award(
        self,
        member_id: int,
        branch_id: int | None,
        activity: str,
        points: int,
        daily_cap: int,
        today: date,
    ) -> int:
        """Add points up to the activity's daily cap; returns what was actually added. One
        ``INSERT … SELECT`` reads today's total and writes the capped award."""
        if points <= 0:
            return 0
        await self.flush()
        room = daily_cap - func.coalesce(func.sum(PointsEntry.points), 0)
        granted = case((room < points, room), else_=points)
        source = (
            select(
                literal(member_id),
                literal(branch_id, Integer),
                literal(activity),
                granted,
                literal(today, Date),
            )
            .where(
                PointsEntry.member_id == member_id,
                PointsEntry.day == today,
                PointsEntry.activity == activity,
            )
            .having(room > 0)
        )
        table = cast(Table, PointsEntry.__table__)
        result = await self.session.execute(
            table.insert()
            .from_select(["member_id", "branch_id", "activity", "points", "day"], source)
            .returning(table.c.points)
        )
        return int(result.scalar() or 0)

    def award_later(
        self,
        member_id: int,
        branch_id: int | None,
        activity: str,
        points: int,
        daily_cap: int,
        today: date,
    ) -> None:
        """Add points up to the activity's daily cap when the batch is written, for awards
        nobody is told the size of (a point per right answer). The caps of a whole batch are
        checked in two statements at the flush (``_grant``) instead of a round trip each."""
        if points <= 0:
            return
        key = (member_id, activity, today)
        pending = self._awards.get(key)
        if pending is None:
            self._awards[key] = _Award(branch_id, points, daily_cap)
        else:
            pending.points += points

    async def _grant(self, awards: dict[tuple[int, str, date], _Award]) -> None:
        """One read of the day's totals of every member and activity awarded, then one
        ``executemany`` of what still fits under each cap. Exact within the store's write
        order: on SQLite the batch is the only writer; on PostgreSQL two processes awarding
        the same member in the same instant could each read the total before the other's
        write (as with any read-then-write under READ COMMITTED)."""
        keys = list(awards)
        totals: dict[tuple[int, str, date], int] = {}
        total = func.sum(PointsEntry.points)
        for start in range(0, len(keys), 500):
            rows = await self.session.execute(
                select(PointsEntry.member_id, PointsEntry.activity, PointsEntry.day, total)
                .where(
                    tuple_(PointsEntry.member_id, PointsEntry.activity, PointsEntry.day).in_(
                        keys[start : start + 500]
                    )
                )
                .group_by(PointsEntry.member_id, PointsEntry.activity, PointsEntry.day)
            )
            for member_id, activity, day, points in rows:
                totals[(member_id, activity, day)] = int(points or 0)
        granted = []
        for (member_id, activity, day), award in awards.items():
            points = min(award.points, award.daily_cap - totals.get((member_id, activity, day), 0))
            if points > 0:
                granted.append(
                    {
                        "member_id": member_id,
                        "branch_id": award.branch_id,
                        "activity": activity,
                        "points": points,
                        "day": day,
                    }
                )
        if granted:
            await self.session.execute(insert(PointsEntry), granted)

    async def points_of(self, member_id: int, since: date | None = None) -> int:
        await self.flush()
        query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.member_id == member_id
        )
        if since is not None:
            query = query.where(PointsEntry.day >= since)
        return int(await self.session.scalar(query) or 0)

    # -- daily quiz and streaks -------------------------------------------------------------

    def finish_daily(self, member_id: int, day: date, correct: int) -> None:
        """Mark the day's quiz done (a second mark for the same day changes nothing)."""
        self._days[(member_id, day)] = {"member_id": member_id, "day": day, "correct": correct}

    async def days(self, member_id: int, today: date) -> set[date]:
        """The days of the last 400 on which the member finished the daily quiz."""
        await self.flush()
        return set(
            await self.session.scalars(
                select(DailyDone.day).where(
                    DailyDone.member_id == member_id, DailyDone.day >= today - timedelta(400)
                )
            )
        )

    async def streak(self, member_id: int, today: date) -> int:
        return streak_of(await self.days(member_id, today), today)

    # -- records (level stars, best challenge) ----------------------------------------------

    async def records(self, member_id: int) -> dict[str, int]:
        rows = await self.session.execute(
            select(Record.name, Record.value).where(Record.member_id == member_id)
        )
        return {name: value for name, value in rows}

    async def improve(self, member_id: int, name: str, value: int) -> int:
        """Keep the best ``value`` under ``name``; returns the previous best (0 if none)."""
        row = await self.session.get(Record, (member_id, name))
        if row is None:
            self.session.add(Record(member_id=member_id, name=name, value=value))
            await self.session.flush()
            return 0
        previous = row.value
        row.value = max(previous, value)
        return previous

    # -- rankings and statistics ------------------------------------------------------------

    async def branch_points(self, branch_id: int, since: date | None) -> list[MemberPoints]:
        """Members of a branch by points earned since ``since`` (members with none included)."""
        await self.flush()
        condition = PointsEntry.member_id == Member.id
        if since is not None:
            condition = condition & (PointsEntry.day >= since)
        total = func.coalesce(func.sum(PointsEntry.points), 0)
        rows = await self.session.execute(
            select(Member.id, Member.display_name, total)
            .outerjoin(PointsEntry, condition)
            .where(Member.branch_id == branch_id)
            .group_by(Member.id, Member.display_name)
            .order_by(total.desc(), Member.display_name, Member.id)
        )
        return [MemberPoints(i, n, int(p)) for i, n, p in rows]

    async def branch_activity(self, since: datetime | None) -> list[BranchActivity]:
        """Per branch: members, members who answered, answers and right answers since. Only
        answers by the branch's current members count (someone who left or moved on would
        push participation over 100%)."""
        await self.flush()
        members = (
            select(Member.branch_id, func.count().label("members"))
            .where(Member.branch_id.is_not(None))
            .group_by(Member.branch_id)
            .subquery()
        )
        answered = select(
            AnswerRecord.branch_id,
            func.count(distinct(AnswerRecord.member_id)).label("active"),
            func.count().label("answers"),
            func.sum(case((AnswerRecord.correct, 1), else_=0)).label("correct"),
        ).join(
            Member,
            (Member.id == AnswerRecord.member_id) & (Member.branch_id == AnswerRecord.branch_id),
        )
        if since is not None:
            answered = answered.where(AnswerRecord.answered_at >= since)
        answers = answered.group_by(AnswerRecord.branch_id).subquery()
        rows = await self.session.execute(
            select(
                Branch.id,
                Branch.name,
                func.coalesce(members.c.members, 0),
                func.coalesce(answers.c.active, 0),
                func.coalesce(answers.c.answers, 0),
                func.coalesce(answers.c.correct, 0),
            )
            .outerjoin(members, members.c.branch_id == Branch.id)
            .outerjoin(answers, answers.c.branch_id == Branch.id)
            .order_by(Branch.key)
        )
        return [BranchActivity(i, n, int(m), int(a), int(t), int(c)) for i, n, m, a, t, c in rows]

    async def month_activity(
        self, branch_ids: Collection[int] | None, start: datetime, end: datetime
    ) -> MonthActivity:
        """Answers in ``[start, end)`` in the branches (``None``: every branch), in one
        statement: the branches' members, those of them who answered for their branch (as
        ``branch_activity`` counts them) and the answers recorded for the branches."""
        await self.flush()

        def within(column: InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
            if branch_ids is None:
                return column.is_not(None)
            return column.in_(sorted(branch_ids))

        in_month = (AnswerRecord.answered_at >= start) & (AnswerRecord.answered_at < end)
        members = select(func.count()).select_from(Member).where(within(Member.branch_id))
        active = (
            select(func.count(distinct(AnswerRecord.member_id)))
            .join(
                Member,
                (Member.id == AnswerRecord.member_id)
                & (Member.branch_id == AnswerRecord.branch_id),
            )
            .where(in_month, within(AnswerRecord.branch_id))
        )
        answers = (
            select(func.count())
            .select_from(AnswerRecord)
            .where(in_month, within(AnswerRecord.branch_id))
        )
        row = (
            await self.session.execute(
                select(
                    members.scalar_subquery(), active.scalar_subquery(), answers.scalar_subquery()
                )
            )
        ).one()
        return MonthActivity(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))

    async def weakest_categories(
        self, since: datetime, count: int
    ) -> dict[int, list[CategoryAccuracy]]:
        """The ``count`` weakest categories of every branch since ``since`` (by accuracy, then
        the most answered), in one query for the whole organisation: a window ranks each
        branch's categories, so no more than ``count`` rows come back per branch."""
        await self.flush()
        grouped = (
            select(
                AnswerRecord.branch_id,
                Question.category,
                func.count().label("answers"),
                func.sum(case((AnswerRecord.correct, 1), else_=0)).label("correct"),
            )
            .join(Question, Question.id == AnswerRecord.question_id)
            .where(AnswerRecord.branch_id.is_not(None), AnswerRecord.answered_at >= since)
            .group_by(AnswerRecord.branch_id, Question.category)
            .subquery()
        )
        accuracy = sql_cast(grouped.c.correct, Float) / grouped.c.answers
        place = (
            func.row_number()
            .over(
                partition_by=grouped.c.branch_id,
                order_by=(accuracy, grouped.c.answers.desc(), grouped.c.category),
            )
            .label("place")
        )
        ranked = select(grouped, place).subquery()
        rows = await self.session.execute(
            select(ranked.c.branch_id, ranked.c.category, ranked.c.answers, ranked.c.correct)
            .where(ranked.c.place <= count)
            .order_by(ranked.c.branch_id, ranked.c.place)
        )
        found: dict[int, list[CategoryAccuracy]] = {}
        for branch_id, category, answers, correct in rows:
            found.setdefault(branch_id, []).append(
                CategoryAccuracy(category or "", int(answers), int(correct or 0))
            )
        return found
