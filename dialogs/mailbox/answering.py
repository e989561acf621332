"""Answering and following up: ``/reply``, a platform reply to a letter's message, and the
writer's ``/mail close``, ``/mail reopen`` and ``/mail rate``.

Who the speaker is to a letter is decided once (``role_in``): its writer (through the relay
for an anonymous letter, and only in a direct chat, so that a group never learns who wrote
it), one of those who answer it (the branch's secretaries, the one it was passed to, the
admins), or nobody, who is told the same as for a case number that does not exist.
"""

from __future__ import annotations

from enum import Enum

from bot.commands import Int, Number, Rest, Where
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.recipients import Note, Reader, may_open, queue
from dialogs.mailbox.common import CASE, config, relay, router, today
from dialogs.mailbox.posts import TAG, case, secretaries, writer
from dialogs.mailbox.repository import Mailbox
from dialogs.mailbox.tables import Letter


class Side(Enum):
    WRITER = "writer"
    ANSWERER = "answerer"
    NONE = "none"


async def role_in(ctx: Context, letter: Letter) -> Side:
    member_id, mailbox = ctx.who.member_id, ctx.store.get(Mailbox)
    if (
        ctx.event.chat.direct
        and member_id is not None
        and await mailbox.wrote(letter, member_id, relay(ctx))
    ):
        if letter.anonymous:
            ctx.leave_no_trace()  # nothing in the store may tie this event to the letter
        return Side.WRITER
    if answers_letter(ctx, letter):
        return Side.ANSWERER
    return Side.NONE


def answers_letter(ctx: Context, letter: Letter) -> bool:
    """Admins answer every letter, a branch's secretaries their branch's (a pass says whose
    turn it is, and it is that secretary who is told and reminded, but the branch keeps it)."""
    if not letter.released:
        return False  # an anonymous letter before its release slot: nobody's to see yet
    if ctx.who.is_admin:
        return True
    return letter.branch_id is not None and letter.branch_id in ctx.who.secretary_of


def no_such_letter(ctx: Context, number: int) -> None:
    """The one answer for a case that does not exist and for one the speaker may not see."""
    ctx.reply(
        _("There is no letter {case} that you can see."), case=CASE.format(number), vanish=True
    )


async def find(ctx: Context, number: int) -> tuple[Letter, Side] | None:
    letter = await ctx.store.get(Mailbox).letter(number)
    side = await role_in(ctx, letter) if letter is not None else Side.NONE
    if letter is None or side is Side.NONE:
        no_such_letter(ctx, number)
        return None
    return letter, side


def text_after(ctx: Context, words: int) -> str:
    """What follows the first ``words`` words of the message, line breaks kept."""
    parts = ctx.event.text.strip().split(maxsplit=words)
    return parts[words].strip() if len(parts) > words else ""


# -- answers and follow-ups -----------------------------------------------------------------


@router.command(
    "reply",
    summary=_("answer a letter, or follow up your own"),
    role=Role.MEMBER,
    args=[Number("number", _("case number"), kind=CASE), Rest("text", _("text"))],
)
async def reply(ctx: Context, number: int, text: str) -> None:
    found = await find(ctx, number)
    if found is not None:
        await say(ctx, *found, text_after(ctx, 2) or text)


@router.reply
async def platform_reply(ctx: Context) -> bool:
    """A platform reply to one of the mailbox's messages answers (or follows up) its letter."""
    event = ctx.event
    if event.replied_to is None:
        return False
    tag = await ctx.store.outbox.tag_of(event.platform, event.chat.id, event.replied_to)
    if tag is None or not tag.startswith(TAG) or not tag[len(TAG) :].isdecimal():
        return False
    letter = await ctx.store.get(Mailbox).by_id(int(tag[len(TAG) :]))
    if letter is None:
        return False
    side = await role_in(ctx, letter)
    if side is Side.NONE:
        return False
    await say(ctx, letter, side, event.text.strip())
    return True


