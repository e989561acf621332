"""Onboarding: branches, invites, joining, rooms, languages and linked accounts."""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.builtins import LANGUAGE_NAMES, role_list
from bot.commands import (
    BranchArg,
    May,
    OneOf,
    Option,
    Rest,
    Router,
    Where,
    Word,
    shorten,
)
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.feature import Feature
from bot.i18n import ALIASES, LOCALES, _, _n, normalize_locale, translator
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Address, Choice
from store.attempts import CODE_WINDOW
from store.branches import MAX_NAME, branch_key, is_expired
from store.models import Branch, LinkCode
from store.people import Account, Person

router = Router()

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I/L: codes are read off phones and typed by hand."""
ROLE_NAMES = {"member": _("member"), "secretary": _("secretary")}
LANGUAGES = (
    Option("zh", _("zh"), aliases=tuple(w for w, locale in ALIASES.items() if locale == "zh_Hans")),
    Option("en", _("en"), aliases=tuple(w for w, locale in ALIASES.items() if locale == "en")),
)
"""``/lang`` takes every name a language has (``中文``, ``汉语``, ``英文``, ``English``)."""


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


CODE_FAILURES = 5
"""Wrong invite or link codes a person (and a chat) may send within ``CODE_WINDOW``."""


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


class LanguageDialog(Dialog[None]):
    """``/lang`` without a language: a button per language, or its name typed."""

    name = "language"
    states = ["choosing"]

    async def on_enter_choosing(self, ctx: Context) -> None:
        ctx.reply(
            _("Which language shall I use?"),
            choices=[[Choice(LANGUAGE_NAMES[code], code) for code in LOCALES]],
        )

    @answers("choosing")
    async def chose(self, ctx: Context, payload: str) -> None:
        if payload in LOCALES:
            await set_language(ctx, payload)
            self.finish()

    @answers("choosing", text=True)
    async def typed(self, ctx: Context, text: str) -> None:
        locale = normalize_locale(text)
        if locale is None:
            ctx.reply(_("Please choose 中文 or English."))
            return
        await set_language(ctx, locale)
        self.finish()


@router.command(
    "lang",
    summary=_("choose your language"),
    args=[OneOf("language", _("language"), optional=True, options=LANGUAGES)],
)
async def lang(ctx: Context, language: str | None) -> None:
    locale = normalize_locale(language)
    if locale is None:
        if ctx.event.chat.direct or await room_branch(ctx) is not None:
            await LanguageDialog.start(ctx)
    else:
        await set_language(ctx, locale)


# -- branches -----------------------------------------------------------------------------


@router.command(
    "branch add", summary=_("create a branch"), role=Role.ADMIN, args=[Rest("name", _("name"))]
)
async def branch_add(ctx: Context, name: str) -> None:
    name = " ".join(name.split())
    if len(branch_key(name)) > MAX_NAME or any(unicodedata.category(c)[0] == "C" for c in name):
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
    expires = ctx.clock.now() + timedelta(days=ctx.settings.invite_days)
    inviter = await member_id(ctx)
    await ctx.store.invites.create(code, branch.id, role, inviter, expires)
    lines = [
        ctx.t(
            _("Invite to **{branch}** as {role}, for one person, valid until {until}:"),
            branch=branch.name,
            role=ctx.text(ROLE_NAMES[role]),
            until=ctx.translator.moment(expires, ctx.settings.timezone),
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
    link = ctx.link_to(code)
    if link:
        lines.append(ctx.t(_("Or they open this link: [{link}]({link})"), link=link))
    ctx.reply(Markup.join(lines))


def managed_branches(ctx: Context, all_branches: list[Branch]) -> list[Branch]:
    return [b for b in all_branches if ctx.who.manages(b.id)]


class InviteDialog(Dialog[None]):
    """``/invite`` without arguments: pick the branch, then the role, with buttons."""

    name = "invite"
    states = ["choosing_branch", "choosing_role"]
    transitions = [
        {"trigger": "branch_chosen", "source": "choosing_branch", "dest": "choosing_role"}
    ]

    async def on_enter_choosing_branch(self, ctx: Context) -> None:
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

    @answers("choosing_branch")
    async def pressed_branch(self, ctx: Context, payload: str) -> None:
        branch = (
            await ctx.store.branches.get(int(payload))
            if payload.isdecimal() and payload.isascii() and len(payload) < 19
            else None
        )
        if branch is not None:
            await self.choose_branch(ctx, branch)

    @answers("choosing_branch", text=True)
    async def typed_branch(self, ctx: Context, text: str) -> None:
        branch = await ctx.store.branches.by_name(text) if len(text) <= MAX_NAME else None
        if branch is None:
            ctx.reply(_("There is no branch called “{name}”."), name=shorten(text))
            return
        await self.choose_branch(ctx, branch)

    async def choose_branch(self, ctx: Context, branch: Branch) -> None:
        """A secretary's invite is a member's, made at once; an admin chooses the role."""
        if not ctx.who.manages(branch.id):
            ctx.reply(
                _("Only the secretaries of {branch} and admins can use /{command} for it."),
                branch=branch.name,
                command="invite",
            )
            return
        self.data.update(branch_id=branch.id, branch=branch.name)
        if not ctx.who.is_admin:
            await create_invite(ctx, branch, "member")
            self.finish()
            return
        await self.fire(ctx, "branch_chosen")

    async def on_enter_choosing_role(self, ctx: Context) -> None:
        ctx.update(
            _("Invite to {branch} as a member or a secretary?"),
            branch=self.data["branch"],
            choices=[[Choice(ctx.text(ROLE_NAMES[r]), r) for r in ("member", "secretary")]],
        )

    @answers("choosing_role")
    async def chose_role(self, ctx: Context, payload: str) -> None:
        branch = await ctx.store.branches.get(self.data["branch_id"])
        if branch is None or payload not in ROLE_NAMES:
            ctx.reply(_("That branch no longer exists."))
            self.finish()
            return
        await create_invite(ctx, branch, payload)
        self.finish()

    @answers("choosing_role", text=True)
    async def typed_role(self, ctx: Context, text: str) -> None:
        typed = text.strip().lower()
        role = next(
            (r for r, label in ROLE_NAMES.items() if typed in (r, ctx.text(label).lower())), None
        )
        if role is not None:
            await self.chose_role(ctx, role)
        else:
            ctx.reply(_("Please choose member or secretary."))


@router.command(
    "invite",
    summary=_("make a one-time invite code"),
    role=Role.SECRETARY,
    args=[
        BranchArg("branch", _("branch"), optional=True, managed=True),
        OneOf(
            "role",
            _("role"),
            optional=True,
            options=(
                Option("member", ROLE_NAMES["member"]),
                # Secretaries invite members only: their /help shows no role to choose.
                Option("secretary", ROLE_NAMES["secretary"], role=Role.ADMIN),
            ),
            default="member",
        ),
    ],
)
async def invite(ctx: Context, branch: Branch | None, role: str) -> None:
    if branch is None:
        await InviteDialog.start(ctx)
    else:
        await create_invite(ctx, branch, role)


@router.command(
    "revoke",
    summary=_("withdraw an unused invite code"),
    role=Role.SECRETARY,
    args=[Word("code", _("code"))],
)
async def revoke(ctx: Context, code: str) -> None:
    """One answer, counted as a wrong code, for a code that does not exist and for another
    branch's: otherwise any secretary could test guesses here without limit."""
    if await too_many_failures(ctx):
        return
    cleaned = clean_code(code)
    invite = await ctx.store.invites.by_code(cleaned) if 0 < len(cleaned) <= 32 else None
    branch = await ctx.store.branches.get(invite.branch_id) if invite is not None else None
    if invite is None or branch is None or not ctx.who.manages(branch.id):
        await count_failure(ctx)
        ctx.reply(_("You have no invite code {code} to withdraw."), code=shorten(cleaned or code))
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


