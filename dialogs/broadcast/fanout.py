"""The fan-out worker: expands broadcasts into recipients and the outbox, reports, reminds,
and runs stored schedules (broadcasts and the digest) when the scheduler fires them.

Nothing here runs inside the engine's transaction: ``/broadcast`` only writes one broadcast
row, and this worker takes it from there in its own small transactions, so a 5,000-recipient
notice never holds up other people's events. Every step is a row state, so a crash resumes:
recipients are written with the broadcast's status change; each chunk of outbox rows is
written with the recipients' link to them; delivery re-queues pending rows on start.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.feature import Services
from bot.i18n import Plural, _, _n, translator
from bot.markup import Markup
from bot.messages import Address, Choice, Outgoing, Refusal
from bot.numbers import NOTICE, SCHEDULE
from bot.outbox import Row, enqueue, hand_over, payload
from bot.reminders import ReminderPolicy
from bot.timetable import Timetable, next_run, parse_when
from dialogs.broadcast.config import BroadcastConfig
from store.broadcast_tables import Broadcast, BroadcastRecipient, BroadcastSchedule
from store.broadcasts import Broadcasts
from store.clock import as_utc
from store.repos import Repositories

log = logging.getLogger(__name__)

CATEGORIES = {
    "notice": _("📢 Notice"),
    "meeting": _("📅 Meeting notice"),
    "public": _("📣 Public notice"),
    "digest": _("🗞 Digest"),
}
NO_DIRECT_CHAT = "no-direct-chat"
REPORT_LINES = 30
MILESTONE_FROM = 200
"""Broadcasts at least this big get a halfway message before the report."""
BIG_PROGRESS_EVERY = 5.0
"""Seconds between progress counts of a big broadcast: the count joins every recipient with
its outbox row, too much work to repeat on every tick for 10,000 of them."""


@dataclass(frozen=True, slots=True)
class BroadcastOptions(ReminderPolicy):
    """The ``broadcast`` config section, as the worker needs it: the reminder policy (its
    ``chunk`` also bounds recipients per transaction) and the digest (the zone and the default
    language are the organisation's: ``Settings``)."""

    digest: str = "weekly mon 09:00"


ANSWER_AT = "notice_{}"
"""The ``/start`` payload of a notice's "received" in a direct chat (``Outgoing.answer_at``):
where a group that cannot take answers links its readers (``acks.opened_from_a_group``)."""


def notice(
    text: Markup, category: str, broadcast_id: int | None, ack: bool, locale: str, default: str
) -> Outgoing:
    """A broadcast as its reader sees it (the preview uses the same function)."""
    t = translator(locale, default)
    body = Markup.join([t(_("**{title}**"), title=t.text(CATEGORIES[category])), text])
    if not ack:
        return Outgoing(body)
    number = NOTICE.format(broadcast_id) if broadcast_id else "…"
    label = t.text(_("✅ Received ({number})")).format(number=number)
    place = (ANSWER_AT.format(broadcast_id),) if broadcast_id else ()
    return Outgoing(body, ((Choice(label, f"ack:{broadcast_id or 0}"),),), answer_at=place)


def stored_notice(broadcast: Broadcast, locale: str, default: str) -> Outgoing:
    """A stored broadcast that asks for "received", as its reader sees it again (a reminder,
    or the place a group's link opens)."""
    return notice(
        Markup.from_json(broadcast.text), broadcast.category, broadcast.id, True, locale, default
    )


def user_text(raw: str) -> Markup:
    """What a person typed, with its markup read and no placeholders."""
    return Markup.format(raw.replace("{", "{{").replace("}", "}}"))


REFUSAL_REASONS = {
    Refusal.BLOCKED: _("has blocked the bot or closed their account"),
    Refusal.FORBIDDEN: _("the bot was removed from the chat or may not write there"),
    Refusal.GONE: _("the chat no longer exists"),
    Refusal.REFUSED: _("the platform refused the message (details in the bot's log)"),
}
"""Each reason an adapter gives for a refusal, as readers of a report see it (the platform's
own words go to the log)."""


FAILED_REASON = _(
    "the message could not be sent, even after several tries (details in the bot's log)"
)
"""Why a destination's message failed: delivery gave it up after errors that were not the
platform's refusal (the error text is for the log, not for the report)."""


def _reason(error: str | None) -> str:
    """The catalog text for why a destination was not reached (the raw detail goes to logs)."""
    if error == NO_DIRECT_CHAT:
        return _(
            "has never written to the bot, and on this platform the bot may not write first: "
            "ask them to open a chat with the bot (on Telegram: press Start)"
        )
    return REFUSAL_REASONS[Refusal.of(error) or Refusal.REFUSED]


class Broadcaster:
    """The broadcast feature's worker: fan-out, reports, reminders, schedules and the digest."""

    def __init__(self, services: Services, config: BroadcastConfig) -> None:
        self.db = services.db
        self.clock = services.clock
        self.deliver = services.deliver
        settings = self.settings = services.settings
        policy = ReminderPolicy.of(config, config.chunk)
        self.options = BroadcastOptions(
            reminder_interval=policy.reminder_interval,
            reminder_max=policy.reminder_max,
            quiet_hours=policy.quiet_hours,
            chunk=policy.chunk,
            digest=config.digest,
        )
        self.can_open_dm = lambda platform: services.capabilities(platform).can_open_dm
        """Whether a platform's bot may write to a person first (its ``Capabilities``)."""
        self.admins = settings.admins
        """The configured admins (``platform:user``); those added at run time are stored."""
        self._digest_checked = False
        self._counted: dict[int, float] = {}

    # -- the scheduler's side -----------------------------------------------------------

    async def timetables(self) -> list[Timetable]:
        """Every active schedule, the digest's among them (created from the config)."""
        async with self.db.session() as session:
            store = Repositories(session).get(Broadcasts)
            if not self._digest_checked:
                await self._ensure_digest(store)
                self._digest_checked = True
            rows = await store.active_schedules()
            return [
                Timetable(
                    r.id,
                    r.cron,
                    as_utc(r.run_at) if r.run_at else None,
                    as_utc(r.last_run_at) if r.last_run_at else None,
                    as_utc(r.created_at),
                )
                for r in rows
            ]

    async def _ensure_digest(self, store: Any) -> None:
        when = parse_when(self.options.digest, self.settings.timezone)
        current = await store.active_schedules("digest")
        if any(s.spec == when.spec for s in current):
            return
        for schedule in current:
            await store.stop_schedule(schedule.id)
        await store.add_schedule(
            kind="digest",
            spec=when.spec,
            cron=when.cron,
            run_at=when.run_at,
            template={},
            created_by=None,
            branch_ids={"all": True},
        )

    async def run(self, schedule_id: int) -> None:
        """Fire a schedule if a slot of it is due and not yet run (so a second firing, a
        restart or a missed run that the scheduler coalesced all lead to one run)."""
        pending: list[Row] = []
        async with self.db.session() as session:
            repos = Repositories(session)
            store = repos.get(Broadcasts)
            schedule = await store.schedule(schedule_id)
            if schedule is None or not schedule.active or not self._due(schedule):
                return
            last = schedule.last_run_at
            if not await store.claim_run(schedule.id, last):
                return
            if schedule.run_at is not None:
                await store.stop_schedule(schedule.id)
            if schedule.kind == "digest":
                await self._digest(repos)
            elif await self._may_still_send(repos, schedule):
                await store.create(
                    schedule_id=schedule.id, **schedule.template, branch_ids=schedule.branch_ids
                )
            else:
                await store.stop_schedule(schedule.id)
                pending = self._stopped(schedule)
                log.warning("schedule %d stopped: its creator lost the rights", schedule_id)
            queued = await enqueue(repos, pending)
        hand_over(self.deliver, queued)
        log.info("schedule %d ran", schedule_id)

    async def _may_still_send(self, repos: Repositories, schedule: BroadcastSchedule) -> bool:
        """The creator must still be an admin, or secretary of every branch the schedule
        targets: a secretary moved off a branch must not keep broadcasting to it."""
        if schedule.created_by is None:
            return True
        rights = await repos.get(Broadcasts).rights(schedule.created_by)
        if rights is None:
            return False
        identities, secretary_of = rights
        stored = set(await repos.people.stored_admins())
        if any(i in self.admins or i in stored for i in identities):
            return True
        targets = schedule.branch_ids.get("ids") or []
        return bool(targets) and not schedule.branch_ids.get("all") and set(targets) <= secretary_of

    def _stopped(self, schedule: BroadcastSchedule) -> list[Row]:
        """Tell the creator, once (the schedule is stopped), why nothing went out."""
        report_to = schedule.template.get("report_to") or {}
        if not report_to:
            return []
        t = translator(report_to.get("locale"), self.settings.default_locale)
        text = t(
            _(
                "Scheduled notice {number} was not sent and is stopped: you no longer manage "
                "all of its branches. Schedule it again if it should go on."
            ),
            number=SCHEDULE.format(schedule.id),
        )
        return [self._row(report_to, text)]

    def _due(self, schedule: BroadcastSchedule) -> bool:
        moment = self.clock.now() + timedelta(seconds=1)
        if schedule.run_at is not None:
            return schedule.last_run_at is None and as_utc(schedule.run_at) <= moment
        if schedule.cron is None:
            return False
        after = as_utc(schedule.last_run_at or schedule.created_at)
        slot = next_run(schedule.cron, self.settings.timezone, after)
        return slot is not None and slot <= moment

    # -- the digest ---------------------------------------------------------------------

    async def _digest(self, repos: Repositories) -> None:
        store = repos.get(Broadcasts)
        items = await store.queued_digest()
        if not items:
            return
        names = await store.branch_names()
        shared = [i for i in items if i.branch_id is None]
        targets = set(names) if shared else {i.branch_id for i in items if i.branch_id}
        first: int | None = None
        for branch_id in sorted(b for b in targets if b is not None):
            own = [i for i in items if i.branch_id == branch_id]
            lines = [user_text("• " + item.text) for item in shared + own]
            broadcast = await store.create(
                created_by=None,
                report_to={},
                text=Markup.join(lines).to_json(),
                category="digest",
                branch_ids={"ids": [branch_id]},
                rooms=True,
                members=True,
                ack=False,
            )
            await store.fold_digest([i.id for i in own], broadcast.id)
            first = broadcast.id if first is None else first
        if first is None:
            # No branch to send them to: they wait for the next digest instead of vanishing.
            log.warning("digest: %d organisation-wide items wait for a branch", len(shared))
            return
        await store.fold_digest([i.id for i in shared], first)

    async def outbox_floor(self) -> int | None:
        """The lowest outbox id a broadcast may still read (its report, its reminders)."""
        async with self.db.session() as session:
            repository = Repositories(session).get(Broadcasts)
            return await repository.oldest_outbox_in_use(self.options.reminder_max)

    # -- fan-out ------------------------------------------------------------------------

    async def tick(self) -> None:
        """Move every unfinished broadcast on, then nudge those who owe an acknowledgement."""
        async with self.db.session() as session:
            unfinished = await Repositories(session).get(Broadcasts).unfinished()
        for broadcast in unfinished:
            try:
                if broadcast.status == "new":
                    await self._expand(broadcast.id)
                await self._queue(broadcast.id)
                await self._progress(broadcast.id)
            except Exception:
                log.exception("broadcast %d: will try again", broadcast.id)
        if not self.options.quiet(self.clock.now(), self.settings.timezone):
            await self.remind()

    async def _expand(self, broadcast_id: int) -> None:
        """Resolve the targets into recipient rows, in one transaction with the status."""
        async with self.db.session() as session:
            repos = Repositories(session)
            broadcast = await repos.get(Broadcasts).get(broadcast_id)
            if broadcast is None or broadcast.status != "new":
                return
            scope = broadcast.branch_ids
            branch_ids = None if scope.get("all") else [int(b) for b in scope.get("ids", [])]
            rows: list[dict[str, Any]] = []
            if broadcast.rooms:
                rooms = await repos.get(Broadcasts).rooms(branch_ids)
                # A room is spoken to in its branch's language, like everything sent there.
                languages = await repos.branches.locales(room.branch_id for room in rooms)
                for room in rooms:
                    rows.append(
                        {
                            "broadcast_id": broadcast.id,
                            "member_id": None,
                            "branch_id": room.branch_id,
                            "name": room.title or room.chat_id,
                            "locale": languages.get(room.branch_id),
                            "platform": room.platform,
                            "chat_id": room.chat_id,
                            "direct": False,
                            "user_id": None,
                            "status": "queued",
                        }
                    )
            if broadcast.members or broadcast.ack:
                members = await repos.get(Broadcasts).reachable_members(
                    branch_ids, self.can_open_dm
                )
                for member in members:
                    status = "queued" if broadcast.members else "track"
                    if member.chat_id is None and broadcast.members:
                        status = "unreachable"
                    rows.append(
                        {
                            "broadcast_id": broadcast.id,
                            "member_id": member.member_id,
                            "branch_id": member.branch_id,
                            "name": member.name,
                            "locale": member.locale,
                            "platform": member.platform,
                            "chat_id": member.chat_id,
                            "direct": member.chat_id is not None,
                            "user_id": member.user_id,
                            "status": status,
                            "error": NO_DIRECT_CHAT if status == "unreachable" else None,
                        }
                    )
            await repos.get(Broadcasts).add_recipients(rows)
            broadcast.total = sum(1 for r in rows if r["status"] != "track")
            broadcast.status = "sending"
            pending = self._tell(
                broadcast,
                _n(
                    "Sending {number} to {count} recipient…",
                    "Sending {number} to {count} recipients…",
                ),
                count=broadcast.total,
            )
            queued = await enqueue(repos, pending)
        hand_over(self.deliver, queued)

    async def _queue(self, broadcast_id: int) -> None:
        """Put queued recipients into the outbox, one chunk per transaction."""
        while True:
            async with self.db.session() as session:
                repos = Repositories(session)
                broadcast = await repos.get(Broadcasts).get(broadcast_id)
                if broadcast is None:
                    return
                recipients = await repos.get(Broadcasts).queued(broadcast_id, self.options.chunk)
                if not recipients:
                    return
                text = Markup.from_json(broadcast.text)
                rendered: dict[str, dict[str, Any]] = {}
                rows: list[Row] = []
                for recipient in recipients:
                    locale = recipient.locale or self.settings.default_locale
                    if locale not in rendered:
                        message = notice(
                            text,
                            broadcast.category,
                            broadcast.id,
                            broadcast.ack,
                            locale,
                            self.settings.default_locale,
                        )
                        rendered[locale] = payload(message, locale, fold=True)
                    rows.append(Row(_address(recipient, recipient.direct), rendered[locale]))
                queued = await enqueue(repos, rows)
                await repos.get(Broadcasts).link_outbox(
                    [(r.id, m.id) for r, m in zip(recipients, queued, strict=True)]
                )
            hand_over(self.deliver, queued)

    async def _progress(self, broadcast_id: int) -> None:
        """The halfway message for big broadcasts, and the report once nothing is pending."""
        async with self.db.session() as session:
            repos = Repositories(session)
            broadcast = await repos.get(Broadcasts).get(broadcast_id)
            if broadcast is None or broadcast.status != "sending":
                self._counted.pop(broadcast_id, None)
                return
            if broadcast.total >= MILESTONE_FROM:
                moment = time.monotonic()
                if (
                    moment - self._counted.get(broadcast_id, -BIG_PROGRESS_EVERY)
                    < BIG_PROGRESS_EVERY
                ):
                    return
                self._counted[broadcast_id] = moment
            counts = await repos.get(Broadcasts).delivery_counts(broadcast_id)
            pending: list[Row] = []
            if counts["pending"]:
                done = counts["sent"] + counts["unreachable"] + counts["failed"]
                if (
                    broadcast.total >= MILESTONE_FROM
                    and not broadcast.milestone
                    and done * 2 >= broadcast.total
                ):
                    broadcast.milestone = 1
                    pending = self._tell(
                        broadcast,
                        _("{number}: {done} of {total} done."),
                        done=done,
                        total=broadcast.total,
                    )
            else:
                self._counted.pop(broadcast_id, None)
                await repos.get(Broadcasts).finish(broadcast_id)
                pending = await self._report(repos, broadcast, counts)
            queued = await enqueue(repos, pending)
        hand_over(self.deliver, queued)

    async def _report(
        self, repos: Repositories, broadcast: Broadcast, counts: dict[str, int]
    ) -> list[Row]:
        if not broadcast.report_to:
            return []
        t = translator(broadcast.report_to.get("locale"), self.settings.default_locale)
        headline = (
            _("**{number} sent**: {sent} delivered, {unreachable} unreachable, {failed} failed.")
            if counts["failed"]
            else _("**{number} sent**: {sent} delivered, {unreachable} unreachable.")
        )
        lines = [
            t(
                headline,
                number=NOTICE.format(broadcast.id),
                sent=counts["sent"],
                unreachable=counts["unreachable"],
                failed=counts["failed"],
            )
        ]
        failed = await repos.get(Broadcasts).undelivered(broadcast.id, REPORT_LINES)
        for outcome in failed:
            reason = t.text(FAILED_REASON if outcome.failed else _reason(outcome.error))
            if outcome.error != NO_DIRECT_CHAT:
                log.info(
                    "broadcast %d: %s %s: %s",
                    broadcast.id,
                    outcome.name,
                    "failed" if outcome.failed else "unreachable",
                    outcome.error,
                )
            where = t.text(
                _("direct chat") if outcome.direct or outcome.error == NO_DIRECT_CHAT else _("room")
            )
            lines.append(
                t(_("• {name} ({where}): {reason}"), name=outcome.name, where=where, reason=reason)
            )
        undelivered = counts["unreachable"] + counts["failed"]
        if undelivered > len(failed):
            lines.append(t(_("… and {count} more."), count=undelivered - len(failed)))
        if broadcast.ack:
            lines.append(
                t(
                    _("See who has confirmed with `/acks {number}`."),
                    number=NOTICE.format(broadcast.id),
                )
            )
        return [self._row(broadcast.report_to, Markup.join(lines))]

    def _tell(
        self,
        broadcast: Broadcast,
        message: str | Plural,
        count: int | None = None,
        **values: object,
    ) -> list[Row]:
        if not broadcast.report_to:
            return []
        t = translator(broadcast.report_to.get("locale"), self.settings.default_locale)
        return [
            self._row(
                broadcast.report_to,
                t(message, count, number=NOTICE.format(broadcast.id), **values),
            )
        ]

    @staticmethod
    def _row(report_to: dict[str, Any], text: Markup) -> Row:
        """A message to whoever a broadcast or schedule reports to."""
        address = Address(
            report_to["platform"], report_to["chat_id"], report_to["direct"], report_to["user_id"]
        )
        return Row(address, payload(Outgoing(text), report_to.get("locale")))

    # -- reminders ----------------------------------------------------------------------

    async def remind(self) -> None:
        """Nudge those who have not acknowledged a broadcast whose interval passed.

        At most ``chunk`` reminders are queued per call (one tick): a round over thousands of
        members is spread over several ticks, and each tick looks at the quiet hours again, so
        a long round cannot spill into them. A round is complete when a call finds fewer
        members left than it may take."""
        before = self.options.cutoff(self.clock.now())
        budget = self.options.chunk
        async with self.db.session() as session:
            repos = Repositories(session)
            rows: list[Row] = []
            for broadcast in await repos.get(Broadcasts).due_reminders(
                before, self.options.reminder_max
            ):
                waiting = await repos.get(Broadcasts).unacked_direct(
                    broadcast.id, broadcast.reminders, budget
                )
                rendered: dict[str, dict[str, Any]] = {}
                for recipient in waiting:
                    locale = recipient.locale or self.settings.default_locale
                    if locale not in rendered:
                        rendered[locale] = self._nudge(broadcast, locale)
                    rows.append(Row(_address(recipient, True), rendered[locale]))
                await repos.get(Broadcasts).nudged([r.id for r in waiting])
                budget -= len(waiting)
                if budget <= 0:
                    break  # this round may have more members: the next tick goes on
                await repos.get(Broadcasts).reminded(broadcast.id)
            queued = await enqueue(repos, rows)
        hand_over(self.deliver, queued)

    def _nudge(self, broadcast: Broadcast, locale: str) -> dict[str, Any]:
        """A reminder's payload in one language (rendered once per language and round)."""
        t = translator(locale, self.settings.default_locale)
        message = stored_notice(broadcast, locale, self.settings.default_locale)
        nudge = Outgoing(
            Markup.join([t(_("Reminder: please confirm you have read this.")), message.text]),
            message.choices,
        )
        return payload(nudge, locale, fold=True)


def _address(recipient: BroadcastRecipient, direct: bool) -> Address:
    """A recipient queued or nudged has a chat (one without is never either)."""
    assert recipient.platform is not None and recipient.chat_id is not None
    return Address(recipient.platform, recipient.chat_id, direct, recipient.user_id)
