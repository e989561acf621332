"""What every learning mode shares: the router, the member's day, points, bars and stars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.commands import Router
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from dialogs.learning.config import LearningConfig
from store.learning import Learning

router = Router()

BAR_FULL, BAR_EMPTY = "▰", "▱"


def today(ctx: Context) -> date:
    """The organisation's local date: daily caps and streaks turn over at local midnight."""
    return ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()


def local_midnight(ctx: Context, day: date) -> datetime:
    """The UTC moment the local ``day`` began, to compare with stored timestamps."""
    zone = ZoneInfo(ctx.settings.timezone)
    return datetime.combine(day, time(), zone).astimezone(UTC)


def period_start(ctx: Context, period: str) -> date | None:
    """First day of this week (Monday) or month; ``None`` for all time."""
    day = today(ctx)
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return None


def bar(done: int, total: int, width: int = 10) -> str:
    if total <= 0:
        return BAR_EMPTY * width
    filled = round(width * min(done, total) / total)
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def stars(count: int) -> str:
    return "★" * count + "☆" * (3 - count)


async def learner(ctx: Context) -> int:
    """The speaker's member id, created on first use (an admin who never joined a branch)."""
    if ctx.who.member_id is not None:
        return ctx.who.member_id
    ctx.mark_people_changed()
    return await ctx.store.people.ensure(
        ctx.event.platform, ctx.event.sender.id, ctx.event.sender.name
    )


async def award(ctx: Context, member_id: int, activity: str, units: int = 1) -> int:
    """Points for ``units`` of an activity, within its daily cap from the config; returns the
    points given, to tell the member. The cap is checked against the points stored for today
    (awards kept back included: they are written first), so runs in two chats or on two
    platforms cannot each fill it."""
    rule = ctx.settings.section(LearningConfig).points[activity]
    return await ctx.store.get(Learning).award(
        member_id, ctx.who.branch_id, activity, rule.points * units, rule.daily_cap, today(ctx)
    )


def award_later(ctx: Context, member_id: int, activity: str) -> None:
    """Points for one unit of an activity nobody is told the size of (a right answer): the
    daily cap is checked with the batch's other awards when it is written."""
    rule = ctx.settings.section(LearningConfig).points[activity]
    ctx.store.get(Learning).award_later(
        member_id, ctx.who.branch_id, activity, rule.points, rule.daily_cap, today(ctx)
    )


def no_questions(ctx: Context) -> None:
    """Nothing to ask yet; the advice names what this person can do about it."""
    if ctx.who.has(Role.SECRETARY):
        ctx.reply(
            _(
                "There are no questions yet. Send me a question bank file in a direct chat to "
                "import it."
            )
        )
    else:
        ctx.reply(
            _(
                "There are no questions yet. A secretary of your branch can import a question "
                "bank by sending me its file."
            )
        )