async def say(ctx: Context, letter: Letter, side: Side, text: str) -> None:
    limit = config(ctx).text_max_length
    hidden = letter.anonymous and side is Side.WRITER
    if not text:
        ctx.reply(
            _("Write the text after the case number: `/reply {case} <text>`."),
            case=case(letter),
            vanish=hidden,
        )
        return
    if len(text) > limit:
        ctx.reply(
            _("That is longer than {length} characters; nothing was sent."),
            length=limit,
            vanish=hidden,
        )
        return
    if letter.status == "closed":
        if side is Side.WRITER:
            ctx.reply(
                _("{case} is closed: send `/mail reopen {case}` first."),
                case=case(letter),
                vanish=hidden,
            )
        else:
            ctx.reply(_("{case} is closed; its writer can reopen it."), case=case(letter))
        return
    if side is Side.WRITER:
        await follow_up(ctx, letter, text)
    else:
        await answer(ctx, letter, text)


async def answer(ctx: Context, letter: Letter, text: str) -> None:
    day, mailbox = today(ctx), ctx.store.get(Mailbox)
    author = (
        "admin"
        if ctx.who.is_admin and letter.branch_id not in ctx.who.secretary_of
        else "secretary"
    )
    await mailbox.add_entry(letter, "answer", author, ctx.who.member_id, text, today=day)
    letter.status = "answered"
    letter.last_step_on = day
    if letter.answered_on is None:
        letter.answered_on = day
        letter.escalations, letter.escalated_at = 0, None  # the resolution's own count now
    reader = await writer(ctx.store, letter, relay(ctx), may_open(ctx))
    if letter.anonymous:
        # One answer whatever became of it: whether (or on which platform) the writer can be
        # reached would say something about who they are.
        ctx.reply(
            _("Your answer to {case} is in its thread and on its way to its writer."),
            case=case(letter),
        )
        if reader is not None:
            queue(ctx, [Note(reader, _answer_text(ctx, reader, letter, text), vanish=True)])
        return
    if reader is not None:
        body = _answer_text(ctx, reader, letter, text)
        queue(ctx, [Note(reader, body, tag=f"{TAG}{letter.id}")])
        ctx.reply(_("Your answer to {case} was sent to its writer."), case=case(letter))
    else:
        ctx.reply(
            _(
                "Your answer to {case} is in its thread; its writer cannot be reached in a direct "
                "chat now and will see it with /mail show."
            ),
            case=case(letter),
        )


def _answer_text(ctx: Context, reader: Reader, letter: Letter, text: str) -> Markup:
    language = ctx.translator_for(reader.address, reader.locale)
    return Markup.join(
        [
            language(_("📮 **{case}**: an answer from your secretary:"), case=case(letter)),
            Markup.literal(text),
            language(
                _(
                    "Reply with `/reply {case} <text>`, close it with `/mail close {case}`, "
                    "or rate the answer with `/mail rate {case} <1-5>`."
                ),
                case=case(letter),
            ),
        ],
        "\n\n",
    )


async def follow_up(ctx: Context, letter: Letter, text: str) -> None:
    day, mailbox = today(ctx), ctx.store.get(Mailbox)
    await mailbox.add_entry(letter, "follow_up", "writer", ctx.who.member_id, text, today=day)
    if letter.status == "answered":
        letter.status = "new"
    letter.last_step_on = day
    if not letter.anonymous:
        await tell_answerers(ctx, letter, _("📮 **{case}**: a follow-up from its writer:"), text)
    ctx.reply(_("Your follow-up to {case} is sent."), case=case(letter), vanish=letter.anonymous)


async def tell_answerers(
    ctx: Context, letter: Letter, heading: str, text: str = "", **values: object
) -> None:
    """A signed writer's step, to those who answer the letter, now (an anonymous writer's
    wait for the release slot: ``dialogs.mailbox.deadlines``)."""
    people = await secretaries(ctx.store, ctx.settings, letter, may_open(ctx))
    notes = []
    for reader in people:
        language = ctx.translator_for(reader.address, reader.locale)
        parts = [language(heading, None, case=case(letter), **values)]
        if text:
            parts.append(Markup.literal(text))
        notes.append(Note(reader, Markup.join(parts, "\n\n"), tag=f"{TAG}{letter.id}"))
    queue(ctx, notes)