async def too_many_failures(ctx: Context) -> bool:
    """Refuse (before any lookup) a person or chat that sent too many wrong codes lately."""
    event = ctx.event
    until = await ctx.store.attempts.blocked_until(
        event.platform, event.sender.id, event.chat.id, CODE_FAILURES, CODE_WINDOW
    )
    if until is None:
        return False
    minutes = max(1, math.ceil((until - ctx.clock.now()).total_seconds() / 60))
    ctx.reply(
        _n(
            "Too many wrong codes. Please try again in {count} minute.",
            "Too many wrong codes. Please try again in {count} minutes.",
        ),
        count=minutes,
    )
    return True


async def count_failure(ctx: Context) -> None:
    event = ctx.event
    await ctx.store.attempts.failed(event.platform, event.sender.id, event.chat.id, CODE_WINDOW)


async def refuse_code(ctx: Context, code: str) -> None:
    """One answer for every code that does not work (unknown, withdrawn, used, expired, its
    branch gone), so guessing tells nobody which codes exist or where they lead. A member
    (not an admin) gets one answer too, for a made-up code as for a live member code they
    cannot use (a person belongs to one branch): it says what to do instead, and counts."""
    await count_failure(ctx)
    if ctx.who.branch_id is not None and not ctx.who.is_admin:
        ctx.reply(
            _(
                "{code} is not an invite code you can use. Check it, or ask whoever invited "
                "you for a new one. You are a member of {current}, and a person belongs to one "
                "branch; an admin can move you to another with `/member move`."
            ),
            code=shorten(code),
            current=ctx.who.branch_name or "",
        )
        return
    ctx.reply(
        _(
            "{code} is not a valid invite code. Check it, or ask whoever invited you for a "
            "new one and send `/join <code>` again."
        ),
        code=shorten(code),
    )


