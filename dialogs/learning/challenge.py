"""``/challenge``: questions until the first wrong answer; the best run is kept."""

from __future__ import annotations

from bot.commands import Where
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from dialogs.learning.common import learner, no_questions, router
from dialogs.learning.config import LearningConfig
from dialogs.learning.runs import QuestionRun, RunArguments
from store.learning import Learning

CHALLENGE_LENGTH = 50
"""Questions drawn for one run; a perfect run ends there."""


class Challenge(QuestionRun[RunArguments]):
    name = "challenge"
    mode = "challenge"
    per_answer = "challenge_correct"

    def seconds(self, ctx: Context) -> float:
        return ctx.settings.section(LearningConfig).challenge_seconds

    def stop_after(self, correct: bool) -> bool:
        return not correct

    async def setup(self, ctx: Context, arguments: RunArguments) -> None:
        await super().setup(ctx, arguments)
        self.said.append(ctx.t(_("**Challenge**: how far can you go without a miss?")))

    async def conclude(self, ctx: Context, lines: list[Markup]) -> None:
        run = self.data["right"]
        best = await ctx.store.get(Learning).improve(await learner(ctx), "challenge", run)
        lines.append(ctx.t(_("**Your run: {run}**"), run=run))
        if run > best:
            lines.append(ctx.t(_("🏆 A new personal best!")))
        else:
            lines.append(ctx.t(_("Your best is {best}."), best=best))


@router.command(
    "challenge",
    summary=_("answer until your first mistake"),
    role=Role.MEMBER,
    where=Where.DIRECT,
)
async def challenge(ctx: Context) -> None:
    await learner(ctx)
    ids = await ctx.store.get(Learning).sample(ctx.who.branch_id, CHALLENGE_LENGTH)
    if not ids:
        no_questions(ctx)
        return
    await Challenge.start(ctx, RunArguments(ids))
