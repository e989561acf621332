"""The watch worker: warns a branch's secretaries before a deadline and when it passes with
no report, reminds task owners before a task's deadline and tells them (and the
secretaries) when it passes, sends the admins the week's red items, and the monthly branch
report on the first working day of each month.

Each message is recorded once by what it is about (``sup_notices``) in the transaction that
queues it, so a restart sends nothing twice and forgets nothing that is still due. Nothing
goes out in the quiet hours; what waited goes out after them. A pass sends at most the
policy's chunk of messages and renders at most ``REPORTS_PER_PASS`` report charts (in a
thread), so a month start with 500 branches is spread over a few passes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.feature import Services
from bot.i18n import Translator, _, translator
from bot.markup import Markup
from bot.messages import Image
from bot.outbox import enqueue, hand_over
from bot.recipients import Note, Reader, admin_ids, readers, rows, secretary_ids
from bot.reminders import ReminderPolicy
from bot.timetable import Timetable
from bot.workdays import WorkCalendar
from dialogs.supervision.board import Board, board
from dialogs.supervision.common import TASK, day_of
from dialogs.supervision.config import WEEKDAYS, SupervisionConfig
from dialogs.supervision.indicators import Colour
from dialogs.supervision.monthly import chart, month_report, previous_month, text
from dialogs.supervision.periods import closes, in_view
from dialogs.supervision.repository import Supervision
from dialogs.supervision.tables import Task
from dialogs.supervision.views import summary
from store.models import Branch
from store.repos import Repositories

log = logging.getLogger(__name__)

PASS_EVERY = 60.0
"""Seconds between passes (deadlines are days apart)."""
REPORTS_PER_PASS = 20


@dataclass
class Watch:
    services: Services
    config: SupervisionConfig = field(init=False)
    policy: ReminderPolicy = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _ran: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.config = self.services.settings.section(SupervisionConfig)
        self.policy = ReminderPolicy.of(self.config)

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The watch has no schedules of its own; its notices are keyed rows."""

    async def outbox_floor(self) -> None:
        """It reads no outbox row."""

    async def tick(self) -> None:
        clock = self.services.clock
        if self._ran is not None and clock.monotonic() - self._ran < PASS_EVERY:
            return
        self._ran = clock.monotonic()
        await self.check()

    async def check(self) -> None:
        """One pass (tests call it after moving the clock)."""
        async with self._lock:
            await self._check()

    async def _check(self) -> None:
        moment = self.services.clock.now()
        if self.policy.quiet(moment, self.services.settings.timezone):
            return
        day = day_of(self.services.clock, self.services.settings)
        async with self.services.db.session() as session:
            repos = Repositories(session)
            budget = [self.policy.chunk]
            notes = await self._deadlines(repos, day, budget)
            notes += await self._tasks(repos, day, budget)
            notes += await self._weekly(repos, day, moment)
            notes += await self._monthly(repos, day, moment)
            queued = await enqueue(repos, rows(notes))
        hand_over(self.services.deliver, queued)

    # -- whom -------------------------------------------------------------------------------

    def _may_open(self, platform: str) -> bool:
        return self.services.capabilities(platform).can_open_dm

    def _language(self, reader: Reader) -> Translator:
        return translator(reader.locale, self.services.settings.default_locale)

    async def _secretaries(
        self, repos: Repositories, branch_ids: list[int]
    ) -> dict[int, list[Reader]]:
        found = await secretary_ids(repos.session, branch_ids)
        people = {
            r.member_id: r
            for r in await readers(
                repos.session, {m for ms in found.values() for m in ms}, self._may_open
            )
        }
        return {b: [people[m] for m in ms if m in people] for b, ms in found.items()}

    # -- deadlines --------------------------------------------------------------------------

    async def _deadlines(self, repos: Repositories, day: date, budget: list[int]) -> list[Note]:
        supervision = repos.get(Supervision)
        branches = {b.id: b.name for b in await repos.branches.all()}
        if not branches:
            return []
        wanted: dict[str, tuple[int, int, str, str]] = {}
        actives = {a.id: a for a in await supervision.indicators()}
        periods = {}
        for active in actives.values():
            upcoming, passed = in_view(active.indicator, day, active.starts_on)
            if upcoming is not None and (upcoming.due - day).days <= self.config.warn_before_days:
                periods[(active.id, upcoming.key)] = ("before", upcoming)
            if passed is not None and day <= closes(passed, self.config.late_days):
                periods[(active.id, passed.key)] = ("after", passed)
        if not periods:
            return []
        reports = await supervision.current(None, {key for _id, key in periods})
        for (indicator_id, key), (kind, _period) in periods.items():
            for branch_id in branches:
                if (indicator_id, branch_id, key) not in reports:
                    notice = f"{kind}:{indicator_id}:{branch_id}:{key}"
                    wanted[notice] = (indicator_id, branch_id, key, kind)
        unsent = sorted(await supervision.unsent(list(wanted)))[: budget[0]]
        unsent = sorted(await supervision.claim(unsent))
        if not unsent:
            return []
        people = await self._secretaries(repos, sorted({wanted[k][1] for k in unsent}))
        notes: list[Note] = []
        for notice in unsent:
            indicator_id, branch_id, key, kind = wanted[notice]
            _kind, period = periods[(indicator_id, key)]
            indicator = actives[indicator_id].indicator
            for reader in people.get(branch_id, []):
                language = self._language(reader)
                template = (
                    _(
                        "⏰ {branch}: **{title}** ({period}) is due {due}, and no report has come "
                        "yet. Send /report when it is done."
                    )
                    if kind == "before"
                    else _(
                        "🔴 {branch}: **{title}** ({period}) was due {due} and has no report. It "
                        "is red on the board; /report still takes it, marked late, until {closes}."
                    )
                )
                text_ = language(
                    template,
                    branch=branches[branch_id],
                    title=indicator.title.get(language.locale),
                    period=period.label(language.locale),
                    due=language.day(period.due),
                    closes=language.day(closes(period, self.config.late_days)),
                )
                notes.append(Note(reader, text_))
        budget[0] -= len(unsent)
        return notes

    # -- tasks ------------------------------------------------------------------------------

    async def _tasks(self, repos: Repositories, day: date, budget: list[int]) -> list[Note]:
        if budget[0] <= 0:
            return []
        supervision = repos.get(Supervision)
        tasks = await supervision.open_tasks(day + timedelta(days=self.config.task_remind_days))
        notes: list[Note] = []
        for task in tasks[: budget[0]]:
            if task.due >= day and not task.reminded & 1:
                task.reminded |= 1
                notes += await self._task_notes(repos, task, day, overdue=False)
            elif task.due < day and not task.reminded & 2:
                task.reminded |= 3
                notes += await self._task_notes(repos, task, day, overdue=True)
        budget[0] -= len(notes)
        return notes

    async def _task_notes(
        self, repos: Repositories, task: Task, day: date, *, overdue: bool
    ) -> list[Note]:
        owners = await readers(
            repos.session, [task.owner_id] if task.owner_id else [], self._may_open
        )
        people = list(owners)
        if overdue:
            known = {r.member_id for r in people}
            people += [
                r
                for r in (await self._secretaries(repos, [task.branch_id])).get(task.branch_id, [])
                if r.member_id not in known
            ]
        branch = await repos.session.get(Branch, task.branch_id)
        notes = []
        for reader in people:
            language = self._language(reader)
            template = (
                _(
                    "⚠️ Task {number} ({branch}) is overdue: {title}, due {due}. "
                    "/task done {number} when it is done."
                )
                if overdue
                else _(
                    "⏰ Task {number} ({branch}) is due {due}: {title}. "
                    "/task done {number} when it is done."
                )
            )
            notes.append(
                Note(
                    reader,
                    language(
                        template,
                        number=TASK.format(task.id),
                        branch=branch.name if branch else "",
                        title=task.title,
                        due=language.day(task.due),
                    ),
                )
            )
        return notes

    # -- the weekly summary -----------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.services.settings.timezone))

    async def _weekly(self, repos: Repositories, day: date, moment: datetime) -> list[Note]:
        if not self.config.weekly_summary:
            return []
        weekday, _space, at = self.config.weekly_summary.partition(" ")
        local = self._local(moment)
        if local.weekday() != WEEKDAYS.index(weekday) or local.time() < _time(at):
            return []
        year, week, _weekday = day.isocalendar()
        key = f"weekly:{year}-W{week:02d}"
        supervision = repos.get(Supervision)
        if not await supervision.claim([key]):
            return []
        shown = await board(repos, self.config, day)
        if not shown.indicators or not shown.count(Colour.RED):
            return []
        red = Board(
            shown.day, shown.indicators, tuple(r for r in shown.rows if r.colour == Colour.RED)
        )
        notes = []
        for reader in await readers(
            repos.session, await admin_ids(repos, self.services.settings), self._may_open
        ):
            language = self._language(reader)
            heading = language(
                _("📋 This week's red items, {count} branches:"), count=len(red.rows)
            )
            notes.append(Note(reader, Markup.join([heading, summary(language, red)])))
        return notes

    # -- the monthly report -----------------------------------------------------------------

    async def _monthly(self, repos: Repositories, day: date, moment: datetime) -> list[Note]:
        calendar = WorkCalendar(self.services.settings.days_off)
        first = calendar.first_working_day(day.year, day.month)
        if day < first or (
            day == first and self._local(moment).time() < _time(self.config.monthly_report_at)
        ):
            return []
        month = previous_month(day)
        supervision = repos.get(Supervision)
        if not await supervision.indicators():
            return []
        stamp = month.strftime("%Y-%m")
        branches = {b.id: b.name for b in await repos.branches.all()}
        keys = {f"monthly:{stamp}:{b}": b for b in branches} | {f"monthly:{stamp}:all": 0}
        unsent = sorted(await supervision.unsent(list(keys)))[:REPORTS_PER_PASS]
        unsent = sorted(await supervision.claim(unsent))
        if not unsent:
            return []
        settings = self.services.settings
        notes: list[Note] = []
        people = await self._secretaries(repos, [keys[k] for k in unsent if keys[k]])
        admins = await readers(repos.session, await admin_ids(repos, settings), self._may_open)
        for key in unsent:
            branch_id = keys[key]
            audience = people.get(branch_id, []) if branch_id else admins
            by_locale: dict[str, list[Reader]] = {}
            for reader in audience:
                by_locale.setdefault(self._language(reader).locale, []).append(reader)
            for locale, group in by_locale.items():
                language = translator(locale, settings.default_locale)
                report = await month_report(
                    repos, settings, month, [branch_id] if branch_id else None, locale
                )
                title = (
                    language.text(_("Monthly report of {branch}")).format(
                        branch=branches[branch_id]
                    )
                    if branch_id
                    else language.text(_("Monthly report of the organisation"))
                )
                data = await asyncio.to_thread(chart, language, report, title)
                body = text(language, report, title)
                notes += [Note(reader, body, image=Image("image/png", data)) for reader in group]
        return notes


def _time(at: str) -> time:
    hour, _colon, minute = at.partition(":")
    return time(int(hour), int(minute))
