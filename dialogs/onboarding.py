"""Onboarding: help, branches, invites, joining, rooms, languages and linked accounts."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands import BranchArg, OneOf, Rest, Router, Where, Word, direct_only, help_text
from bot.context import Context
from bot.conversation import Dialog
from bot.i18n import LOCALES, _, _n, normalize_locale, translator
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Choice
from store.branches import branch_key, is_expired
from store.clock import now
from store.models import Branch

router = Router()

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: codes are read off phones and typed by hand."""
LANGUAGE_NAMES = {"zh_Hans": "中文", "en": "English"}
ROLE_NAMES = {"member": _("member"), "secretary": _("secretary")}


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def local_time(ctx: Context, moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%Y-%m-%d %H:%M")


def clean_code(text: str) -> str:
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", text)).upper()


async def member_id(ctx: Context) -> int:
    """The speaker's member id, creating the member the first time they need one."""
    if ctx.who.member_id is not None:
        return ctx.who.member_id
    ctx.mark_people_changed()
    return await ctx.store.people.ensure(
        ctx.event.platform, ctx.event.sender.id, ctx.event.sender.name
    )


# -- help ---------------------------------------------------------------------------------


@router.command("help", summary=_("what I can do for you"))
async def show_help(ctx: Context) -> None:
    ctx.reply(
        Markup.join(
            [ctx.t(_("**Commands you can use**")), help_text(ctx, ctx.commands.visible_to(ctx))]
        )
    )


@router.command(
    "start", summary=_("start here"), args=[Word("payload", _("code"), optional=True)], hidden=True
)
async def start(ctx: Context, payload: str | None) -> None:
    if payload and ctx.event.chat.direct:
        if direct_only(ctx.commands, payload) is not None:  # a group sent them (direct_link)
            await ctx.commands.dispatch(ctx, payload, ())
            return
        for prefix, handler in ctx.commands.start_payloads.items():
            if payload.startswith(prefix):
                await handler(ctx, payload[len(prefix) :])
                return
        await redeem(ctx, payload)
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


# -- who am I -----------------------------------------------------------------------------


@router.command("me", summary=_("your branch, roles and language"))
async def me(ctx: Context) -> None:
    who = ctx.who
    roles = []
    if who.branch_name:
        roles.append(ctx.t(_("member of {branch}"), branch=who.branch_name))
    roles.extend(
        ctx.t(_("secretary of {branch}"), branch=name) for name in sorted(who.secretary_of.values())
    )
    if who.is_admin:
        roles.append(ctx.t(_("admin")))
    lines = [ctx.t(_("**{name}**"), name=who.name)]
    if who.branch_name:
        lines.append(ctx.t(_("Branch: {branch}"), branch=who.branch_name))
    else:
        lines.append(ctx.t(_("Branch: none yet. Ask your secretary for an invite code.")))
    if roles:
        lines.append(ctx.t(_("Roles: {roles}"), roles=ctx.listing(r.plain() for r in roles)))
    lines.append(
        ctx.t(
            _("Language: {language} (/lang to change)"),
            language=LANGUAGE_NAMES[ctx.personal.locale],
        )
    )
    if len(who.identities) > 1:
        lines.append(ctx.t(_("Linked accounts: {accounts}"), accounts=ctx.listing(who.identities)))
    for section in ctx.commands.profile_sections:
        lines.extend(await section(ctx))
    ctx.reply(Markup.join(lines))


# -- language -----------------------------------------------------------------------------


async def room_branch(ctx: Context) -> Branch | None:
    """The branch whose language ``/lang`` in this room sets, if the speaker may set it;
    otherwise says why not and returns ``None``."""
    room = await ctx.store.rooms.by_chat(ctx.event.platform, ctx.event.chat.id)
    branch = await ctx.store.branches.get(room.branch_id) if room is not None else None
    if branch is None:
        ctx.reply(
            _(
                "This room is not bound to a branch, so I speak the organisation's language "
                "here. Send /lang to me in a direct chat to choose yours."
            )
        )
        return None
    if not ctx.who.manages(branch.id):
        ctx.reply(
            _(
                "Only the secretaries of {branch} and admins can choose the language of its "
                "rooms. Send /lang to me in a direct chat to choose yours."
            ),
            branch=branch.name,
        )
        return None
    return branch


async def set_language(ctx: Context, locale: str) -> None:
    """In a direct chat, the speaker's language; in a room, its branch's (every room of it)."""
    if ctx.event.chat.direct:
        await ctx.store.people.set_locale(await member_id(ctx), locale)
        ctx.mark_people_changed()
        ctx.reply(translator(locale, locale)(_("I will speak English with you from now on.")))
        return
    branch = await room_branch(ctx)
    if branch is None:
        return
    await ctx.store.branches.set_locale(branch.id, locale)
    ctx.room_locale = locale
    ctx.reply(_("I will speak English in the rooms of {branch} from now on."), branch=branch.name)


class LanguageDialog(Dialog):
    name = "language"
    states = ["choosing"]
    initial = "choosing"

    async def begin(self, ctx: Context, **arguments: Any) -> None:
        ctx.reply(
            _("Which language shall I use?"),
            choices=[[Choice(LANGUAGE_NAMES[code], code) for code in LOCALES]],
        )

    async def on_choice(self, ctx: Context, payload: str) -> None:
        if payload in LOCALES:
            await set_language(ctx, payload)
            self.finish()

    async def on_text(self, ctx: Context, text: str) -> None:
        locale = normalize_locale(text)
        if locale is None:
            ctx.reply(_("Please choose 中文 or English."))
            return
        await set_language(ctx, locale)
        self.finish()


@router.command(
    "lang",
    summary=_("choose your language"),
    args=[OneOf("language", _("language"), optional=True, options=("zh", "en"))],
)
async def lang(ctx: Context, language: str | None) -> None:
    locale = normalize_locale(language)
    if locale is None:
        if ctx.event.chat.direct or await room_branch(ctx) is not None:
            await ctx.start(LanguageDialog)
    else:
        await set_language(ctx, locale)


# -- branches -----------------------------------------------------------------------------


@router.command(
    "branch add", summary=_("create a branch"), role=Role.ADMIN, args=[Rest("name", _("name"))]
)
async def branch_add(ctx: Context, name: str) -> None:
    name = " ".join(name.split())
    if len(branch_key(name)) > 64 or any(unicodedata.category(c)[0] == "C" for c in name):
        ctx.reply(_("A branch name can be at most 64 characters long."))
        return
    branch = await ctx.store.branches.add(name)
    if branch is None:
        ctx.reply(_("A branch called “{name}” already exists."), name=name)
        return
    ctx.reply(
        _("Branch **{name}** created. Invite its secretary with `/invite {name} secretary`."),
        name=branch.name,
    )


@router.command("branches", summary=_("list the branches"), role=Role.ADMIN)
async def branches(ctx: Context) -> None:
    summaries = await ctx.store.branches.summaries()
    if not summaries:
        ctx.reply(_("There are no branches yet. Create one with `/branch add <name>`."))
        return
    lines = [ctx.t(_n("**{count} branch**", "**{count} branches**"), count=len(summaries))]
    for branch in summaries:
        lines.append(
            Markup.format("• **{name}** — ", name=branch.name)
            + ctx.translator.join(
                [
                    ctx.t(_n("{count} member", "{count} members"), count=branch.members),
                    ctx.t(_n("{count} secretary", "{count} secretaries"), count=branch.secretaries),
                    ctx.t(_n("{count} room", "{count} rooms"), count=branch.rooms),
                ]
            )
        )
    ctx.reply(Markup.join(lines))


# -- invites ------------------------------------------------------------------------------


async def create_invite(ctx: Context, branch: Branch, role: str) -> None:
    if role == "secretary" and not ctx.who.is_admin:
        ctx.reply(
            _(
                "Only admins can invite secretaries. You can invite members: "
                "`/invite {branch} member`."
            ),
            branch=branch.name,
        )
        return
    code = new_code()
    expires = now() + timedelta(days=ctx.settings.invite_days)
    inviter = await member_id(ctx)
    await ctx.store.invites.create(code, branch.id, role, inviter, expires)
    lines = [
        ctx.t(
            _("Invite to **{branch}** as {role}, for one person, valid until {until}:"),
            branch=branch.name,
            role=ctx.text(ROLE_NAMES[role]),
            until=local_time(ctx, expires),
        ),
        Markup.format("`{code}`", code=code),
        ctx.t(
            _(
                "They send `/join {code}` to me in a direct chat. Withdraw it with "
                "`/revoke {code}`."
            ),
            code=code,
        ),
    ]
    if ctx.capabilities.deep_link:
        link = ctx.capabilities.deep_link.replace("{payload}", code)
        lines.append(ctx.t(_("Or they open this link: [{link}]({link})"), link=link))
    ctx.reply(Markup.join(lines))


def managed_branches(ctx: Context, all_branches: list[Branch]) -> list[Branch]:
    return [b for b in all_branches if ctx.who.manages(b.id)]


class InviteDialog(Dialog):
    """``/invite`` without arguments: pick the branch, then the role, with buttons."""

    name = "invite"
    states = ["choosing_branch", "choosing_role"]
    transitions = [
        {"trigger": "branch_chosen", "source": "choosing_branch", "dest": "choosing_role"}
    ]
    initial = "choosing_branch"

    async def begin(self, ctx: Context, **arguments: Any) -> None:
        choices = managed_branches(ctx, await ctx.store.branches.all())
        if not choices:
            ctx.reply(_("There are no branches yet. Create one with `/branch add <name>`."))
            self.finish()
            return
        if len(choices) == 1:
            await self.choose_branch(ctx, choices[0])
            return
        ctx.reply(
            _("Invite to which branch? (or type its name)"),
            choices=[[Choice(b.name, str(b.id))] for b in choices[:24]],
        )

    async def choose_branch(self, ctx: Context, branch: Branch) -> None:
        if not ctx.who.manages(branch.id):
            ctx.reply(
                _("Only the secretaries of {branch} and admins can use /{command} for it."),
                branch=branch.name,
                command="invite",
            )
            return
        self.data["branch_id"] = branch.id
        if not ctx.who.is_admin:
            await create_invite(ctx, branch, "member")
            self.finish()
            return
        self.trigger("branch_chosen")
        ctx.update(
            _("Invite to {branch} as a member or a secretary?"),
            branch=branch.name,
            choices=[[Choice(ctx.text(ROLE_NAMES[r]), r) for r in ("member", "secretary")]],
        )

    async def on_choice(self, ctx: Context, payload: str) -> None:
        if self.state == "choosing_branch":
            branch = await ctx.store.branches.get(int(payload)) if payload.isdigit() else None
            if branch is not None:
                await self.choose_branch(ctx, branch)
            return
        branch = await ctx.store.branches.get(self.data["branch_id"])
        if branch is None or payload not in ROLE_NAMES:
            ctx.reply(_("That branch no longer exists."))
            self.finish()
            return
        await create_invite(ctx, branch, payload)
        self.finish()

    async def on_text(self, ctx: Context, text: str) -> None:
        if self.state == "choosing_branch":
            branch = await ctx.store.branches.by_name(text)
            if branch is None:
                ctx.reply(_("There is no branch called “{name}”."), name=text)
                return
            await self.choose_branch(ctx, branch)
            return
        typed = text.strip().lower()
        role = next(
            (r for r, label in ROLE_NAMES.items() if typed in (r, ctx.text(label).lower())), None
        )
        if role is not None:
            await self.on_choice(ctx, role)
        else:
            ctx.reply(_("Please choose member or secretary."))


@router.command(
    "invite",
    summary=_("make a one-time invite code"),
    role=Role.SECRETARY,
    args=[
        BranchArg("branch", _("branch"), optional=True, managed=True),
        OneOf("role", _("role"), optional=True, options=("member", "secretary")),
    ],
)
async def invite(ctx: Context, branch: Branch | None, role: str | None) -> None:
    if branch is None:
        await ctx.start(InviteDialog)
    else:
        await create_invite(ctx, branch, role or "member")


@router.command(
    "revoke",
    summary=_("withdraw an unused invite code"),
    role=Role.SECRETARY,
    args=[Word("code", _("code"))],
)
async def revoke(ctx: Context, code: str) -> None:
    invite = await ctx.store.invites.by_code(clean_code(code))
    if invite is None:
        ctx.reply(_("There is no invite code {code}."), code=clean_code(code))
        return
    branch = await ctx.store.branches.get(invite.branch_id)
    if branch is None or not ctx.who.manages(branch.id):
        ctx.reply(_("Only the secretaries of that branch and admins can withdraw this code."))
        return
    if invite.used_by is not None:
        ctx.reply(_("Code {code} has already been used; it cannot be withdrawn."), code=invite.code)
    elif invite.revoked_at is not None:
        ctx.reply(_("Code {code} was already withdrawn."), code=invite.code)
    else:
        await ctx.store.invites.revoke(invite.code)
        ctx.reply(
            _("Code {code} for {branch} is withdrawn: nobody can join with it now."),
            code=invite.code,
            branch=branch.name,
        )


# -- joining ------------------------------------------------------------------------------


async def redeem(ctx: Context, raw: str) -> bool:
    """Join with an invite code; every refusal says why and changes nothing."""
    code = clean_code(raw)
    invite = await ctx.store.invites.by_code(code) if code else None
    if invite is None:
        ctx.reply(
            _("{code} is not a valid invite code. Check it, or ask your secretary for a new one."),
            code=code or raw.strip(),
        )
        return False
    if invite.revoked_at is not None:
        ctx.reply(_("That invite code was withdrawn. Ask your secretary for a new one."))
        return False
    if invite.used_by is not None:
        ctx.reply(
            _(
                "That invite code has already been used. Each code works once; ask your "
                "secretary for a new one."
            )
        )
        return False
    if is_expired(invite.expires_at):
        ctx.reply(_("That invite code expired. Ask your secretary for a new one."))
        return False
    branch = await ctx.store.branches.get(invite.branch_id)
    if branch is None:
        ctx.reply(_("That invite's branch no longer exists."))
        return False
    who = ctx.who
    if invite.role == "member":
        if who.branch_id == branch.id:
            ctx.reply(_("You are already a member of {branch}."), branch=branch.name)
            return False
        if who.branch_id is not None:
            ctx.reply(
                _(
                    "You are a member of {current}. A person belongs to one branch: ask an "
                    "admin to move you to {branch}."
                ),
                current=who.branch_name or "",
                branch=branch.name,
            )
            return False
    elif branch.id in who.secretary_of:
        ctx.reply(_("You are already a secretary of {branch}."), branch=branch.name)
        return False
    joined = await member_id(ctx)
    if not await ctx.store.invites.use(invite.code, joined):
        ctx.reply(
            _(
                "That invite code has already been used. Each code works once; ask your "
                "secretary for a new one."
            )
        )
        return False
    if who.branch_id is None:
        await ctx.store.people.set_branch(joined, branch.id)
    if invite.role == "secretary":
        await ctx.store.people.add_secretary(joined, branch.id)
        ctx.reply(
            _(
                "Welcome! You are now a secretary of **{branch}**. Bind your branch's group "
                "room by sending `/bind {branch}` there. /help shows what you can do."
            ),
            branch=branch.name,
        )
    else:
        ctx.reply(_("Welcome to **{branch}**! /help shows what you can do."), branch=branch.name)
    ctx.mark_people_changed()
    return True


class JoinDialog(Dialog):
    """``/join`` without a code: ask for it, and keep asking until it works or /cancel."""

    name = "join"
    states = ["waiting_code"]
    initial = "waiting_code"

    async def begin(self, ctx: Context, **arguments: Any) -> None:
        ctx.reply(_("Please send me your invite code (or /cancel)."))

    async def on_text(self, ctx: Context, text: str) -> None:
        if await redeem(ctx, text):
            self.finish()


@router.command(
    "join",
    summary=_("join your branch with an invite code"),
    where=Where.DIRECT,
    args=[Word("code", _("code"), optional=True)],
)
async def join(ctx: Context, code: str | None) -> None:
    if code is None:
        await ctx.start(JoinDialog)
    else:
        await redeem(ctx, code)


# -- rooms --------------------------------------------------------------------------------


@router.command(
    "bind",
    summary=_("make this group room your branch's room"),
    role=Role.SECRETARY,
    where=Where.GROUP,
    args=[BranchArg("branch", _("branch"), managed=True)],
)
async def bind(ctx: Context, branch: Branch) -> None:
    chat = ctx.event.chat
    room = await ctx.store.rooms.by_chat(ctx.event.platform, chat.id)
    if room is not None and room.branch_id == branch.id:
        ctx.reply(_("This room is already bound to {branch}."), branch=branch.name)
        return
    if room is not None:
        previous = await ctx.store.branches.get(room.branch_id)
        if previous is not None and not ctx.who.manages(previous.id):
            ctx.reply(
                _(
                    "This room belongs to {branch}; only its secretaries or an admin can "
                    "change that."
                ),
                branch=previous.name,
            )
            return
    await ctx.store.rooms.bind(
        ctx.event.platform, chat.id, branch.id, chat.title, await member_id(ctx)
    )
    ctx.room_locale = branch.locale  # the room speaks its branch's language from here on
    ctx.reply(
        _("This room is now bound to **{branch}**. Branch notices will be posted here."),
        branch=branch.name,
    )


@router.command(
    "unbind",
    summary=_("stop using this group room for its branch"),
    role=Role.SECRETARY,
    where=Where.GROUP,
)
async def unbind(ctx: Context) -> None:
    room = await ctx.store.rooms.by_chat(ctx.event.platform, ctx.event.chat.id)
    if room is None:
        ctx.reply(_("This room is not bound to a branch."))
        return
    branch = await ctx.store.branches.get(room.branch_id)
    name = branch.name if branch else "?"
    if not ctx.who.manages(room.branch_id):
        ctx.reply(
            _("This room belongs to {branch}; only its secretaries or an admin can change that."),
            branch=name,
        )
        return
    await ctx.store.rooms.unbind(ctx.event.platform, ctx.event.chat.id)
    ctx.reply(_("This room is no longer bound to {branch}."), branch=name)


# -- linking accounts ---------------------------------------------------------------------


@router.command(
    "link",
    summary=_("link your accounts on other platforms"),
    where=Where.DIRECT,
    args=[Word("code", _("link code"), optional=True)],
)
async def link(ctx: Context, code: str | None) -> None:
    mine = await member_id(ctx)
    if code is None:
        new = new_code()
        minutes = ctx.settings.link_minutes
        await ctx.store.links.create(
            new, mine, ctx.event.platform, now() + timedelta(minutes=minutes)
        )
        ctx.reply(
            Markup.join(
                [
                    ctx.t(_("Your link code, valid for {minutes} minutes:"), minutes=minutes),
                    Markup.format("`{code}`", code=new),
                    ctx.t(
                        _(
                            "Send `/link {code}` to me from your other account; both accounts then "
                            "become one."
                        ),
                        code=new,
                    ),
                ]
            )
        )
        return
    taken = await ctx.store.links.valid(clean_code(code))
    if taken is None:
        ctx.reply(
            _(
                "That link code is not valid or has expired. Send /link from your other "
                "account to get a new one."
            )
        )
        return
    if taken.member_id == mine:
        ctx.reply(_("That link code came from this same account. Send it from your other account."))
        return
    await ctx.store.links.spend(taken)
    await ctx.store.people.merge(keep=taken.member_id, absorb=mine)
    ctx.mark_people_changed()
    ctx.reply(
        _("Done: this account is now linked to your account on {platform}."),
        platform=taken.platform,
    )


DIALOGS: list[type[Dialog]] = [LanguageDialog, InviteDialog, JoinDialog]
