"""Rounds: ``/survey open`` (template → branches → closing date → confirm), ``/surveys``,
``/survey close R3``, ``/survey answer R3`` and the invitation's start button.

Opening a round fixes who may answer (the members of its branches at that moment, one
statement in the repository) and marks the round for the invitation worker
(``dialogs.appraisal.invitations``), which queues each of them an invitation in their direct
chat, each bound room of those branches a notice with the closing date, and then reports to
whoever opened the round, naming each member with no direct chat the bot may write to with the
reason, as a broadcast report names them; a chat that refuses the invitation later is marked by
delivery (``store.reachability``), where the progress view finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import Number, Where
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.i18n import _
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Address, Choice, Refusal
from bot.timetable import BadSchedule, parse_when
from dialogs.appraisal.answering import Answering, Arguments, already_submitted, closed, not_invited
from dialogs.appraisal.common import ANSWER_AT, ROUND, SLOT, START, router, template_of
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.repository import Appraisal, RoundRow
from dialogs.appraisal.tables import Inviting
from store.clock import as_utc
from store.models import Identity, Member

RECENT = 10
"""Closed rounds ``/surveys`` lists after the open ones."""
NO_DIRECT_CHAT = _(
    "has never written to the bot, and on this platform the bot may not write first: "
    "ask them to open a chat with the bot (on Telegram: press Start)"
)
REFUSALS = {
    Refusal.BLOCKED: _("has blocked the bot or closed their account"),
    Refusal.FORBIDDEN: _("the bot was removed from the chat or may not write there"),
    Refusal.GONE: _("the chat no longer exists"),
    Refusal.REFUSED: _("the platform refused the message (details in the bot's log)"),
}
"""Why a member cannot be reached, in the words broadcast reports use."""


def managed_branches(ctx: Context) -> dict[int, str] | None:
    """The branches the speaker may open a round for; ``None`` means all (an admin)."""
    return None if ctx.who.is_admin else dict(ctx.who.secretary_of)


def may_manage(ctx: Context, row: RoundRow) -> bool:
    """An admin, or a secretary of every branch of the round."""
    return ctx.who.is_admin or set(row.branch_ids) <= set(ctx.who.secretary_of)


# -- who is invited, and how --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invitee:
    member_id: int
    name: str
    locale: str | None
    address: Address | None
    """Their direct chat, or ``None`` when the bot cannot write to them (``reason``)."""
    reason: str | None


async def invitees(ctx: Context, member_ids: list[int]) -> list[Invitee]:
    """Each member's direct chat: a known one that the platform has not refused (the first by
    platform), else one the bot may open on this platform, else none, with the reason."""
    here, may_open = ctx.event.platform, ctx.capabilities.can_open_dm
    return await direct_chats(
        ctx.store.session, member_ids, lambda platform: platform == here and may_open
    )


async def direct_chats(
    session: AsyncSession, member_ids: list[int], may_open: Callable[[str], bool]
) -> list[Invitee]:
    """``invitees`` where no event is at hand (the reminder worker): ``may_open`` says on
    which platforms the bot may write to a person first."""
    rows = await session.execute(
        select(
            Member.id,
            Member.display_name,
            Member.locale,
            Identity.platform,
            Identity.user_id,
            Identity.direct_chat_id,
            Identity.unreachable,
        )
        .outerjoin(Identity, Identity.member_id == Member.id)
        .where(Member.id.in_(member_ids))
        .order_by(Member.id, Identity.platform, Identity.user_id)
    )
    found: dict[int, Invitee] = {}
    for member_id, name, locale, platform, user_id, chat, refused in rows:
        known = found.get(member_id)
        if known is not None and known.address is not None:
            continue
        if platform is None:
            found[member_id] = Invitee(member_id, name, locale, None, NO_DIRECT_CHAT)
            continue
        if refused:
            reason = REFUSALS[Refusal.of(refused) or Refusal.REFUSED]
            found.setdefault(member_id, Invitee(member_id, name, locale, None, reason))
            continue
        if chat is None and may_open(platform):
            chat = ""
        if chat is None:
            if known is None:
                found[member_id] = Invitee(member_id, name, locale, None, NO_DIRECT_CHAT)
            continue
        address = Address(platform, chat, True, user_id)
        found[member_id] = Invitee(member_id, name, locale, address, None)
    return [found[m] for m in member_ids if m in found]


# -- /survey open -----------------------------------------------------------------------------


class OpenRound(Dialog[None]):
    """Template, branches, closing date, then the summary to confirm."""

    name = "survey_open"
    states = ["template", "branches", "closes", "confirm"]
    transitions = [
        {"trigger": "got_template", "source": "template", "dest": "branches"},
        {"trigger": "got_branches", "source": "branches", "dest": "closes"},
        {"trigger": "got_date", "source": "closes", "dest": "confirm"},
        {"trigger": "redate", "source": "confirm", "dest": "closes"},
    ]
    timeout = 30 * 60

    async def on_enter_template(self, ctx: Context) -> None:
        templates = await ctx.store.get(Appraisal).templates()
        if not templates:
            ctx.reply(
                _(
                    "There are no survey templates yet. Send me a template file in a direct "
                    "chat, or import one with `branchbot survey import FILE`."
                )
            )
            self.finish()
            return
        locale = ctx.translator.locale
        ctx.reply(
            _("Which survey?"),
            choices=[
                [Choice(template_of(stored).title.get(locale), f"t{stored.id}")]
                for stored in templates
            ],
        )

    @answers("template")
    async def chose_template(self, ctx: Context, payload: str) -> None:
        if not (payload.startswith("t") and payload[1:].isdecimal()):
            return
        ids = {stored.id for stored in await ctx.store.get(Appraisal).templates()}
        if int(payload[1:]) not in ids:
            return
        self.data["template"] = int(payload[1:])
        await self.fire(ctx, "got_template")

    async def on_enter_branches(self, ctx: Context) -> None:
        allowed = managed_branches(ctx)
        if allowed is not None and len(allowed) == 1:
            self.data["branches"] = sorted(allowed)
            await self.fire(ctx, "got_branches")
            return
        if allowed is None:
            branches = {b.id: b.name for b in await ctx.store.branches.all()}
        else:
            branches = allowed
        if not branches:
            ctx.reply(_("There are no branches yet: add one with /branch add."))
            self.finish()
            return
        choices = [[Choice(ctx.text(_("All branches")), "all")]]
        choices += [[Choice(name, f"b{bid}")] for bid, name in sorted(branches.items())[:10]]
        ctx.reply(
            _("To which branches? Press one, or type several names separated by commas."),
            choices=choices,
        )

    @answers("branches")
    async def chose_branches(self, ctx: Context, payload: str) -> None:
        allowed = managed_branches(ctx)
        if payload == "all":
            if allowed is None:
                ids = [b.id for b in await ctx.store.branches.all()]
            else:
                ids = sorted(allowed)
        elif payload.startswith("b") and payload[1:].isdecimal():
            branch_id = int(payload[1:])
            if allowed is not None and branch_id not in allowed:
                return
            ids = [branch_id]
        else:
            return
        self.data["branches"] = ids
        await self.fire(ctx, "got_branches")

    @answers("branches", text=True)
    async def typed_branches(self, ctx: Context, text: str) -> None:
        allowed = managed_branches(ctx)
        ids: list[int] = []
        for name in (part.strip() for part in text.replace("，", ",").split(",")):
            if not name:
                continue
            branch = await ctx.store.branches.by_name(name)
            if branch is None or (allowed is not None and branch.id not in allowed):
                ctx.reply(_("There is no branch called “{name}” that you manage."), name=name)
                return
            ids.append(branch.id)
        if not ids:
            ctx.reply(_("Please name at least one branch."))
            return
        self.data["branches"] = sorted(set(ids))
        await self.fire(ctx, "got_branches")

    async def on_enter_closes(self, ctx: Context) -> None:
        if self.data.get("closes"):  # back from the summary: its moment went by meanwhile
            _refuse_past(ctx)
            return
        ctx.reply(
            _(
                "Until when may members answer? Type a date and time in {zone} time, "
                "like `{example}`."
            ),
            zone=ctx.settings.timezone,
            example=_example(ctx),
        )

    @answers("closes", text=True)
    async def typed_date(self, ctx: Context, text: str) -> None:
        try:
            when = parse_when(text, ctx.settings.timezone)
        except BadSchedule:
            when = None
        if when is None or when.run_at is None:
            ctx.reply(
                _("I can't read that date. Type it like `{example}` ({zone} time)."),
                example=_example(ctx),
                zone=ctx.settings.timezone,
            )
            return
        if when.run_at <= ctx.clock.now():
            _refuse_past(ctx)
            return
        self.data["closes"] = when.run_at.timestamp()
        await self.fire(ctx, "got_date")

    async def on_enter_confirm(self, ctx: Context) -> None:
        store = ctx.store.get(Appraisal)
        stored = await store.template_by_id(self.data["template"])
        names = {b.id: b.name for b in await ctx.store.branches.all()}
        closes = datetime.fromtimestamp(self.data["closes"]).astimezone(ZoneInfo("UTC"))
        ctx.reply(
            _("Survey: {title}. Branches: {branches}. Open until {closes}. Open it now?"),
            title=template_of(stored).title.get(ctx.translator.locale) if stored else "?",
            branches=ctx.listing(names[i] for i in self.data["branches"] if i in names),
            closes=ctx.translator.moment(closes, ctx.settings.timezone),
            choices=[
                [Choice(ctx.text(_("Open it")), "open")],
                [Choice(ctx.text(_("Cancel")), "cancel")],
            ],
        )

    @answers("confirm")
    async def chose_confirm(self, ctx: Context, payload: str) -> None:
        if payload == "cancel":
            ctx.reply(_("Cancelled. No survey was opened."))
            self.finish()
            return
        if payload != "open":
            return
        closes = datetime.fromtimestamp(self.data["closes"]).astimezone(ZoneInfo("UTC"))
        if closes <= ctx.clock.now():
            await self.fire(ctx, "redate")
            return
        self.finish()
        await open_round(ctx, self.data["template"], self.data["branches"], closes)

    @answers("template", "confirm", text=True)
    async def typed_instead(self, ctx: Context, text: str) -> None:
        """Any reply makes the buttons above it stale, so the step is asked again."""
        ctx.reply(_("Please press one of the buttons (or type its number), or /cancel."))
        await self.enter(ctx, self.state)


async def open_round(
    ctx: Context, template_id: int, branch_ids: list[int], closes: datetime
) -> None:
    """Open the round and mark it for the invitation worker, which sends the invitations and
    the room notices and then reports to the opener (``dialogs.appraisal.invitations``)."""
    store = ctx.store.get(Appraisal)
    config = ctx.settings.section(AppraisalConfig)
    if await store.template_by_id(template_id) is None:
        ctx.reply(_("That template is gone; nothing was opened."))
        return
    row = await store.open_round(template_id, branch_ids, closes, ctx.who.member_id, config.k)
    report_to = {
        "platform": ctx.here.platform,
        "chat_id": ctx.here.chat_id,
        "direct": ctx.here.direct,
        "user_id": ctx.here.user_id,
        "locale": ctx.translator.locale,
    }
    ctx.store.session.add(
        Inviting(
            round_id=row.number, report_to=report_to, last_member_id=0, invited=0, unreachable=[]
        )
    )
    number = ROUND.format(row.number)
    closing = ctx.translator.moment(as_utc(row.closes_at), ctx.settings.timezone)
    lines = [
        ctx.t(_("Survey {number} is open until {closes}."), number=number, closes=closing),
        ctx.t(_("The invitations are going out; I will report when they are out.")),
        ctx.t(_("`/survey close {number}` ends it early."), number=number),
    ]
    ctx.reply(Markup.join(lines))


def _example(ctx: Context) -> str:
    """A closing moment to show: a week from today at 18:00."""
    today = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
    return f"{today + timedelta(days=7):%Y-%m-%d} 18:00"


def _refuse_past(ctx: Context) -> None:
    ctx.reply(
        _("That moment has already passed ({zone} time). Type a time in the future, or /cancel."),
        zone=ctx.settings.timezone,
    )


@router.command(
    "survey open", summary=_("open a survey round"), role=Role.SECRETARY, where=Where.DIRECT
)
async def survey_open(ctx: Context) -> None:
    await OpenRound.start(ctx)


# -- /surveys, /survey close ------------------------------------------------------------------


def _visible(ctx: Context, row: RoundRow) -> bool:
    """Admins see every round; others those of a branch they belong to or manage."""
    if ctx.who.is_admin:
        return True
    mine = set(ctx.who.secretary_of) | ({ctx.who.branch_id} if ctx.who.branch_id else set())
    return bool(mine & set(row.branch_ids))


@router.command("surveys", summary=_("open and recent survey rounds"), role=Role.MEMBER)
async def surveys(ctx: Context) -> None:
    store = ctx.store.get(Appraisal)
    open_rows = [r for r in await store.open_rounds() if _visible(ctx, r)]
    recent = [r for r in await store.recent_rounds(RECENT) if _visible(ctx, r) and r.closed_at]
    if not open_rows and not recent:
        ctx.reply(_("There are no survey rounds yet."))
        return
    lines: list[Markup] = []
    locale = ctx.translator.locale
    for heading, rows in ((_("Open:"), open_rows), (_("Closed:"), recent)):
        if not rows:
            continue
        lines.append(ctx.t(heading))
        for row in rows:
            stored = await store.template_by_id(row.template_id)
            title = template_of(stored).title.get(locale) if stored else "?"
            when = as_utc(row.closed_at or row.closes_at)
            lines.append(
                ctx.t(
                    _("• {number} {title}, until {closes}"),
                    number=ROUND.format(row.number),
                    title=title,
                    closes=ctx.translator.moment(when, ctx.settings.timezone),
                )
            )
    ctx.reply(Markup.join(lines))


@router.command(
    "survey close",
    summary=_("close a survey round early"),
    role=Role.SECRETARY,
    args=[Number("number", _("round number"), kind=ROUND)],
)
async def survey_close(ctx: Context, number: int) -> None:
    store = ctx.store.get(Appraisal)
    row = await store.round(number)
    shown = ROUND.format(number)
    if row is None or not _visible(ctx, row):
        ctx.reply(_("There is no survey {number}."), number=shown)
        return
    if not (ctx.who.is_admin or (row.opened_by == ctx.who.member_id and may_manage(ctx, row))):
        ctx.reply(_("Only whoever opened survey {number} and admins can close it."), number=shown)
        return
    if row.closed_at is not None:
        ctx.reply(_("Survey {number} is already closed."), number=shown)
        return
    await store.close(number)
    ctx.reply(_("Survey {number} is closed: it takes no more answers."), number=shown)


# -- answering: /survey answer, the invitation's button ---------------------------------------


async def answer(ctx: Context, number: int) -> None:
    """Start answering round ``number``, or show where the draft is."""
    if await ctx.step(SLOT, lambda model: _resume(ctx, model, number)):
        return
    shown = ROUND.format(number)
    store = ctx.store.get(Appraisal)
    row = await store.round(number)
    member_id = ctx.who.member_id
    branch_id = (
        None if row is None or member_id is None else await store.eligibility(number, member_id)
    )
    if row is None or member_id is None or branch_id is None:
        ctx.reply(not_invited(), number=shown)
        return
    if not row.is_open(ctx.clock.now()):
        ctx.reply(closed(), number=shown)
        return
    if await store.has_submitted(number, member_id):
        ctx.reply(already_submitted(), number=shown)
        return
    stored = await store.template_by_id(row.template_id)
    if stored is None:
        return
    others = [
        (member.id, member.display_name)
        for member in await store.eligible_members(number, branch_id)
        if member.id != member_id
    ]
    closes = as_utc(row.closes_at).timestamp()
    await Answering.start(ctx, Arguments(number, branch_id, template_of(stored), closes, others))


async def _resume(ctx: Context, model: Dialog, number: int) -> None:
    if isinstance(model, Answering):
        await model.resume(ctx, number)


@router.command(
    "survey answer",
    summary=_("answer a survey round"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Number("number", _("round number"), kind=ROUND)],
)
async def survey_answer(ctx: Context, number: int) -> None:
    await answer(ctx, number)


@router.button(START)
async def start_pressed(ctx: Context, rest: str) -> None:
    if not rest.isdecimal() or len(rest) > 12:
        ctx.reply(_("That button is no longer in use."))
        return
    await answer(ctx, int(rest))


@router.start_payload(ANSWER_AT.removesuffix("{}"))
async def start_from_link(ctx: Context, rest: str) -> None:
    """A room's notice, in a group that cannot take answers, links here: the same as the
    invitation's button (``answer`` tells a member who is not invited so, and nothing more)."""
    if not rest.isdecimal() or len(rest) > 12:
        ctx.reply(_("That link is no longer in use."))
        return
    if ctx.members_only():
        await answer(ctx, int(rest))


@router.number
async def typed_start(ctx: Context, number: int) -> bool:
    """The invitation's button as its number, on a platform without buttons."""
    if not ctx.event.chat.direct or ctx.capabilities.buttons:
        return False
    offered = await ctx.store.outbox.last_choices(ctx.event.platform, ctx.event.chat.id)
    if not 1 <= number <= len(offered):
        return False
    prefix, _colon, rest = offered[number - 1].partition(":")
    if prefix != START or not rest.isdecimal() or len(rest) > 12:
        return False
    await answer(ctx, int(rest))
    return True