async def redeem(ctx: Context, raw: str) -> bool:
    """Join with an invite code; every refusal changes nothing, and wrong codes are limited."""
    if await too_many_failures(ctx):
        return False
    code = clean_code(raw)
    invite = await ctx.store.invites.by_code(code) if 0 < len(code) <= 32 else None
    branch = await ctx.store.branches.get(invite.branch_id) if invite is not None else None
    if (
        invite is None
        or branch is None
        or invite.revoked_at is not None
        or invite.used_by is not None
        or is_expired(invite.expires_at, ctx.clock)
    ):
        await refuse_code(ctx, code or raw)
        return False
    who = ctx.who
    if invite.role == "member":
        if who.branch_id is not None and not who.is_admin:
            await refuse_code(ctx, invite.code)
            return False
        if who.branch_id == branch.id:
            ctx.reply(_("You are already a member of {branch}."), branch=branch.name)
            return False
        if who.branch_id is not None:
            ctx.reply(
                _(
                    "You are a member of {current}, and a person belongs to one branch. Move "
                    "yourself with `/member move {account} {branch}`."
                ),
                current=who.branch_name or "",
                account=who.identity,
                branch=branch.name,
            )
            return False
    elif branch.id in who.secretary_of:
        ctx.reply(_("You are already a secretary of {branch}."), branch=branch.name)
        return False
    joined = await member_id(ctx)
    if not await ctx.store.invites.use(invite.code, joined):
        await refuse_code(ctx, invite.code)
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


class JoinDialog(Dialog[None]):
    """``/join`` without a code: ask for it, and keep asking until it works or /cancel."""

    name = "join"
    states = ["waiting_code"]

    async def on_enter_waiting_code(self, ctx: Context) -> None:
        ctx.reply(_("Please send me your invite code (or /cancel)."))

    @answers("waiting_code", text=True)
    async def typed_code(self, ctx: Context, text: str) -> None:
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
        await JoinDialog.start(ctx)
    else:
        await redeem(ctx, code)


@router.start_payload("")
async def join_from_link(ctx: Context, code: str) -> None:
    """``/start <code>``: an invite link (``create_invite``) joins like ``/join <code>``."""
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

LINK, CANCEL = _("Link"), _("Cancel")


@dataclass(frozen=True, slots=True)
class LinkPlan:
    """What linking would do, worked out before asking and again before merging: the account
    that made the code (its member is kept) and the roles of the one member both become."""

    code: str
    other: Account
    other_admin: bool
    other_secretary_of: dict[int, str]
    branch: str | None
    secretary_of: dict[int, str]
    admin: bool

    def roles(self, translate: Callable[..., Markup]) -> str:
        return role_list(translate, self.branch, list(self.secretary_of.values()), self.admin)


