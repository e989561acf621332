"""The reminder worker: reminds members who have not submitted an open round, and announces
its closing the day before.

The policy is the broadcast reminders' (``bot.reminders``, the ``[appraisal]`` section's
``reminder_interval_hours``, ``reminder_max``, ``quiet_hours``): the first reminder an interval
after the round opened, the next an interval after the last, at most ``reminder_max``, none in
the quiet hours, at most ``chunk`` per pass (one pass a minute). Submitting stops them: only
those ``Appraisal.not_submitted`` names are looked at, and their reminder rows are deleted at
the next pass, so no reminder time stays beside a participation row (``docs/privacy.md``). A day
before a round that ran longer than a day closes, those who have not submitted and the rooms of
its branches are told, once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.feature import Services
from bot.i18n import _, translator
from bot.messages import Address, Outgoing
from bot.outbox import Row, enqueue, hand_over, payload
from bot.reminders import ReminderPolicy
from bot.timetable import Timetable
from dialogs.appraisal.common import ANSWER_AT, template_of
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.progress import record_reminder, reminder, start_button
from dialogs.appraisal.repository import Appraisal, RoundRow
from dialogs.appraisal.rounds import Invitee, direct_chats
from dialogs.appraisal.tables import ClosingNotice, Reminded, Submitted, SurveyRound
from dialogs.appraisal.templates import Template
from store.clock import as_utc
from store.repos import Repositories

DAY_BEFORE = timedelta(days=1)
"""How long before its closing a round is announced."""
PASS_EVERY = 60.0
"""Seconds between passes over the open rounds: reminders are hours apart, and a pass reads
every open round's members, too much for every tick of the scheduler."""


