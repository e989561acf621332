"""The deadline worker: releases anonymous writers' steps at their slot, reminds secretaries
before a deadline, escalates to the admins after it, closes answered letters their writer
left alone, and drops the images of drafts never sent.

Everything it decides is read from the letters' rows (their dates, the ``reminded`` bits,
``escalations`` and ``escalated_at``), so a restart loses no reminder and sends none twice.
No reminder or escalation goes out in the quiet hours; the release does (it is a letter, not
a reminder, and waiting would hold it for the night).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.feature import Services
from bot.i18n import _, translator
from bot.markup import Markup
from bot.outbox import enqueue, hand_over
from bot.recipients import Note, Reader, admin_ids, readers, rows
from bot.reminders import ReminderPolicy
from bot.timetable import Timetable
from bot.workdays import WorkCalendar
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.posts import case, heading, letter_notes, secretaries, tag_of, writer
from dialogs.mailbox.relay import Relay, relay_of
from dialogs.mailbox.repository import Mailbox, overdue
from dialogs.mailbox.tables import Entry, Letter
from store.clock import as_utc
from store.repos import Repositories

log = logging.getLogger(__name__)

PASS_EVERY = 60.0
"""Seconds between passes over the open letters (deadlines are days apart)."""
RELEASE_CHUNK = 200
ANSWER_BIT, RESOLVE_BIT = 1, 2

STEP = {
    "follow_up": _("📮 **{case}**: a follow-up from its writer:"),
    "closed": _("📮 **{case}** was closed by its writer."),
    "reopened": _("📮 **{case}** was reopened by its writer."),
    "rated": _("📮 **{case}**: its writer rated the answer {stars} of 5."),
}


@dataclass
class Deadlines:
    services: Services
    config: MailboxConfig = field(init=False)
    policy: ReminderPolicy = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _ran: float | None = field(default=None, init=False)
    _released: int | None = field(default=None, init=False)
    """The last release slot passed (``None`` after a start: release at once)."""

    def __post_init__(self) -> None:
        self.config = self.services.settings.section(MailboxConfig)
        self.policy = ReminderPolicy.of(self.config)

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The deadline worker has no schedules; nothing to run."""

    async def outbox_floor(self) -> None:
        """It keeps no outbox row from the retention: a platform reply to a letter's message
        older than ``delivery.retention_days`` is answered as any other message, and
        ``/reply <case>`` (written under every letter) still works."""

    async def tick(self) -> None:
        async with self._lock:
            await self._release()
            clock = self.services.clock
            if self._ran is not None and clock.monotonic() - self._ran < PASS_EVERY:
                return
            self._ran = clock.monotonic()
            await self._pass()

    # -- release ----------------------------------------------------------------------------

    async def _release(self) -> None:
        span = self.config.release_minutes * 60
        slot = int(self.services.clock.now().timestamp() // span)
        if self._released is not None and slot <= self._released:
            return
        self._released = slot
        while True:
            async with self.services.db.session() as session:
                repos = Repositories(session)
                entries = await repos.get(Mailbox).unposted(RELEASE_CHUNK)
                notes: list[Note] = []
                for entry in entries:
                    notes += await self._step_notes(repos, entry)
                    entry.posted = True
                queued = await enqueue(repos, rows(notes))
            hand_over(self.services.deliver, queued)
            if len(entries) < RELEASE_CHUNK:
                return

    async def _step_notes(self, repos: Repositories, entry: Entry) -> list[Note]:
        mailbox = repos.get(Mailbox)
        letter = await mailbox.by_id(entry.letter_id)
        if letter is None:
            return []
        people = await secretaries(repos, self.services.settings, letter, self._may_open)
        if entry.kind == "letter":
            letter.released = True
            return await letter_notes(
                repos,
                letter,
                entry.text,
                people,
                self.services.settings,
                self._today(),
            )
        template = STEP.get(entry.kind)
        if template is None:
            return []
        notes = []
        for reader in people:
            language = translator(reader.locale, self.services.settings.default_locale)
            parts = [language(template, case=case(letter), stars=entry.detail.get("stars", ""))]
            if entry.text:
                parts.append(Markup.literal(entry.text))
            notes.append(Note(reader, Markup.join(parts, "\n\n"), tag=tag_of(letter)))
        return notes

    # -- reminders, escalation, auto-close ---------------------------------------------------

    async def _pass(self) -> None:
        moment, day = self.services.clock.now(), self._today()
        quiet = self.policy.quiet(moment, self.services.settings.timezone)
        calendar = WorkCalendar([*self.services.settings.days_off, *self.config.days_off])
        async with self.services.db.session() as session:
            repos = Repositories(session)
            mailbox = repos.get(Mailbox)
            notes: list[Note] = []
            budget = self.policy.chunk
            for letter in await mailbox.open_letters(None):
                if (
                    letter.status == "answered"
                    and (day - letter.last_step_on).days >= self.config.reopen_days
                ):
                    notes += await self._auto_close(repos, letter, day)
                    continue
                if quiet or budget <= 0:
                    continue
                found = await self._remind(repos, letter, day, calendar) + await self._escalate(
                    repos, letter, day, moment, calendar
                )
                budget -= len(found)
                notes += found
            await mailbox.prune_drafts(day - timedelta(days=2))
            await mailbox.prune_quota(day)
            queued = await enqueue(repos, rows(notes))
        hand_over(self.services.deliver, queued)

    async def _remind(
        self, repos: Repositories, letter: Letter, day: date, calendar: WorkCalendar
    ) -> list[Note]:
        if letter.answered_on is None:
            bit, due, template = (
                ANSWER_BIT,
                letter.answer_due,
                _("⏰ **{case}** needs its first answer by {due} (working days left: {left})."),
            )
        elif letter.status in ("new", "reopened"):
            bit, due, template = (
                RESOLVE_BIT,
                letter.resolve_due,
                _("⏰ **{case}** must be resolved by {due} (working days left: {left})."),
            )
        else:
            return []
        if letter.reminded & bit or day > due:
            return []
        left = calendar.between(day, due)
        if left > self.config.remind_before_days:
            return []
        letter.reminded |= bit
        people = await secretaries(repos, self.services.settings, letter, self._may_open)
        return self._notes(people, letter, template, day, calendar, due=due, left=left)

    async def _escalate(
        self,
        repos: Repositories,
        letter: Letter,
        day: date,
        moment: datetime,
        calendar: WorkCalendar,
    ) -> list[Note]:
        if not overdue(letter, day) or letter.escalations >= max(1, self.policy.reminder_max):
            return []
        if letter.escalated_at is not None and as_utc(letter.escalated_at) > self.policy.cutoff(
            moment
        ):
            return []
        if letter.escalations == 0:
            await repos.get(Mailbox).add_entry(letter, "overdue", "system", None, today=day)
        letter.escalations += 1
        letter.escalated_at = moment
        admins = await readers(
            repos.session, await admin_ids(repos, self.services.settings), self._may_open
        )
        due = letter.answer_due if letter.answered_on is None else letter.resolve_due
        template = _(
            "⚠️ **{case}** is overdue: it was due {due}. /mail show {case} shows its thread."
        )
        return self._notes(admins, letter, template, day, calendar, due=due, left=0)

    async def _auto_close(self, repos: Repositories, letter: Letter, day: date) -> list[Note]:
        await repos.get(Mailbox).add_entry(letter, "auto_closed", "system", None, today=day)
        letter.status, letter.closed_on, letter.last_step_on = "closed", day, day
        reader = await writer(repos, letter, self._relay, self._may_open)
        if reader is None:
            return []
        language = translator(reader.locale, self.services.settings.default_locale)
        text = language(
            _(
                "📮 **{case}** is closed: there was no reply to its answer for {days} days. You "
                "can reopen it within {days} days: `/mail reopen {case}`."
            ),
            case=case(letter),
            days=self.config.reopen_days,
        )
        hidden = letter.anonymous
        return [Note(reader, text, tag=None if hidden else tag_of(letter), vanish=hidden)]

    def _notes(
        self,
        people: list[Reader],
        letter: Letter,
        template: str,
        day: date,
        calendar: WorkCalendar,
        *,
        due: date,
        left: int,
    ) -> list[Note]:
        notes = []
        for reader in people:
            language = translator(reader.locale, self.services.settings.default_locale)
            text = Markup.join(
                [
                    language(template, case=case(letter), due=language.day(due), left=left),
                    heading(language, letter, day, calendar),
                ],
                "\n",
            )
            notes.append(Note(reader, text, tag=tag_of(letter)))
        return notes

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _relay(self) -> Relay:
        return relay_of(self.config)

    def _may_open(self, platform: str) -> bool:
        return self.services.capabilities(platform).can_open_dm

    def _today(self) -> date:
        return (
            self.services.clock.now().astimezone(ZoneInfo(self.services.settings.timezone)).date()
        )