async def plan_link(ctx: Context, taken: LinkCode) -> LinkPlan | None:
    """``None`` when the code's account is gone or is no longer the member that made it."""
    if taken.user_id is None:
        return None
    other = await ctx.store.people.account(taken.platform, taken.user_id)
    person: Person | None = (await ctx.store.people.resolve([(taken.platform, taken.user_id)])).get(
        (taken.platform, taken.user_id)
    )
    if other is None or person is None or other.member_id != taken.member_id:
        return None
    identities = person.identities or [other.identity]
    other_admin = any(i in ctx.settings.admins for i in identities) or bool(
        await ctx.store.people.admins_among(identities)
    )
    return LinkPlan(
        taken.code,
        other,
        other_admin,
        dict(person.secretary_of),
        person.branch_name or ctx.who.branch_name,
        {**ctx.who.secretary_of, **person.secretary_of},
        other_admin or ctx.who.is_admin,
    )


def link_warnings(ctx: Context, plan: LinkPlan) -> list[Markup]:
    """Say plainly where either side would gain rights it does not have today."""
    who, other = ctx.who, plan.other
    lines = []
    if plan.other_admin and not who.is_admin:
        lines.append(ctx.t(_("⚠ This account becomes an admin.")))
    if who.is_admin and not plan.other_admin:
        lines.append(
            ctx.t(
                _("⚠ {name} (`{account}`) becomes an admin."),
                name=other.name,
                account=other.identity,
            )
        )
    separator = ctx.text(_(", "))
    mine = sorted(name for b, name in plan.other_secretary_of.items() if b not in who.secretary_of)
    if mine:
        lines.append(
            ctx.t(
                _("⚠ This account becomes a secretary of {branches}."),
                branches=separator.join(mine),
            )
        )
    theirs = sorted(
        name for b, name in who.secretary_of.items() if b not in plan.other_secretary_of
    )
    if theirs:
        lines.append(
            ctx.t(
                _("⚠ {name} (`{account}`) becomes a secretary of {branches}."),
                name=other.name,
                account=other.identity,
                branches=separator.join(theirs),
            )
        )
    if who.branch_name and plan.branch and who.branch_name != plan.branch:
        lines.append(
            ctx.t(
                _("⚠ This account leaves {mine}: the linked member belongs to {theirs}."),
                mine=who.branch_name,
                theirs=plan.branch,
            )
        )
    return lines