# -- the writer's close, reopen, rate -------------------------------------------------------


async def writers_letter(ctx: Context, number: int) -> Letter | None:
    found = await find(ctx, number)
    if found is None:
        return None
    letter, side = found
    if side is not Side.WRITER:
        ctx.reply(_("Only the writer of {case} can do that."), case=case(letter))
        return None
    return letter


@router.command(
    "mail close",
    summary=_("close your letter: the matter is settled"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Number("number", _("case number"), kind=CASE)],
)
async def close(ctx: Context, number: int) -> None:
    letter = await writers_letter(ctx, number)
    if letter is None:
        return
    hidden = letter.anonymous
    if letter.status == "closed":
        ctx.reply(_("{case} is already closed."), case=case(letter), vanish=hidden)
        return
    day = today(ctx)
    await ctx.store.get(Mailbox).add_entry(letter, "closed", "writer", ctx.who.member_id, today=day)
    letter.status, letter.closed_on, letter.last_step_on = "closed", day, day
    if not hidden:
        await tell_answerers(ctx, letter, _("📮 **{case}** was closed by its writer."))
    ctx.reply(
        _("{case} is closed. You can reopen it within {days} days: `/mail reopen {case}`."),
        case=case(letter),
        days=config(ctx).reopen_days,
        vanish=hidden,
    )


@router.command(
    "mail reopen",
    summary=_("reopen your closed letter"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Number("number", _("case number"), kind=CASE)],
)
async def reopen(ctx: Context, number: int) -> None:
    letter = await writers_letter(ctx, number)
    if letter is None:
        return
    hidden, day = letter.anonymous, today(ctx)
    if letter.status != "closed" or letter.closed_on is None:
        ctx.reply(_("{case} is not closed."), case=case(letter), vanish=hidden)
        return
    if (day - letter.closed_on).days > config(ctx).reopen_days:
        ctx.reply(
            _("{case} was closed more than {days} days ago; write a new letter with /mail."),
            case=case(letter),
            days=config(ctx).reopen_days,
            vanish=hidden,
        )
        return
    await ctx.store.get(Mailbox).add_entry(
        letter, "reopened", "writer", ctx.who.member_id, today=day
    )
    letter.status, letter.closed_on, letter.last_step_on = "reopened", None, day
    if not hidden:
        await tell_answerers(ctx, letter, _("📮 **{case}** was reopened by its writer."))
    ctx.reply(
        _("{case} is open again: add to it with `/reply {case} <text>`."),
        case=case(letter),
        vanish=hidden,
    )


@router.command(
    "mail rate",
    summary=_("rate the answer to your letter"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[
        Number("number", _("case number"), kind=CASE),
        Int("stars", _("1-5"), maximum=5, invalid=_("Rate from {minimum} to {maximum}.")),
    ],
)
async def rate(ctx: Context, number: int, stars: int) -> None:
    letter = await writers_letter(ctx, number)
    if letter is None:
        return
    hidden = letter.anonymous
    if letter.answered_on is None:
        ctx.reply(_("{case} has no answer to rate yet."), case=case(letter), vanish=hidden)
        return
    await ctx.store.get(Mailbox).add_entry(
        letter, "rated", "writer", ctx.who.member_id, detail={"stars": stars}, today=today(ctx)
    )
    letter.rating = stars
    if not hidden:
        template = _("📮 **{case}**: its writer rated the answer {stars} of 5.")
        await tell_answerers(ctx, letter, template, stars=stars)
    ctx.reply(
        _("Thank you: {case} is rated {stars} of 5."), case=case(letter), stars=stars, vanish=hidden
    )
