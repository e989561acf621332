"""Secretaries acting on a letter: ``/mail pass`` (to another secretary of the branch or up to
the admins, with a note) and ``/mail block`` (its writer may not write again for a time; who
they are stays unknown, to the secretary too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot.commands import Int, Number, Rest
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from bot.recipients import may_open, queue
from dialogs.mailbox.answering import Side, answers_letter, find, text_after
from dialogs.mailbox.common import CASE, config, relay, router, today
from dialogs.mailbox.posts import case, letter_notes, secretaries
from dialogs.mailbox.repository import Mailbox
from dialogs.mailbox.tables import Letter
from store.models import Member, Secretary

ADMINS = "admins"


async def answerers_letter(ctx: Context, number: int) -> Letter | None:
    found = await find(ctx, number)
    if found is None:
        return None
    letter, side = found
    if side is not Side.ANSWERER and not answers_letter(ctx, letter):
        ctx.reply(
            _("Only those who answer {case} can do that."),
            case=case(letter),
            vanish=letter.anonymous,
        )
        return None
    return letter


@router.command(
    "mail pass",
    summary=_("pass a letter to another secretary or to the admins, with a note"),
    role=Role.SECRETARY,
    args=[Number("number", _("case number"), kind=CASE), Rest("note", _("note"), optional=True)],
)
async def mail_pass(ctx: Context, number: int, note: str | None) -> None:
    letter = await answerers_letter(ctx, number)
    if letter is None:
        return
    await PassLetter.start(ctx, PassArguments(letter.id, text_after(ctx, 3) or note or ""))


@dataclass(frozen=True, slots=True)
class PassArguments:
    letter_id: int
    note: str


class PassLetter(Dialog[PassArguments]):
    name = "mail_pass"
    slot = "mail_pass"
    states = ["to"]

    async def setup(self, ctx: Context, arguments: PassArguments) -> None:
        self.data.update(
            letter=arguments.letter_id, note=arguments.note[: config(ctx).text_max_length]
        )

    async def on_enter_to(self, ctx: Context) -> None:
        letter = await ctx.store.get(Mailbox).by_id(self.data["letter"])
        if letter is None:
            self.finish()
            return
        choices = [[Choice(ctx.text(_("The admins")), ADMINS)]]
        if letter.branch_id is not None:
            rows = await ctx.store.session.execute(
                select(Member.id, Member.display_name)
                .join(Secretary, Secretary.member_id == Member.id)
                .where(Secretary.branch_id == letter.branch_id, Member.id != ctx.who.member_id)
                .order_by(Member.display_name)
                .limit(10)
            )
            choices += [
                [Choice(name or f"#{member_id}", f"m{member_id}")] for member_id, name in rows
            ]
        ctx.reply(_("Pass {case} to whom?"), case=case(letter), choices=choices)

    @answers("to")
    async def chose(self, ctx: Context, payload: str) -> None:
        mailbox = ctx.store.get(Mailbox)
        letter = await mailbox.by_id(self.data["letter"])
        if letter is None or not answers_letter(ctx, letter):
            self.finish()
            return
        day = today(ctx)
        if payload == ADMINS:
            letter.with_admins, letter.assignee_id = True, None
            detail: dict[str, object] = {"to": ADMINS}
            shown = ctx.text(_("the admins"))
        elif payload.startswith("m") and payload[1:].isdecimal():
            member_id = int(payload[1:])
            is_secretary = await ctx.store.session.scalar(
                select(Secretary.member_id).where(
                    Secretary.member_id == member_id, Secretary.branch_id == letter.branch_id
                )
            )
            if is_secretary is None:
                return
            member = await ctx.store.session.get(Member, member_id)
            letter.assignee_id, letter.with_admins = member_id, False
            detail = {"to": member_id}
            shown = member.display_name if member else f"#{member_id}"
        else:
            return
        note = self.data["note"]
        await mailbox.add_entry(
            letter,
            "passed",
            "admin" if ctx.who.is_admin else "secretary",
            ctx.who.member_id,
            note,
            detail,
            today=day,
        )
        letter.reminded = 0
        people = await secretaries(ctx.store, ctx.settings, letter, may_open(ctx))
        notes = await letter_notes(
            ctx.store,
            letter,
            await _letter_text(mailbox, letter),
            people,
            ctx.settings,
            day,
        )
        if note:
            for reader in people:
                language = ctx.translator_for(reader.address, reader.locale)
                ctx.send_to(
                    reader.address,
                    Markup.join(
                        [
                            language(
                                _("📮 **{case}** was passed to you by {name}, with a note:"),
                                case=case(letter),
                                name=ctx.who.name,
                            ),
                            Markup.literal(note),
                        ],
                        "\n\n",
                    ),
                    locale=reader.locale,
                    tag=f"mail:{letter.id}",
                )
        queue(ctx, notes)
        ctx.reply(_("{case} is passed to {name}."), case=case(letter), name=shown)
        self.finish()


async def _letter_text(mailbox: Mailbox, letter: Letter) -> str:
    entries = await mailbox.thread(letter.id)
    return next((entry.text for entry in entries if entry.kind == "letter"), "")


@router.command(
    "mail block",
    summary=_("keep the writer of an abusive letter from writing, for a time"),
    role=Role.SECRETARY,
    args=[
        Number("number", _("case number"), kind=CASE),
        Int("days", _("days"), optional=True, maximum=3650),
    ],
)
async def mail_block(ctx: Context, number: int, days: int | None) -> None:
    letter = await answerers_letter(ctx, number)
    if letter is None:
        return
    mailbox, key, day = ctx.store.get(Mailbox), relay(ctx), today(ctx)
    writer_id = await mailbox.writer_of(letter, key)
    if writer_id is None:
        ctx.reply(
            _("The writer of {case} can no longer be found; nothing was changed."),
            case=case(letter),
        )
        return
    until = day + timedelta(days=days or config(ctx).block_days)
    await mailbox.block(letter, writer_id, ctx.who.member_id, until, key, day)
    await mailbox.add_entry(
        letter,
        "blocked",
        "admin" if ctx.who.is_admin else "secretary",
        ctx.who.member_id,
        detail={"until": until.isoformat()},
        today=day,
    )
    ctx.reply(
        _(
            "The writer of {case} cannot send letters until {until}. Who they are is not shown to "
            "anyone; admins see that this block exists (/mail blocks)."
        ),
        case=case(letter),
        until=ctx.translator.day(until),
    )
