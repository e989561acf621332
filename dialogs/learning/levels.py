"""``/levels`` and ``/level N``: an ordered path; passing a level unlocks the next one."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from bot.commands import Int, Where
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from dialogs.learning.common import award, bar, learner, router, stars
from dialogs.learning.runs import QuestionRun, RunArguments
from store.learning import Learning
from store.learning_tables import Level

MAX_LEVEL = 99_999
"""The highest level number ``/level`` reads (banks number levels 1, 2, 3, …)."""
NO_SUCH_LEVEL = _("There is no level {number}. /levels shows them all.")


def star_count(score: int, pass_mark: int) -> int:
    """0 below the pass mark; 3 for a perfect score; 2 from halfway between pass and perfect."""
    if score < pass_mark:
        return 0
    if score >= 100:
        return 3
    return 2 if score >= (pass_mark + 100) / 2 else 1


def unlocked(levels: list[Level], records: dict[str, int]) -> int:
    """The highest level number the member may play: the first level, and the one after each
    level passed. Numbers need not be contiguous (an admin may number levels 1, 2, 5, 10)."""
    ordered = sorted(level.number for level in levels)
    if not ordered:
        return 0
    highest = ordered[0]
    for number, following in pairwise(ordered):
        if records.get(f"level:{number}", 0) > 0:
            highest = max(highest, following)
    return highest


class LevelRun(QuestionRun["LevelRun.Arguments"]):
    @dataclass(frozen=True, slots=True)
    class Arguments(RunArguments):
        number: int
        title: str
        pass_mark: int
        """The score (in %) that earns the first star."""

    name = "level"
    mode = "level"

    async def setup(self, ctx: Context, arguments: LevelRun.Arguments) -> None:
        self.data.update(level=arguments.number, pass_mark=arguments.pass_mark)
        await super().setup(ctx, arguments)
        self.said.append(
            ctx.t(
                _("**Level {number}: {title}** — pass with {mark}%"),
                number=arguments.number,
                title=arguments.title,
                mark=arguments.pass_mark,
            )
        )

    async def conclude(self, ctx: Context, lines: list[Markup]) -> None:
        right, total = self.data["right"], len(self.data["ids"])
        score = round(100 * right / total) if total else 0
        number: int = self.data["level"]
        earned = star_count(score, self.data["pass_mark"])
        member = await learner(ctx)
        before = await ctx.store.get(Learning).improve(member, f"level:{number}", earned)
        lines.append(
            ctx.t(
                _("**{right}/{total} ({score}%)** {stars}"),
                right=right,
                total=total,
                score=score,
                stars=stars(earned),
            )
        )
        if earned == 0:
            lines.append(ctx.t(_("Not passed yet. Try again: /level {number}"), number=number))
            return
        if earned > before:
            points = await award(ctx, member, "level_star", earned - before)
            if points:
                lines.append(ctx.t(_("+{points} points for new stars."), points=points))
        levels = await ctx.store.get(Learning).levels()
        if before == 0 and number < len(levels):
            lines.append(ctx.t(_("🔓 Level {next} is open: /level {next}"), next=number + 1))


async def level_lines(ctx: Context, member: int) -> tuple[list[Level], dict[str, int]]:
    return await ctx.store.get(Learning).levels(), await ctx.store.get(Learning).records(member)


@router.command(
    "levels", summary=_("the learning path and your stars"), role=Role.MEMBER, where=Where.DIRECT
)
async def show_levels(ctx: Context) -> None:
    levels, records = await level_lines(ctx, await learner(ctx))
    if not levels:
        ctx.reply(_("No levels are defined yet."))
        return
    passed = sum(1 for level in levels if records.get(f"level:{level.number}", 0) > 0)
    top = unlocked(levels, records)
    lines = [
        ctx.t(
            _("**Levels** {bar} {passed}/{total}"),
            bar=bar(passed, len(levels)),
            passed=passed,
            total=len(levels),
        )
    ]
    for level in levels:
        earned = records.get(f"level:{level.number}", 0)
        mark = stars(earned) if level.number <= top else "🔒"
        lines.append(
            Markup.format(
                "{number}. {title} {mark}", number=level.number, title=level.title, mark=mark
            )
        )
    lines.append(ctx.t(_("Play one with /level <level number>.")))
    ctx.reply(Markup.join(lines))


@router.command(
    "level",
    summary=_("play a level"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Int("number", _("level number"), maximum=MAX_LEVEL, invalid=NO_SUCH_LEVEL)],
)
async def play_level(ctx: Context, number: int) -> None:
    levels, records = await level_lines(ctx, await learner(ctx))
    level = next((lv for lv in levels if lv.number == number), None)
    if level is None:
        ctx.reply(NO_SUCH_LEVEL, number=number)
        return
    if level.number > unlocked(levels, records):
        ctx.reply(
            _("Level {number} is still locked: pass level {previous} first."),
            number=level.number,
            previous=max(lv.number for lv in levels if lv.number < level.number),
        )
        return
    ids = await ctx.store.get(Learning).sample(ctx.who.branch_id, level.questions, level.category)
    if not ids:
        ctx.reply(_("Level {number} has no questions yet."), number=level.number)
        return
    await LevelRun.start(ctx, LevelRun.Arguments(ids, level.number, level.title, level.pass_mark))
