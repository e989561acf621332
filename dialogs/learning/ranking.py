"""``/rank``, the learning lines of ``/me``, and ``/stats learning`` for secretaries."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import OneOf, Option, Where
from bot.context import Context
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Image
from dialogs.learning.chart import bar_chart
from dialogs.learning.common import bar, local_midnight, period_start, router, today
from store.learning import BranchActivity

PERIODS = {"week": _("this week"), "month": _("this month"), "all": _("all time")}
PERIOD_OPTIONS = (
    Option("week", _("week")),
    Option("month", _("month")),
    Option("all", _("all"), aliases=("总榜",)),
)
"""What ``/rank`` takes: ``week`` or ``本周``; ``总榜`` is what the leaderboard of all time is
called in Chinese."""
WEAKEST_SHOWN = 3


def percent(value: float) -> str:
    return f"{round(100 * value)}%"


def branch_order(activity: list[BranchActivity]) -> list[BranchActivity]:
    """Participation rate first, then accuracy: a branch of 6 can beat a branch of 40."""
    return sorted(activity, key=lambda b: (-b.participation, -b.accuracy, b.name))


@router.command(
    "rank",
    summary=_("leaderboards of your branch and of the branches"),
    role=Role.MEMBER,
    args=[OneOf("period", _("period"), optional=True, options=PERIOD_OPTIONS, default="week")],
)
async def rank(ctx: Context, period: str) -> None:
    since = period_start(ctx, period)
    lines = [ctx.t(_("**Leaderboard — {period}**"), period=ctx.text(PERIODS[period]))]
    if ctx.who.branch_id is not None:
        members = await ctx.store.learning.branch_points(ctx.who.branch_id, since)
        lines.append(ctx.t(_("**{branch}**"), branch=ctx.who.branch_name or ""))
        for place, entry in enumerate(members[:10], start=1):
            line = ctx.t(
                _n("{place}. {name} — {count} point", "{place}. {name} — {count} points"),
                place=place,
                name=entry.name,
                count=entry.points,
            )
            if entry.member_id == ctx.who.member_id:
                line = line + Markup.literal(" ◀")
            lines.append(line)
    activity = await ctx.store.learning.branch_activity(
        local_midnight(ctx, since) if since else None
    )
    ranked = [b for b in branch_order(activity) if b.members]
    if ranked:
        lines.append(ctx.t(_("**Branches** (taking part, then right answers)")))
        for place, branch in enumerate(ranked, start=1):
            lines.append(
                ctx.t(
                    _("{place}. {branch} — {part} took part, {right} right"),
                    place=place,
                    branch=branch.name,
                    part=percent(branch.participation),
                    right=percent(branch.accuracy),
                )
            )
    ctx.reply(Markup.join(lines))


async def learning_profile(ctx: Context) -> list[Markup]:
    """Points, streak and level progress for ``/me``."""
    if ctx.who.member_id is None:
        return []
    member = ctx.who.member_id
    learning = ctx.store.learning
    day = today(ctx)
    total = await learning.points_of(member)
    week = await learning.points_of(member, period_start(ctx, "week"))
    lines = [
        ctx.t(_("Points: {total} ({week} this week)"), total=total, week=week),
        ctx.t(
            _n("Streak: {count} day", "Streak: {count} days"),
            count=await learning.streak(member, day),
        ),
    ]
    levels = await learning.levels()
    if levels:
        records = await learning.records(member)
        passed = sum(1 for lv in levels if records.get(f"level:{lv.number}", 0) > 0)
        lines.append(
            ctx.t(
                _("Levels: {bar} {passed}/{total}"),
                bar=bar(passed, len(levels)),
                passed=passed,
                total=len(levels),
            )
        )
    return lines


router.profile_sections.append(learning_profile)


@router.command(
    "stats learning",
    summary=_("who is learning and what is weak"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
)
async def stats_learning(ctx: Context) -> None:
    day = today(ctx)
    since = local_midnight(ctx, day - timedelta(days=day.weekday()))
    activity = [
        b for b in await ctx.store.learning.branch_activity(since) if ctx.who.manages(b.branch_id)
    ]
    if not activity:
        ctx.reply(_("There are no branches yet. Create one with `/branch add <name>`."))
        return
    lines = [ctx.t(_("**Learning this week**"))]
    for number, branch in enumerate(activity, start=1):
        lines.append(
            ctx.t(
                _("{number}. **{branch}**: {active}/{members} took part ({part}), {right} right"),
                number=number,
                branch=branch.name,
                active=branch.active,
                members=branch.members,
                part=percent(branch.participation),
                right=percent(branch.accuracy),
            )
        )
        weakest = (await ctx.store.learning.categories(branch.branch_id, since))[:WEAKEST_SHOWN]
        if weakest:
            lines.append(
                ctx.t(
                    _("Weakest: {categories}"),
                    categories=ctx.listing(
                        f"{c.category or '—'} {percent(c.accuracy)}" for c in weakest
                    ),
                )
            )
    lines.append(
        ctx.t(
            _(
                "Chart: each pair of bars is numbered like the list above and each bar shows its "
                "percentage; blue = took part, green = right answers; the scale on the left marks "
                "0% to 100%."
            )
        )
    )
    chart = bar_chart([(b.participation, b.accuracy) for b in activity])
    ctx.reply(Markup.join(lines), image=Image("image/png", chart))