class LinkDialog(Dialog["LinkDialog.Arguments"]):
    """``/link <code>``: show both accounts and the roles they would share, then Link or
    Cancel. Only the code is kept between the steps (a member id could change meanwhile)."""

    @dataclass(frozen=True, slots=True)
    class Arguments:
        plan: LinkPlan
        """Worked out by ``/link`` from the code; confirming works it out again."""

    name = "link"
    slot = "link"
    """Beside the main slot, so confirming a link in the middle of a quiz leaves the quiz."""
    states = ["confirming"]
    plan: LinkPlan
    """The plan the question shows, while the dialog starts (only its code is stored)."""

    async def setup(self, ctx: Context, arguments: LinkDialog.Arguments) -> None:
        self.plan = arguments.plan
        self.data["code"] = arguments.plan.code

    async def on_enter_confirming(self, ctx: Context) -> None:
        plan = self.plan
        lines = [
            ctx.t(_("**Link two accounts?**")),
            ctx.t(
                _("This account: {name} (`{account}`)"),
                name=ctx.who.name,
                account=ctx.who.identity,
            ),
            ctx.t(
                _("The other account: {name} (`{account}`)"),
                name=plan.other.name,
                account=plan.other.identity,
            ),
            ctx.t(_("Linked, they are one member: {roles}."), roles=plan.roles(ctx.t)),
            *link_warnings(ctx, plan),
            ctx.t(_("Link them only if both accounts are yours.")),
        ]
        ctx.reply(
            Markup.join(lines),
            choices=[[Choice(ctx.text(LINK), "link"), Choice(ctx.text(CANCEL), "cancel")]],
        )

    @answers("confirming")
    async def chose(self, ctx: Context, payload: str) -> None:
        if payload == "link":
            await self.confirm(ctx)
        elif payload == "cancel":
            ctx.reply(_("Not linked. Nothing was changed."))
            self.finish()

    @answers("confirming", text=True)
    async def typed(self, ctx: Context, text: str) -> None:
        typed = text.strip().casefold()
        if typed in ("link", ctx.text(LINK).casefold()):
            await self.confirm(ctx)
        elif typed in ("cancel", ctx.text(CANCEL).casefold()):
            await self.chose(ctx, "cancel")
        else:
            ctx.reply(_("Please choose Link or Cancel (or send /cancel)."))

    async def confirm(self, ctx: Context) -> None:
        self.finish()
        taken = await ctx.store.links.valid(self.data["code"])
        plan = await plan_link(ctx, taken) if taken is not None else None
        if taken is None or plan is None or taken.member_id == ctx.who.member_id:
            ctx.reply(
                _(
                    "That link code is no longer valid. Send /link from your other account to "
                    "get a new one."
                )
            )
            return
        mine = await member_id(ctx)
        await ctx.store.links.spend(taken)
        await ctx.store.merge_members(keep=taken.member_id, absorb=mine)
        ctx.mark_people_changed()
        other = plan.other
        ctx.reply(
            _("Done: this account and {name} (`{account}`) are one member now: {roles}."),
            name=other.name,
            account=other.identity,
            roles=plan.roles(ctx.t),
        )
        if other.direct_chat_id:
            theirs = translator(other.locale, ctx.settings.default_locale)
            ctx.send_to(
                Address(other.platform, other.direct_chat_id, True, other.user_id),
                theirs(
                    _(
                        "{name} (`{account}`) is now linked to this account; you are one "
                        "member: {roles}."
                    ),
                    name=ctx.who.name,
                    account=ctx.who.identity,
                    roles=plan.roles(theirs),
                ),
                locale=other.locale,
            )


@router.command(
    "link",
    summary=_("link your accounts on other platforms"),
    where=Where.DIRECT,
    args=[Word("code", _("link code"), optional=True)],
)
async def link(ctx: Context, code: str | None) -> None:
    if code is None:
        mine = await member_id(ctx)
        new = new_code()
        minutes = ctx.settings.link_minutes
        await ctx.store.links.create(
            new,
            mine,
            ctx.event.platform,
            ctx.event.sender.id,
            ctx.clock.now() + timedelta(minutes=minutes),
        )
        ctx.reply(
            Markup.join(
                [
                    ctx.t(_("Your link code, valid for {minutes} minutes:"), minutes=minutes),
                    Markup.format("`{code}`", code=new),
                    ctx.t(
                        _(
                            "Send `/link {code}` to me from your other account. It shows both "
                            "accounts and asks before they become one."
                        ),
                        code=new,
                    ),
                ]
            )
        )
        return
    if await too_many_failures(ctx):
        return
    taken = await ctx.store.links.valid(clean_code(code))
    plan = await plan_link(ctx, taken) if taken is not None else None
    if taken is None or plan is None:
        await count_failure(ctx)
        ctx.reply(
            _(
                "That link code is not valid or has expired. Send /link from your other "
                "account to get a new one."
            )
        )
        return
    if taken.member_id == ctx.who.member_id:
        ctx.reply(_("That link code came from this same account. Send it from your other account."))
        return
    await LinkDialog.start(ctx, LinkDialog.Arguments(plan))


# -- moving and removing members ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WhoAndBranch(Rest):
    """A person (name or account, spaces allowed) followed by a branch name."""

    def placeholder(self, translate: Callable[[str], str], may: May) -> str:
        return f"<{translate(_('who'))}> <{translate(_('branch'))}>"


MAX_WHO = 320
"""Characters of a name or an account (platform and user id) that ``/member`` looks up."""