@dataclass
class Reminders:
    services: Services
    policy: ReminderPolicy = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    """One tick at a time (the scheduler's and a test's or an operator's call)."""
    _ran: float | None = field(default=None, init=False)
    """When a pass last looked for what is due (the clock's ``monotonic``)."""

    def __post_init__(self) -> None:
        self.policy = ReminderPolicy.of(self.services.settings.section(AppraisalConfig))

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The reminder worker has no schedules; nothing to run."""

    async def outbox_floor(self) -> None:
        """It reads no outbox row back."""

    async def tick(self) -> None:
        """Forget the reminders of those who submitted; outside the quiet hours, announce the
        closings due and send the reminders due."""
        async with self._lock:
            await self._tick()

    async def _tick(self) -> None:
        clock = self.services.clock
        if self._ran is not None and clock.monotonic() - self._ran < PASS_EVERY:
            return
        moment = clock.now()
        async with self.services.db.session() as session:
            await _forget_finished(session)
        if self.policy.quiet(moment, self.services.settings.timezone):
            return
        self._ran = clock.monotonic()
        budget = self.policy.chunk
        async with self.services.db.session() as session:
            repos = Repositories(session)
            rows: list[Row] = []
            for row in await repos.get(Appraisal).open_rounds():
                template = await self._template(repos, row)
                rows += await self._closing(repos, row, template, moment)
                if budget > 0:
                    sent = await self._remind(repos, row, template, moment, budget)
                    budget -= len(sent)
                    rows += sent
            queued = await enqueue(repos, rows)
        hand_over(self.services.deliver, queued)

    async def _template(self, repos: Repositories, row: RoundRow) -> Template | None:
        stored = await repos.get(Appraisal).template_by_id(row.template_id)
        return template_of(stored) if stored else None

    async def _waiting(self, repos: Repositories, row: RoundRow) -> list[int]:
        """Those who have not submitted."""
        store = repos.get(Appraisal)
        return [m.id for b in row.branch_ids for m in await store.not_submitted(row.number, b)]

    async def _chats(self, repos: Repositories, members: list[int]) -> list[Invitee]:
        """Their direct chats, where the bot may write."""
        capabilities = self.services.capabilities
        return await direct_chats(
            repos.session, members, lambda platform: capabilities(platform).can_open_dm
        )

    def _message(
        self, person: Invitee, row: RoundRow, template: Template | None, closing: bool
    ) -> Row:
        assert person.address is not None
        settings = self.services.settings
        language = translator(person.locale, settings.default_locale)
        title = _title(template, row, language.locale)
        if closing:
            text = language(
                _(
                    "⏳ Survey {number}, **{title}**, closes {closes}, in less than a day, and "
                    "your answers are not in yet. Start with the button, or send "
                    "/survey answer {number}."
                ),
                number=row.label,
                title=title,
                closes=language.moment(as_utc(row.closes_at), settings.timezone),
            )
        else:
            text = reminder(language, row, title, settings.timezone)
        message = Outgoing(text, tuple(tuple(line) for line in start_button(language, row)))
        return Row(person.address, payload(message, person.locale))

    async def _closing(
        self, repos: Repositories, row: RoundRow, template: Template | None, moment: datetime
    ) -> list[Row]:
        """The day before the closing (of a round open longer than that), once: those who
        have not submitted, and each bound room of the round's branches."""
        closes = as_utc(row.closes_at)
        if moment < closes - DAY_BEFORE or as_utc(row.opened_at) > closes - DAY_BEFORE:
            return []
        session = repos.session
        if await session.get(ClosingNotice, row.number) is not None:
            return []
        session.add(ClosingNotice(round_id=row.number, announced_at=moment))
        rows: list[Row] = []
        for person in await self._chats(repos, await self._waiting(repos, row)):
            if person.address is not None:
                rows.append(self._message(person, row, template, closing=True))
                await record_reminder(session, row.number, person.member_id, moment)
        settings = self.services.settings
        languages = await repos.branches.locales(row.branch_ids)
        for branch_id in row.branch_ids:
            locale = languages.get(branch_id)
            language = translator(locale, settings.default_locale)
            text = language(
                _(
                    "⏳ Survey {number}, **{title}**, closes {closes}. Whoever has not answered "
                    "yet: the invitation is in your direct chat with the bot."
                ),
                number=row.label,
                title=_title(template, row, language.locale),
                closes=language.moment(closes, settings.timezone),
            )
            for room in await repos.rooms.of_branch(branch_id):
                address = Address(room.platform, room.chat_id, False, None)
                place = ANSWER_AT.format(row.number)
                rows.append(Row(address, payload(Outgoing(text, answer_at=(place,)), locale)))
        await session.flush()
        return rows

    async def _remind(
        self,
        repos: Repositories,
        row: RoundRow,
        template: Template | None,
        moment: datetime,
        budget: int,
    ) -> list[Row]:
        """The reminders due in this round, at most ``budget``; an unreachable member's turn
        is counted too (the status view names them), so they do not hold up the others."""
        session = repos.session
        waiting = await self._waiting(repos, row)
        counts: dict[int, Reminded] = {
            r.member_id: r
            for r in await session.scalars(select(Reminded).where(Reminded.round_id == row.number))
        }
        opened = as_utc(row.opened_at)

        def sent(member_id: int) -> int:
            known = counts.get(member_id)
            return known.sent if known else 0

        def since(member_id: int) -> datetime:
            known = counts.get(member_id)
            return as_utc(known.last_at) if known else opened

        due = self.policy.due(sorted(waiting), moment, sent, since)[:budget]
        rows: list[Row] = []
        for person in await self._chats(repos, due) if due else []:
            if person.address is not None:
                rows.append(self._message(person, row, template, closing=False))
            await record_reminder(session, row.number, person.member_id, moment, counted=True)
        return rows


def _title(template: Template | None, row: RoundRow, locale: str) -> str:
    return template.title.get(locale) if template else row.label


async def _forget_finished(session: AsyncSession) -> None:
    """Reminder rows of members who have submitted, and of closed rounds, are deleted."""
    submitted = exists().where(
        Submitted.round_id == Reminded.round_id, Submitted.member_id == Reminded.member_id
    )
    closed = select(SurveyRound.id).where(SurveyRound.closed_at.is_not(None))
    finished = or_(submitted, Reminded.round_id.in_(closed))
    # Look first: a DELETE would take SQLite's write lock on every pass, even to delete nothing.
    if await session.scalar(select(Reminded.round_id).where(finished).limit(1)) is not None:
        await session.execute(delete(Reminded).where(finished))
