"""The bank worker: reads the bank files people sent in a chat, outside the engine's batch.

The file handler (``bank_files``) only stores the file as a job row in the event's
transaction and says it was received. This worker (a scheduler source, like the broadcast
fan-out) takes one job at a time: the file is parsed in a child process with hard CPU, memory
and wall-clock limits (``store.banks.sandbox``), so a slow or hostile file delays nobody's
messages and cannot take the bot's memory; then the import, the job's end and the answer's
outbox row are committed together, and the answer handed to delivery. A crash before that
commit leaves the job waiting: it is read again after the restart, at most
``MAX_ATTEMPTS`` times.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.i18n import Translator, _, _n, translator
from bot.markup import Markup
from bot.messages import Address, Outgoing
from bot.outbox import Row, enqueue, hand_over, payload
from bot.timetable import Timetable
from store.bank_jobs import BankJobs, Claimed
from store.banks import LIMITS, Bank, Limits
from store.banks.model import shown
from store.banks.sandbox import parse_isolated
from store.db import Database
from store.learning import Imported, Learning
from store.repos import Repositories
from store.runtime import PendingMessage

log = logging.getLogger(__name__)

ERRORS_SHOWN = 10
MAX_ATTEMPTS = 3


def problems(t: Translator, name: str, bank: Bank) -> list[Markup]:
    """The first problems of a file, and how many more there are."""
    lines = [
        t(
            _n("{name} has {count} problem:", "{name} has {count} problems:"),
            len(bank.errors),
            name=name,
        )
    ]
    lines += [Markup.format("• {error}", error=shown(str(e))) for e in bank.errors[:ERRORS_SHOWN]]
    if len(bank.errors) > ERRORS_SHOWN:
        lines.append(t(_("… and {count} more."), count=len(bank.errors) - ERRORS_SHOWN))
    return lines


def imported(t: Translator, bank: Bank, done: Imported) -> list[Markup]:
    counts = [
        t(_n("{count} new question", "{count} new questions"), done.added),
        t(_n("{count} updated", "{count} updated"), done.updated),
        t(_n("{count} level", "{count} levels"), done.levels),
        t(_n("{count} lesson", "{count} lessons"), done.lessons),
    ]
    lines = [
        t(_("Bank **{bank}** imported: {counts}"), bank=bank.name, counts=t.join(counts).plain())
    ]
    if done.missing:
        lines.append(
            t(
                _n(
                    "{count} question of this bank is not in the file; it was kept.",
                    "{count} questions of this bank are not in the file; they were kept.",
                ),
                done.missing,
            )
        )
    return lines


@dataclass
class BankImports:
    """A ``ScheduleSource`` with no schedules: only its ``tick`` works."""

    db: Database
    deliver: Callable[[list[PendingMessage]], None]
    default_locale: str
    limits: Limits = field(default=LIMITS)

    async def timetables(self) -> list[Timetable]:
        return []

    async def run(self, schedule_id: int) -> None:
        """Bank imports are never scheduled; nothing to run."""

    async def outbox_floor(self) -> None:
        """A bank import reads no outbox row once its answer is queued."""

    async def tick(self) -> None:
        """Read every waiting file, one after the other."""
        while True:
            async with self.db.session() as session:
                job = await Repositories(session).get(BankJobs).claim()
            if job is None:
                return
            await self.read(job)

    async def read(self, job: Claimed) -> None:
        upload = job.upload
        t = translator(upload.locale, self.default_locale)
        name = upload.file_name
        if job.attempts > MAX_ATTEMPTS:
            log.error("bank file %d (%s) given up after %d attempts", job.id, name, job.attempts)
            await self._answer(job, "failed", [t(_("{name} could not be read."), name=name)])
            return
        bank = await parse_isolated(name, upload.data, None, self.limits)
        lines: list[Markup] = []
        if bank.errors:
            lines += problems(t, name, bank)
            if not bank.readable:
                lines.append(t(_("Nothing could be read from this file, so nothing was imported.")))
                await self._answer(job, "failed", lines)
                return
            if not upload.skip_bad:
                lines.append(
                    t(
                        _(
                            "Nothing was imported. Fix the file and send it again, or send it "
                            "with the caption `skip-bad` to import the good questions only."
                        )
                    )
                )
                await self._answer(job, "failed", lines)
                return
        elif not bank.readable:
            lines.append(t(_("{name} has no questions, levels or lessons."), name=name))
            await self._answer(job, "failed", lines)
            return
        if (bank.levels or bank.lessons) and not upload.admin:
            # Levels and lessons are the whole organisation's; a branch secretary adds questions.
            lines.append(
                t(
                    _(
                        "Levels and lessons apply to the whole organisation, so only admins can "
                        "import them; the ones in {name} were left out."
                    ),
                    name=name,
                )
            )
            bank.levels, bank.lessons = [], []
        await self._answer(job, "done", lines, bank)

    async def _answer(
        self, job: Claimed, status: str, lines: list[Markup], bank: Bank | None = None
    ) -> None:
        """Import (when there is a bank), end the job and queue the answer, in one commit."""
        upload = job.upload
        async with self.db.session() as session:
            repos = Repositories(session)
            if bank is not None:
                done = await repos.get(Learning).import_bank(bank, upload.branch_id)
                t = translator(upload.locale, self.default_locale)
                lines = [*lines, *imported(t, bank, done)]
            await repos.get(BankJobs).finish(job.id, status)
            address = Address(upload.platform, upload.chat_id, True, upload.user_id)
            answer = payload(Outgoing(Markup.join(lines)), upload.locale)
            queued = await enqueue(repos, [Row(address, answer)])
        hand_over(self.deliver, queued)
