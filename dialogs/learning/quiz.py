"""``/quiz``: the daily quiz. Wrong answers come back on an SM-2 schedule; one quiz a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.commands import Where
from bot.context import Context
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from dialogs.learning.common import award, bar, learner, no_questions, router, today
from dialogs.learning.config import LearningConfig
from dialogs.learning.runs import QuestionRun, RunArguments
from store.learning import Learning, streak_of


class DailyQuiz(QuestionRun["DailyQuiz.Arguments"]):
    @dataclass(frozen=True, slots=True)
    class Arguments(RunArguments):
        streak: int
        """Days in a row the member did the quiz, up to yesterday."""

    name = "daily_quiz"
    mode = "quiz"
    per_answer = "quiz_correct"

    async def setup(self, ctx: Context, arguments: DailyQuiz.Arguments) -> None:
        self.data["streak_before"] = arguments.streak
        await super().setup(ctx, arguments)
        self.said.append(ctx.t(_("**Today's quiz**")))

    async def conclude(self, ctx: Context, lines: list[Markup]) -> None:
        member = await learner(ctx)
        right, total = self.data["right"], len(self.data["ids"])
        # The quiz belongs to the (local) day it was started on, even if it ends after
        # midnight: the streak was counted up to that day, and the next day stays open.
        started = date.fromisoformat(self.data["day"])
        ctx.store.get(Learning).finish_daily(member, started, right)
        streak = self.data["streak_before"] + 1
        points = await award(ctx, member, "quiz_finished")
        points += await award(ctx, member, "streak_day", min(streak, 7))
        lines.append(
            ctx.t(
                _("**Done: {right}/{total}** {bar}"),
                right=right,
                total=total,
                bar=bar(right, total, total),
            )
        )
        lines.append(ctx.t(_n("🔥 Streak: {count} day", "🔥 Streak: {count} days"), count=streak))
        if points:
            lines.append(
                ctx.t(_("+{points} points for finishing. See you tomorrow!"), points=points)
            )


@router.command(
    "quiz", summary=_("today's quiz: a few short questions"), role=Role.MEMBER, where=Where.DIRECT
)
async def quiz(ctx: Context) -> None:
    member = await learner(ctx)
    day = today(ctx)
    days = await ctx.store.get(Learning).days(member, day)
    if day in days:
        ctx.reply(_("You have done today's quiz. Come back tomorrow, or try /challenge."))
        return
    ids = await ctx.store.get(Learning).daily_pick(
        member, ctx.who.branch_id, day, ctx.settings.section(LearningConfig).daily_questions
    )
    if not ids:
        no_questions(ctx)
        return
    await DailyQuiz.start(ctx, DailyQuiz.Arguments(ids, streak_of(days, day)))
