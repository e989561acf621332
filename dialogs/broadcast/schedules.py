"""``/schedules`` and ``/unschedule <number>``: the stored schedules a person may see."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.commands import Router, Word
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.timetable import next_run
from store.clock import now
from store.models import BroadcastSchedule

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
    rows = [s for s in await ctx.store.broadcasts.active_schedules() if visible(ctx, s)]
    if not rows:
        ctx.reply(_("No notices are scheduled. Use /broadcast and choose “Later or repeating”."))
        return
    zone = ZoneInfo(ctx.settings.timezone)
    lines = [ctx.t(_("**Scheduled notices** ({zone} time)"), zone=ctx.settings.timezone)]
    for schedule in rows:
        upcoming = schedule.run_at
        if schedule.cron:
            upcoming = next_run(schedule.cron, ctx.settings.timezone, now())
        first = Markup.from_json(schedule.template["text"]).plain().split("\n")[0][:40]
        lines.append(
            ctx.t(
                _("#{number} — {spec}, next {next}: {text}"),
                number=schedule.id,
                spec=schedule.spec,
                next=upcoming.astimezone(zone).strftime("%Y-%m-%d %H:%M") if upcoming else "—",
                text=first,
            )
        )
    ctx.reply(Markup.join(lines))


@router.command(
    "unschedule",
    summary=_("stop a scheduled notice"),
    role=Role.SECRETARY,
    args=[Word("number", _("number"))],
)
async def unschedule(ctx: Context, number: str) -> None:
    digits = number.lstrip("#")
    schedule = (
        await ctx.store.broadcasts.schedule(int(digits))
        if digits.isdecimal() and len(digits) <= 12
        else None
    )
    if schedule is None or not schedule.active or not visible(ctx, schedule):
        ctx.reply(_("There is no scheduled notice #{number} of yours."), number=number)
        return
    if not ctx.who.is_admin and schedule.created_by != ctx.who.member_id:
        # Seeing a schedule for one's branches is not owning it: another secretary's (or an
        # admin's) notice is theirs to stop.
        ctx.reply(
            _("Only the person who scheduled #{number} or an admin can stop it."),
            number=schedule.id,
        )
        return
    await ctx.store.broadcasts.stop_schedule(schedule.id)
    ctx.reply(_("Schedule #{number} is stopped."), number=schedule.id)
