"""``/schedules`` and ``/unschedule <S3>``: the stored schedules a person may see."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Number, Router
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.numbers import SCHEDULE
from bot.timetable import next_run
from dialogs.broadcast.schedule_words import schedule_words
from store.broadcast_tables import BroadcastSchedule
from store.broadcasts import Broadcasts
from store.clock import as_utc

router = Router()


def visible(ctx: Context, schedule: BroadcastSchedule) -> bool:
    """Admins see every broadcast schedule; a secretary those for their branches only."""
    if schedule.kind != "broadcast":
        return False
    if ctx.who.is_admin:
        return True
    ids = schedule.branch_ids.get("ids") or []
    return bool(ids) and all(ctx.who.manages(int(b)) for b in ids)


@router.command("schedules", summary=_("list scheduled notices"), role=Role.SECRETARY)
async def schedules(ctx: Context) -> None:
    rows = [s for s in await ctx.store.get(Broadcasts).active_schedules() if visible(ctx, s)]
    if not rows:
        ctx.reply(_("No notices are scheduled. Use /broadcast and choose “Later or repeating”."))
        return
    # The zone named as the moments under it would name it (中国时间, China Time).
    zone = ctx.translator.zone(ctx.settings.timezone)
    lines = [ctx.t(_("**Scheduled notices** ({zone})"), zone=zone)]
    for schedule in rows:
        upcoming = schedule.run_at
        if schedule.cron:
            upcoming = next_run(schedule.cron, ctx.settings.timezone, ctx.clock.now())
        first = opening(Markup.from_json(schedule.template["text"]).plain())
        lines.append(
            ctx.t(
                _("{number} — {spec}, next {next}: {text}"),
                number=SCHEDULE.format(schedule.id),
                spec=schedule_words(
                    ctx.translator, schedule.spec, ctx.settings.timezone, named=False
                ),
                next=local(ctx, upcoming) if upcoming else ctx.text(_("never")),
                text=first,
            )
        )
    ctx.reply(Markup.join(lines))


OPENING = 40
"""Characters of a notice's text shown in the list: enough to tell notices apart."""


def opening(text: str) -> str:
    """The text's start, with "…" where anything was left out, so a cut is not mistaken for
    the whole notice."""
    first = text.strip().split("\n")[0]
    if len(first) > OPENING:
        return first[: OPENING - 1].rstrip() + "…"
    return first + ("…" if first != text.strip() else "")


def local(ctx: Context, moment: datetime) -> str:
    """A time in a reply that names the zone once, beside the moment or above a list."""
    return ctx.translator.moment(as_utc(moment), ctx.settings.timezone, named=False)


@router.command(
    "unschedule",
    summary=_("stop a scheduled notice"),
    role=Role.SECRETARY,
    args=[Number("number", _("schedule number"), kind=SCHEDULE)],
)
async def unschedule(ctx: Context, number: int) -> None:
    shown = SCHEDULE.format(number)
    schedule = await ctx.store.get(Broadcasts).schedule(number)
    if schedule is None or not visible(ctx, schedule):
        # Someone else's schedule for branches one does not manage answers like a missing one:
        # it is not theirs to know of.
        ctx.reply(_("You have no schedule {number}: `/schedules` lists yours."), number=shown)
        return
    if not schedule.active:
        if schedule.stopped_at is None:
            ctx.reply(_("Schedule {number} was already stopped."), number=shown)
        else:
            ctx.reply(
                _("Schedule {number} was already stopped on {date} ({zone} time)."),
                number=shown,
                date=local(ctx, schedule.stopped_at),
                zone=ctx.settings.timezone,
            )
        return
    if not ctx.who.is_admin and schedule.created_by != ctx.who.member_id:
        # Seeing a schedule for one's branches is not owning it: another secretary's (or an
        # admin's) notice is theirs to stop.
        ctx.reply(
            _("Only the person who scheduled {number} or an admin can stop it."), number=shown
        )
        return
    await ctx.store.get(Broadcasts).stop_schedule(schedule.id)
    ctx.reply(_("Schedule {number} is stopped."), number=shown)
