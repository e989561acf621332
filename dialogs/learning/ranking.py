"""``/rank``, the learning lines of ``/me``, and ``/stats learning`` for secretaries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from bot.commands import OneOf, Option, Where
from bot.context import Context
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Image
from dialogs.learning.chart import learning_chart
from dialogs.learning.common import bar, local_midnight, period_start, router, today
from store.learning import BranchActivity, CategoryAccuracy, Learning

PERIODS = {"week": _("this week"), "month": _("this month"), "all": _("all time")}
PERIOD_OPTIONS = (
    Option("week", _("week")),
    Option("month", _("month")),
    Option("all", _("all"), aliases=("总榜",)),
)
"""What ``/rank`` takes: ``week`` or ``本周``; ``总榜`` is what the leaderboard of all time is
called in Chinese."""
WEAKEST_SHOWN = 3
CHART_BARS = 20
"""Branches in the ``/stats learning`` chart: its drawing costs time in the batch by the bar,
so it shows the largest 20, not the whole organisation."""


def percent(value: float) -> str:
    return f"{round(100 * value)}%"


def branch_order(activity: list[BranchActivity]) -> list[BranchActivity]:
    """Participation rate first, then accuracy: a branch of 6 can beat a branch of 40."""
    return sorted(activity, key=lambda b: (-b.participation, -b.accuracy, b.name))


def length(lines: list[Markup]) -> int:
    """Characters of ``lines`` joined by newlines, measured as delivery measures a text."""
    return sum(len(line.plain()) + 1 for line in lines)


def fit(ctx: Context, lines: list[Markup], entries: Iterator[list[Markup]], reserve: int) -> int:
    """Add ``entries`` to ``lines`` while the text stays one message of this platform with
    ``reserve`` characters left for what follows; returns how many went in. ``entries`` is
    lazy, so a list of every branch of a big organisation is formatted only as far as it is
    shown: a handler runs inside the engine's batch."""
    room = ctx.capabilities.max_text_length - reserve - length(lines)
    listed = 0
    for entry in entries:
        room -= length(entry)
        if room < 0:
            break
        lines.extend(entry)
        listed += 1
    return listed


def more_note(ctx: Context, count: int) -> Markup:
    return ctx.t(_n("… and {count} more branch.", "… and {count} more branches."), count=count)


def chart_note(ctx: Context, count: int) -> Markup:
    return ctx.t(
        _n(
            "The chart shows the largest branch (1 above).",
            "The chart shows the {count} largest branches (1 to {count} above).",
        ),
        count=count,
    )


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
        members = await ctx.store.get(Learning).branch_points(ctx.who.branch_id, since)
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
    activity = await ctx.store.get(Learning).branch_activity(
        local_midnight(ctx, since) if since else None
    )
    ranked = [b for b in branch_order(activity) if b.members]
    if ranked:
        lines.append(ctx.t(_("**Branches** (taking part, then right answers)")))
        entries = (
            [
                ctx.t(
                    _("{place}. {branch} — {part} took part, {right} right"),
                    place=place,
                    branch=branch.name,
                    part=percent(branch.participation),
                    right=percent(branch.accuracy),
                )
            ]
            for place, branch in enumerate(ranked, start=1)
        )
        listed = fit(ctx, lines, entries, length([more_note(ctx, len(ranked))]))
        if listed < len(ranked):
            lines.append(more_note(ctx, len(ranked) - listed))
    ctx.reply(Markup.join(lines))


@router.profile_section
async def learning_profile(ctx: Context) -> list[Markup]:
    """Points, streak and level progress for ``/me``."""
    if ctx.who.member_id is None:
        return []
    member = ctx.who.member_id
    learning = ctx.store.get(Learning)
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


def by_size(activity: list[BranchActivity]) -> list[BranchActivity]:
    """The largest branches first (ties in the store's order, by name): they are the ones an
    admin of a big organisation looks for, and the ones the chart shows."""
    return sorted(activity, key=lambda b: -b.members)


def branch_entry(
    ctx: Context, number: int, branch: BranchActivity, weakest: list[CategoryAccuracy]
) -> list[Markup]:
    """A branch's lines in ``/stats learning``: its rates, then its weakest categories."""
    lines = [
        ctx.t(
            _("{number}. **{branch}**: {active}/{members} took part ({part}), {right} right"),
            number=number,
            branch=branch.name,
            active=branch.active,
            members=branch.members,
            part=percent(branch.participation),
            right=percent(branch.accuracy),
        )
    ]
    if weakest:
        lines.append(
            ctx.t(
                _("Weakest: {categories}"),
                categories=ctx.listing(
                    f"{c.category or '—'} {percent(c.accuracy)}" for c in weakest
                ),
            )
        )
    return lines


@router.command(
    "stats learning",
    summary=_("who is learning and what is weak"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
)
async def stats_learning(ctx: Context) -> None:
    """Two queries and a chart of at most ``CHART_BARS`` branches, and no more lines than one
    message of the platform holds, whatever the size of the organisation: this runs inside
    the engine's batch."""
    day = today(ctx)
    since = local_midnight(ctx, day - timedelta(days=day.weekday()))
    activity = by_size(
        [
            b
            for b in await ctx.store.get(Learning).branch_activity(since)
            if ctx.who.manages(b.branch_id)
        ]
    )
    if not activity:
        ctx.reply(_("There are no branches yet. Create one with `/branch add <name>`."))
        return
    weakest = await ctx.store.get(Learning).weakest_categories(since, WEAKEST_SHOWN)
    legend = ctx.t(
        _(
            "Chart: each pair of bars is numbered and named like the list above and each bar "
            "shows its percentage; blue = took part, green = right answers; the scale below "
            "marks 0% to 100%."
        )
    )
    lines = [ctx.t(_("**Learning this week**"))]
    entries = (
        branch_entry(ctx, number, branch, weakest.get(branch.branch_id, []))
        for number, branch in enumerate(activity, start=1)
    )
    reserve = length([legend, chart_note(ctx, CHART_BARS), more_note(ctx, len(activity))])
    listed = fit(ctx, lines, entries, reserve)
    if listed < len(activity):
        lines.append(more_note(ctx, len(activity) - listed))
    charted = activity[: min(listed, CHART_BARS)]
    if len(charted) < len(activity):
        lines.append(chart_note(ctx, len(charted)))
    lines.append(legend)
    chart = learning_chart(ctx, charted)
    ctx.reply(Markup.join(lines), image=Image("image/png", chart))
