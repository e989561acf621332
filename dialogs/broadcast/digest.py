"""``/digest add <text>``: queue a line for the next digest (the branch's for a secretary, the
organisation's for an admin); ``/digest`` shows what is queued. The digest schedule folds them
into one message per branch; an empty digest is not sent."""

from __future__ import annotations

from bot.commands import BranchArg, Rest, Router
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from store.broadcasts import Broadcasts
from store.models import Branch

router = Router()

MAX_ITEM = 500


@router.command(
    "digest add",
    summary=_("queue a line for the next digest"),
    role=Role.SECRETARY,
    args=[Rest("text", _("text"))],
)
async def digest_add(ctx: Context, text: str) -> None:
    text = " ".join(text.split())
    if len(text) > MAX_ITEM:
        ctx.reply(_("A digest line can be at most {most} characters long."), most=MAX_ITEM)
        return
    if ctx.who.is_admin:
        branch_id = None
        scope = ctx.text(_("the organisation"))
    elif len(ctx.who.secretary_of) == 1:
        ((branch_id, scope),) = ctx.who.secretary_of.items()
    else:
        ctx.reply(_("You manage several branches: use `/digest for <branch> <text>`."))
        return
    await ctx.store.get(Broadcasts).add_digest_item(branch_id, text, ctx.who.member_id)
    ctx.reply(_("Queued for the next digest of {scope}."), scope=scope)


@router.command(
    "digest for",
    summary=_("queue a digest line for one branch"),
    role=Role.SECRETARY,
    args=[BranchArg("branch", _("branch"), managed=True), Rest("text", _("text"))],
    hidden=True,
)
async def digest_for(ctx: Context, branch: Branch, text: str) -> None:
    text = " ".join(text.split())
    if len(text) > MAX_ITEM:
        ctx.reply(_("A digest line can be at most {most} characters long."), most=MAX_ITEM)
        return
    await ctx.store.get(Broadcasts).add_digest_item(branch.id, text, ctx.who.member_id)
    ctx.reply(_("Queued for the next digest of {scope}."), scope=branch.name)


@router.command("digest", summary=_("what the next digest holds"), role=Role.SECRETARY)
async def digest_show(ctx: Context) -> None:
    items = await ctx.store.get(Broadcasts).queued_digest()
    mine = [i for i in items if i.branch_id is None or ctx.who.manages(i.branch_id)]
    if not mine:
        ctx.reply(_("The next digest is empty, so it will not be sent."))
        return
    lines = [ctx.t(_("**Next digest**"))]
    lines += [Markup.format("• {text}", text=item.text) for item in mine]
    ctx.reply(Markup.join(lines))
