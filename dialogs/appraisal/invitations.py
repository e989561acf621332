"""The invitation worker: sends a round's invitations, then its room notices, then the
opener's report, the way broadcasts fan out (``dialogs.broadcast.fanout``).

``/survey open`` only fixes who may answer and writes one ``appraisal_invitations`` row, so a
round over thousands of members never holds up other people's events. This worker takes it
from there in small transactions: each chunk of invitations is queued in the outbox together
with the row's progress marker (the highest member id invited), so a crash between two chunks
resumes after the last one committed, inviting nobody twice and missing nobody. The room notices
and the report to the opener (who could not be reached, and why) are queued with the row's
deletion, after every invitation.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.feature import Services
from bot.i18n import Translator, _, _n, translator
from bot.markup import Markup
from bot.messages import Address, Outgoing
from bot.outbox import Row, enqueue, hand_over, payload
from bot.timetable import Timetable
from dialogs.appraisal.common import ANSWER_AT, template_of
from dialogs.appraisal.progress import start_button
from dialogs.appraisal.repository import Appraisal, RoundRow
from dialogs.appraisal.rounds import Invitee, direct_chats
from dialogs.appraisal.tables import Eligible, Inviting
from dialogs.appraisal.templates import Template
from store.clock import as_utc
from store.repos import Repositories

log = logging.getLogger(__name__)

CHUNK = 500
"""Invitations queued per transaction."""


@dataclass
class Invitations:
    services: Services
    chunk: int = CHUNK
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    """One tick at a time (the scheduler's and a test's call): two would queue a chunk twice."""

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """The invitation worker has no schedules; nothing to run."""

    async def outbox_floor(self) -> None:
        """It reads no outbox row back."""

    async def tick(self) -> None:
        """Send on the invitations of every round whose invitations are not all out."""
        async with self._lock:
            async with self.services.db.session() as session:
                numbers = list(
                    await session.scalars(select(Inviting.round_id).order_by(Inviting.round_id))
                )
            for number in numbers:
                try:
                    done = False
                    while not done:  # each step commits: events and delivery run in between
                        done = await self._step(number)
                except Exception:
                    log.exception("survey R%d: the invitations will go on at the next tick", number)

    async def _step(self, number: int) -> bool:
        """Queue the next chunk of invitations, or, when none is left, the room notices and
        the report; True once the round is done."""
        async with self.services.db.session() as session:
            repos = Repositories(session)
            inviting = await session.get(Inviting, number)
            row = await repos.get(Appraisal).round(number)
            if inviting is None or row is None:
                return True
            stored = await repos.get(Appraisal).template_by_id(row.template_id)
            template = template_of(stored) if stored else None
            members = list(
                await session.scalars(
                    select(Eligible.member_id)
                    .where(Eligible.round_id == number)
                    .where(Eligible.member_id > inviting.last_member_id)
                    .order_by(Eligible.member_id)
                    .limit(self.chunk)
                )
            )
            if members:
                rows = await self._invite(repos, inviting, row, template, members)
                done = False
            else:
                rows = await self._notices(repos, row, template)
                rows.append(self._report(inviting, row, rooms=len(rows)))
                await session.delete(inviting)
                done = True
            queued = await enqueue(repos, rows)
        hand_over(self.services.deliver, queued)
        return done

    async def _invite(
        self,
        repos: Repositories,
        inviting: Inviting,
        row: RoundRow,
        template: Template | None,
        members: list[int],
    ) -> list[Row]:
        """One chunk's invitations, and the marker moved past it (same transaction)."""
        capabilities = self.services.capabilities
        people = await direct_chats(
            repos.session, members, lambda platform: capabilities(platform).can_open_dm
        )
        inviting.last_member_id = members[-1]
        inviting.invited += len(people)
        missing = [[p.name, p.reason or ""] for p in people if p.address is None]
        if missing:
            inviting.unreachable = [*inviting.unreachable, *missing]
        return [self._invitation(row, template, p) for p in people if p.address is not None]

    def _invitation(self, row: RoundRow, template: Template | None, person: Invitee) -> Row:
        assert person.address is not None
        settings = self.services.settings
        language = translator(person.locale, settings.default_locale)
        text = language(
            _(
                "**{title}**\nYou are invited to answer survey {number}, open until {closes}. "
                "Your answers are kept without your name: /privacy says who sees what. "
                "Start with the button, or send /survey answer {number}."
            ),
            title=_title(template, row, language),
            number=row.label,
            closes=language.moment(as_utc(row.closes_at), settings.timezone),
        )
        message = Outgoing(text, tuple(tuple(line) for line in start_button(language, row)))
        return Row(person.address, payload(message, person.locale))

    async def _notices(
        self, repos: Repositories, row: RoundRow, template: Template | None
    ) -> list[Row]:
        """A notice in each bound room of the round's branches, in the room's language."""
        settings = self.services.settings
        languages = await repos.branches.locales(row.branch_ids)
        rows: list[Row] = []
        for branch_id in row.branch_ids:
            locale = languages.get(branch_id)
            language = translator(locale, settings.default_locale)
            text = language(
                _(
                    "📋 Survey {number}, **{title}**, is open until {closes}. Each member has an "
                    "invitation in their direct chat with the bot; answers are anonymous."
                ),
                number=row.label,
                title=_title(template, row, language),
                closes=language.moment(as_utc(row.closes_at), settings.timezone),
            )
            for room in await repos.rooms.of_branch(branch_id):
                address = Address(room.platform, room.chat_id, False, None)
                place = ANSWER_AT.format(row.number)
                rows.append(Row(address, payload(Outgoing(text, answer_at=(place,)), locale)))
        return rows

    def _report(self, inviting: Inviting, row: RoundRow, rooms: int) -> Row:
        """To the opener: how many were invited, the rooms told, who could not be reached."""
        settings = self.services.settings
        to = inviting.report_to
        t = translator(to.get("locale"), settings.default_locale)
        closes = t.moment(as_utc(row.closes_at), settings.timezone)
        lines = [
            t(_("Survey {number} is open until {closes}."), number=row.label, closes=closes),
            t(
                _n("{count} member is invited.", "{count} members are invited."),
                count=inviting.invited,
            ),
            t(_n("A notice went to {count} room.", "A notice went to {count} rooms."), count=rooms),
        ]
        if inviting.unreachable:
            lines.append(t(_("Not reachable in a direct chat:")))
            lines += [
                Markup.format("• {name}: {reason}", name=name, reason=t.text(reason))
                for name, reason in inviting.unreachable
            ]
        address = Address(to["platform"], to["chat_id"], to["direct"], to["user_id"])
        return Row(address, payload(Outgoing(Markup.join(lines)), to.get("locale")))


def _title(template: Template | None, row: RoundRow, language: Translator) -> str:
    return template.title.get(language.locale) if template else row.label
