"""``/lessons``, ``/lesson <id>``: a short text then its quiz; ``/lesson <id> qr`` for posters."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

from bot.commands import OneOf, Option, Word
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice, Image
from dialogs.learning.common import award, learner, router
from dialogs.learning.runs import QuestionRun, RunArguments
from store.learning import Learning
from store.learning_tables import Lesson

DEEP_LINK_PREFIX = "lesson_"


class LessonRun(QuestionRun["LessonRun.Arguments"]):
    """Shows the lesson, waits for "Start the quiz", then asks its questions."""

    @dataclass(frozen=True, slots=True)
    class Arguments(RunArguments):
        lesson: Lesson

    name = "lesson"
    mode = "lesson"
    initial = "reading"
    lesson: Lesson
    """The lesson shown, while the run starts (only its key and title are stored)."""

    async def setup(self, ctx: Context, arguments: LessonRun.Arguments) -> None:
        await super().setup(ctx, arguments)
        self.lesson = arguments.lesson
        self.data.update(lesson=arguments.lesson.key, title=arguments.lesson.title)

    async def on_enter_reading(self, ctx: Context) -> None:
        lesson = self.lesson
        lines = [Markup.format("**{title}**", title=lesson.title), Markup.literal(lesson.text)]
        if lesson.link:
            lines.append(Markup.format("[{link}]({link})", link=lesson.link))
        if not self.data["ids"]:
            ctx.reply(Markup.join(lines))
            self.finish()
            return
        ctx.reply(
            Markup.join(lines),
            choices=[[Choice(ctx.text(_("Start the quiz")), "go")]],
        )
        self.expire_in(24 * 3600)

    async def conclude(self, ctx: Context, lines: list[Markup]) -> None:
        right, total = self.data["right"], len(self.data["ids"])
        lines.append(ctx.t(_("**Lesson done: {right}/{total}**"), right=right, total=total))
        points = await award(ctx, await learner(ctx), "lesson_finished")
        if points:
            lines.append(ctx.t(_("+{points} points."), points=points))


async def open_lesson(ctx: Context, key: str) -> None:
    lesson = await ctx.store.get(Learning).lesson(key)
    if lesson is None:
        ctx.reply(_("There is no lesson {id}. /lessons lists them."), id=key)
        return
    ids = await ctx.store.get(Learning).sample(ctx.who.branch_id, lesson.questions, lesson.category)
    await LessonRun.start(ctx, LessonRun.Arguments(ids, lesson))


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


@router.command("lessons", summary=_("short lessons, each with a quiz"), role=Role.MEMBER)
async def lessons(ctx: Context) -> None:
    found = await ctx.store.get(Learning).lessons()
    if not found:
        ctx.reply(_("There are no lessons yet."))
        return
    lines = [ctx.t(_("**Lessons**"))]
    lines += [Markup.format("• `{id}` {title}", id=item.key, title=item.title) for item in found]
    lines.append(ctx.t(_("Open one with /lesson <id>.")))
    ctx.reply(Markup.join(lines))


@router.command(
    "lesson",
    summary=_("read a lesson and take its quiz"),
    role=Role.MEMBER,
    args=[
        Word("id", _("id")),
        OneOf("qr", _("qr"), optional=True, options=(Option("qr", _("qr")),)),
    ],
)
async def lesson(ctx: Context, id: str, qr: str | None) -> None:
    if qr is None:
        if not ctx.event.chat.direct:
            ctx.reply(_("Please send /{command} to me in a direct chat."), command="lesson")
            return
        await open_lesson(ctx, id)
        return
    found = await ctx.store.get(Learning).lesson(id)
    if found is None:
        ctx.reply(_("There is no lesson {id}. /lessons lists them."), id=id)
        return
    target = ctx.link_to(DEEP_LINK_PREFIX + found.key) or f"/lesson {id}"
    ctx.reply(
        _("QR code for the lesson **{title}**: {target}"),
        title=found.title,
        target=target,
        image=Image("image/png", qr_png(target)),
    )


@router.start_payload(DEEP_LINK_PREFIX)
async def start_from_link(ctx: Context, key: str) -> None:
    """A poster's link reaches anyone who scans it: only members get the lesson (and a
    learning record); a guest is told how to join first."""
    if not ctx.who.has(Role.MEMBER):
        ctx.reply(
            _(
                "Lessons are for members. To join your branch, send `/join <code>` with the "
                "invite code your secretary gave you."
            )
        )
        return
    await open_lesson(ctx, key)