async def one_account(ctx: Context, who: str) -> Account | None:
    """The account ``who`` names; otherwise say why not (unknown, or several people)."""
    found = await ctx.store.people.find(who) if len(who) <= MAX_WHO else []
    if not found:
        ctx.reply(
            _(
                "I know nobody called “{who}”. Use their name or their account as `/me` "
                "shows it to them, like `telegram:12345`."
            ),
            who=shorten(who),
        )
        return None
    if len({account.member_id for account in found}) > 1:
        lines = [ctx.t(_("Several people are called “{who}”; use the account:"), who=shorten(who))]
        lines += [
            ctx.t(
                _("• `{account}` — {name} ({branch})"),
                account=a.identity,
                name=a.name,
                branch=a.branch_name,
            )
            if a.branch_name
            else Markup.format("• `{account}` — {name}", account=a.identity, name=a.name)
            for a in found
        ]
        ctx.reply(Markup.join(lines))
        return None
    return found[0]


def tell_member(ctx: Context, account: Account, message: str, **values: str) -> None:
    """Let the person know in their direct chat, where the bot knows it."""
    if account.direct_chat_id:
        theirs = translator(account.locale, ctx.settings.default_locale)
        ctx.send_to(
            Address(account.platform, account.direct_chat_id, True, account.user_id),
            theirs(message, None, **values),
            locale=account.locale,
        )


@router.command(
    "member move",
    summary=_("move a member to another branch"),
    role=Role.ADMIN,
    args=[WhoAndBranch("target", _("who"))],
)
async def member_move(ctx: Context, target: str) -> None:
    words = target.split()
    # the branch is the longest run at the end; at least one word of a name stays in front
    named = await ctx.store.branches.named_by_run(words, len(words) - 1, at_end=True)
    if named is None:
        if len(words) < 2:
            command, _family = router.find("member", ["move"])
            assert command is not None  # this very handler's declaration
            ctx.reply(_("Usage: `{usage}`"), usage=command.usage(ctx.text, ctx.who.has))
        else:
            ctx.reply(_("There is no branch called “{name}”."), name=shorten(words[-1]))
        return
    branch, size = named
    account = await one_account(ctx, " ".join(words[:-size]))
    if account is None:
        return
    if account.branch_id == branch.id:
        ctx.reply(
            _("{name} is already a member of {branch}."), name=account.name, branch=branch.name
        )
        return
    login = (account.platform, account.user_id)
    person = (await ctx.store.people.resolve([login])).get(login)
    await ctx.store.people.set_branch(account.member_id, branch.id)
    ctx.mark_people_changed()
    ctx.reply(
        _("Moved {name} (`{account}`) to **{branch}**. Secretary roles are unchanged.")
        if person is not None and person.secretary_of
        else _("Moved {name} (`{account}`) to **{branch}**."),
        name=account.name,
        account=account.identity,
        branch=branch.name,
    )
    tell_member(ctx, account, _("An admin moved you to **{branch}**."), branch=branch.name)


@router.command(
    "member remove",
    summary=_("take a member out of their branch"),
    role=Role.ADMIN,
    args=[Rest("who", _("who"))],
)
async def member_remove(ctx: Context, who: str) -> None:
    account = await one_account(ctx, who)
    if account is None:
        return
    roles = (await ctx.store.people.resolve([(account.platform, account.user_id)])).get(
        (account.platform, account.user_id)
    )
    if account.branch_id is None and not (roles and roles.secretary_of):
        ctx.reply(_("{name} is not a member of any branch."), name=account.name)
        return
    await ctx.store.people.leave_branch(account.member_id)
    ctx.mark_people_changed()
    ctx.reply(
        _(
            "{name} (`{account}`) is no longer in a branch and holds no secretary role. Their "
            "accounts and learning history stay; a new invite code brings them back."
        ),
        name=account.name,
        account=account.identity,
    )
    tell_member(
        ctx,
        account,
        _("An admin took you out of your branch. To join one again, send `/join <code>`."),
    )


FEATURE = Feature(
    "onboarding", router, dialogs=(LanguageDialog, InviteDialog, JoinDialog, LinkDialog)
)
