"""The commands every bot has, whatever its features: ``/help``, ``/start``, ``/cancel``, ``/me``,
and ``/privacy`` once a feature says something there (``privacy_router``, composed after them).

They are built over the composed router (``builtin_router(commands)``), so ``/help`` lists
every feature's commands and ``/start`` hands deep links to the feature that made them, and the
``Context`` needs no router. Features add to them only through declarations on their own
``Router``: ``@router.profile_section`` (lines of ``/me``), ``@router.privacy_section`` (lines
of ``/privacy``) and ``@router.start_payload(prefix)``.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.commands import Router, Word, direct_only, help_text
from bot.context import Context
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup

LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}
"""Each language by its own name, as ``/me`` and the language choice show it."""


def role_list(
    translate: Callable[..., Markup],
    branch: str | None,
    secretary_of: list[str],
    admin: bool,
) -> str:
    """ "member of A, secretary of B, admin", in the reader's language (``translate``)."""
    roles = []
    if branch:
        roles.append(translate(_("member of {branch}"), branch=branch))
    roles.extend(
        translate(_("secretary of {branch}"), branch=name) for name in sorted(secretary_of)
    )
    if admin:
        roles.append(translate(_("admin")))
    if not roles:
        return translate(_("no branch and no role yet")).plain()
    return translate(_(", ")).plain().join(r.plain() for r in roles)


def builtin_router(commands: Router) -> Router:
    """The built-in commands, answering over ``commands``: the router they are included in,
    with every feature's commands, ``/me`` sections and deep-link prefixes."""
    router = Router()

    @router.command("help", summary=_("what I can do for you"))
    async def show_help(ctx: Context) -> None:
        ctx.reply(
            Markup.join(
                [ctx.t(_("**Commands you can use**")), help_text(ctx, commands.visible_to(ctx))]
            )
        )

    @router.command(
        "start",
        summary=_("start here"),
        args=[Word("payload", _("code"), optional=True)],
        hidden=True,
    )
    async def start(ctx: Context, payload: str | None) -> None:
        if payload and ctx.event.chat.direct:
            if direct_only(commands, payload) is not None:  # a group sent them (direct_link)
                await commands.dispatch(ctx, payload, ())
                return
            if await commands.open_payload(ctx, payload):
                return
        ctx.reply(_("Hello {name}! I am the branch assistant."), name=ctx.who.name)
        if not ctx.who.has(Role.MEMBER):
            ctx.reply(
                _(
                    "To join your branch, send `/join <code>` with the invite code your "
                    "secretary gave you."
                )
            )
        await show_help(ctx)

    @router.command("cancel", summary=_("stop what I am asking"))
    async def cancel(ctx: Context) -> None:
        if ctx.cancel():
            ctx.reply(_("Stopped. Nothing more will be asked."))
        else:
            ctx.reply(_("There is nothing to stop."))

    @router.command("me", summary=_("your branch, roles and language"))
    async def me(ctx: Context) -> None:
        lines = profile(ctx)
        for section in commands.profile_sections:
            lines.extend(await section(ctx))
        ctx.reply(Markup.join(lines))

    return router


def privacy_router(commands: Router) -> Router:
    """``/privacy``: what each feature says it stores, and who sees it (its sections)."""
    router = Router()

    @router.command("privacy", summary=_("what is stored about you, and who sees it"))
    async def privacy(ctx: Context) -> None:
        parts = [Markup.join(await section(ctx)) for section in commands.privacy_sections]
        ctx.reply(Markup.join(parts, "\n\n"))

    return router


def profile(ctx: Context) -> list[Markup]:
    """The frame of ``/me``: who the caller is, their branch, roles, account and language."""
    who = ctx.who
    lines = [ctx.t(_("**{name}**"), name=who.name)]
    if who.branch_name:
        lines.append(ctx.t(_("Branch: {branch}"), branch=who.branch_name))
    elif who.is_admin:
        lines.append(
            ctx.t(
                _(
                    "Branch: none. As an admin you can join one: `/invite <branch>`, then "
                    "`/join <code>` here."
                )
            )
        )
    else:
        lines.append(
            ctx.t(
                _(
                    "Branch: none yet. Send `/join <code>` with the invite code a secretary "
                    "of your branch gives you."
                )
            )
        )
    if who.branch_name or who.secretary_of or who.is_admin:
        roles = role_list(ctx.t, who.branch_name, list(who.secretary_of.values()), who.is_admin)
        lines.append(ctx.t(_("Roles: {roles}"), roles=roles))
    lines.append(ctx.t(_("Account: `{account}`"), account=who.identity))
    lines.append(
        ctx.t(
            _("Language: {language} (/lang to change)"),
            language=LANGUAGE_NAMES[ctx.personal.locale],
        )
    )
    if len(who.identities) > 1:
        lines.append(ctx.t(_("Linked accounts: {accounts}"), accounts=ctx.listing(who.identities)))
    return lines
