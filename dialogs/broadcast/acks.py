"""Acknowledgements: the "received" button (or its number typed in a direct chat where there
are no buttons)
and ``/acks <N12>``: the rate per branch and who has not confirmed yet."""

from __future__ import annotations

from bot.commands import Number, Router
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.numbers import NOTICE
from dialogs.broadcast.fanout import ANSWER_AT, stored_notice
from store.broadcasts import Broadcasts

router = Router()

MISSING_SHOWN = 20


async def record(ctx: Context, broadcast_id: int) -> None:
    """Record the speaker's acknowledgement once. In a room the answer goes to their direct
    chat (or nowhere), so a room full of presses does not flood the room."""
    if ctx.who.member_id is None:
        outcome = None
    else:
        outcome = await ctx.store.get(Broadcasts).acknowledge(broadcast_id, ctx.who.member_id)
    if outcome is True:
        message = _("Thank you: your “received” for {number} is recorded.")
    elif outcome is False:
        message = _("Your “received” for {number} was already recorded.")
    else:
        message = _("Notice {number} was not addressed to you; nothing was recorded.")
    number = NOTICE.format(broadcast_id)
    if ctx.event.chat.direct:
        ctx.reply(message, number=number)
    elif ctx.who.direct_chats.get(ctx.event.platform):
        ctx.reply_direct(message, number=number)


@router.button("ack")
async def pressed(ctx: Context, rest: str) -> None:
    if not rest.isdecimal() or len(rest) > 12:
        ctx.reply(_("That button is no longer in use."))
        return
    await record(ctx, int(rest))


@router.start_payload(ANSWER_AT.removesuffix("{}"))
async def opened_from_a_group(ctx: Context, rest: str) -> None:
    """A group that cannot take answers links its notice here (``fanout.ANSWER_AT``): the
    notice again, with its "received" button, for the member it was addressed to; anyone
    else learns nothing of it (the link is the same for the whole group and can be passed on)."""
    if not rest.isdecimal() or len(rest) > 12:
        ctx.reply(_("That link is no longer in use."))
        return
    if not ctx.members_only():
        return
    assert ctx.who.member_id is not None
    store = ctx.store.get(Broadcasts)
    broadcast = await store.get(int(rest))
    receipt = None
    if broadcast is not None and broadcast.ack:
        receipt = await store.receipt(broadcast.id, ctx.who.member_id)
    number = NOTICE.format(int(rest))
    if broadcast is None or receipt is None:
        ctx.reply(_("Notice {number} was not addressed to you."), number=number)
    elif receipt[0] is not None:
        ctx.reply(_("Your “received” for {number} was already recorded."), number=number)
    else:
        shown = stored_notice(broadcast, ctx.translator.locale, ctx.settings.default_locale)
        ctx.reply(shown.text, choices=[list(row) for row in shown.choices])


@router.number
async def typed(ctx: Context, number: int) -> bool:
    """A number typed in a direct chat on a platform without buttons: the choice of that number
    in the last numbered message this chat got (a merged message numbers several notices).
    In a room nobody can tell whose list a number answers, so it is left alone there."""
    if not ctx.event.chat.direct or ctx.capabilities.buttons or ctx.who.member_id is None:
        return False
    offered = await ctx.store.outbox.last_choices(ctx.event.platform, ctx.event.chat.id)
    if not 1 <= number <= len(offered):
        return False
    prefix, _colon, rest = offered[number - 1].partition(":")
    if prefix != "ack" or not rest.isdecimal() or len(rest) > 12:
        return False
    await record(ctx, int(rest))
    return True


@router.command(
    "acks",
    summary=_("who has confirmed a notice"),
    role=Role.SECRETARY,
    args=[Number("number", _("notice number"), kind=NOTICE)],
)
async def acks(ctx: Context, number: int) -> None:
    shown = NOTICE.format(number)
    broadcast = await ctx.store.get(Broadcasts).get(number)
    if broadcast is None:
        ctx.reply(_("There is no notice {number}."), number=shown)
        return
    if not broadcast.ack:
        ctx.reply(_("Notice {number} did not ask for “received”."), number=shown)
        return
    scope = None if ctx.who.is_admin else list(ctx.who.secretary_of)
    branches = await ctx.store.get(Broadcasts).acks_by_branch(broadcast.id, scope)
    if not branches:
        # Say why nothing is counted: only an admin's empty answer means nobody was addressed.
        if scope is not None:
            message = _("Notice {number} has no recipients in your branches.")
        elif not broadcast.members:
            message = _(
                "{number} went to the branch rooms only, and those branches have no members: "
                "presses of “received” in a room are counted per member, so there is nothing "
                "to count."
            )
        else:
            message = _("{number} reached no members: there is nothing to count.")
        ctx.reply(message, number=shown)
        return
    lines = [ctx.t(_("**Received, {number}**"), number=shown)]
    if not broadcast.members:
        lines.append(
            ctx.t(
                _(
                    "{number} went to the branch rooms only: each member's press of “received” "
                    "there is counted for them."
                ),
                number=shown,
            )
        )
    for entry in branches:
        lines.append(
            ctx.t(
                _("{branch}: {acked}/{total} ({percent}%)"),
                branch=entry.branch,
                acked=entry.acked,
                total=entry.total,
                percent=round(100 * entry.acked / entry.total),
            )
        )
        for names, heading in (
            (entry.missing, _("Not yet: {names}")),
            (entry.undelivered, _("Not reached in their direct chat: {names}")),
        ):
            if names:
                shown = ctx.listing(names[:MISSING_SHOWN])
                more = len(names) - MISSING_SHOWN
                lines.append(
                    ctx.t(heading, names=shown)
                    + (ctx.t(_(" and {count} more"), count=more) if more > 0 else Markup())
                )
    ctx.reply(Markup.join(lines))
