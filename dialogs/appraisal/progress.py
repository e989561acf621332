"""``/survey status R3`` and its Nudge buttons: who has submitted, never what.

Per branch, the share of its eligible members who have submitted, as a bar, slowest first.
Counts of who has submitted are not answers, so the k rule does not hide them; nothing here
reads the answer ledger. A secretary sees their own branches only, with the names of those who
have not submitted and a Nudge button that reminds them in their direct chat; an admin sees
every branch, and a Nudge button per slow branch that reminds its secretaries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import Number, Where
from bot.context import Context
from bot.i18n import Translator, _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Address, Choice
from dialogs.appraisal.common import ROUND, START, router, template_of
from dialogs.appraisal.repository import Appraisal, Progress, RoundRow
from dialogs.appraisal.rounds import invitees
from dialogs.appraisal.tables import Reminded
from store.clock import as_utc
from store.models import Branch, Secretary

NUDGE = "survey-nudge"
"""The stateless prefix of a Nudge button: ``survey-nudge:<round>:<branch>``."""
BAR = 10
"""Cells of a progress bar."""
NAMES_SHOWN = 30
"""Names of a branch's members who have not submitted shown at most (the rest counted)."""


def bar(submitted: int, eligible: int) -> str:
    """``▓▓▓▓░░░░░░ 4/10``: the share submitted, rounded down so a bar is full only when
    everyone is in."""
    filled = submitted * BAR // eligible if eligible else 0
    return "▓" * filled + "░" * (BAR - filled) + f" {submitted}/{eligible}"


def slowest_first(rows: list[Progress], names: dict[int, str]) -> list[Progress]:
    """Branches by the share submitted, the lowest first, then by name."""
    return sorted(
        rows,
        key=lambda p: (p.submitted / p.eligible if p.eligible else 1.0, names.get(p.branch_id, "")),
    )


def reminder(language: Translator, row: RoundRow, title: str, zone: str) -> Markup:
    """The reminder a member gets while their answers are not in (a nudge, or the worker's)."""
    return language(
        _(
            "⏰ Reminder: survey {number}, **{title}**, is open until {closes} and your answers "
            "are not in yet. Start with the button, or send /survey answer {number}."
        ),
        number=ROUND.format(row.number),
        title=title,
        closes=language.moment(as_utc(row.closes_at), zone),
    )


def start_button(language: Translator, row: RoundRow) -> list[list[Choice]]:
    return [[Choice(language.text(_("Start")), f"{START}:{row.number}")]]


async def record_reminder(
    session: AsyncSession,
    round_id: int,
    member_id: int,
    moment: datetime,
    *,
    counted: bool = False,
) -> None:
    """A reminder went to the member at ``moment``: the next automatic one is an interval
    later. Only the worker's own reminders are ``counted`` against ``reminder_max``; a
    secretary's nudge and the closing notice are not."""
    known = await session.get(Reminded, (round_id, member_id))
    if known is None:
        session.add(
            Reminded(round_id=round_id, member_id=member_id, sent=int(counted), last_at=moment)
        )
    else:
        known.sent += int(counted)
        known.last_at = moment
    await session.flush()


async def _round_for(ctx: Context, number: int) -> RoundRow | None:
    """The round, if the speaker may follow it: an admin any, a secretary one of a branch of
    theirs; otherwise they are told there is no such round."""
    row = await ctx.store.get(Appraisal).round(number)
    if row is None or not (ctx.who.is_admin or set(row.branch_ids) & set(ctx.who.secretary_of)):
        ctx.reply(_("There is no survey {number}."), number=ROUND.format(number))
        return None
    return row


async def _names(ctx: Context, branch_ids: tuple[int, ...]) -> dict[int, str]:
    rows = await ctx.store.session.execute(
        select(Branch.id, Branch.name).where(Branch.id.in_(branch_ids))
    )
    return {branch_id: name for branch_id, name in rows}


@router.command(
    "survey status",
    summary=_("how many have submitted a survey round, per branch"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
    args=[Number("number", _("round number"), kind=ROUND)],
)
async def survey_status(ctx: Context, number: int) -> None:
    row = await _round_for(ctx, number)
    if row is None:
        return
    store = ctx.store.get(Appraisal)
    own = set(ctx.who.secretary_of)
    names = await _names(ctx, row.branch_ids)
    shown = [p for p in await store.progress(number) if ctx.who.is_admin or p.branch_id in own]
    shown = slowest_first(shown, names)
    is_open = row.is_open(ctx.clock.now())
    closes = ctx.translator.moment(as_utc(row.closed_at or row.closes_at), ctx.settings.timezone)
    lines = [
        ctx.t(
            _("**Survey {number}**: {submitted} of {eligible} have submitted; open until {closes}.")
            if is_open
            else _("**Survey {number}**: {submitted} of {eligible} submitted; closed {closes}."),
            number=row.label,
            submitted=sum(p.submitted for p in shown),
            eligible=sum(p.eligible for p in shown),
            closes=closes,
        )
    ]
    lines += [
        Markup.format(
            "{name}  `{bar}`", name=names.get(p.branch_id, "?"), bar=bar(p.submitted, p.eligible)
        )
        for p in shown
    ]
    buttons: list[list[Choice]] = []
    for p in shown:
        name = names.get(p.branch_id, "?")
        if p.branch_id in own and p.submitted < p.eligible:
            waiting = await store.not_submitted(number, p.branch_id)
            people = await invitees(ctx, [m.id for m in waiting])
            lines.append(ctx.t(_("Not submitted yet in {branch}:"), branch=name))
            lines += [
                Markup.format("• {name}: {reason}", name=x.name, reason=ctx.text(x.reason))
                if x.reason
                else Markup.format("• {name}", name=x.name)
                for x in people[:NAMES_SHOWN]
            ]
            if len(people) > NAMES_SHOWN:
                lines.append(ctx.t(_("… and {count} more."), count=len(people) - NAMES_SHOWN))
            label = ctx.text(_("Nudge {branch}")).format(branch=name)
        elif p.submitted < p.eligible:
            label = ctx.text(_("Nudge the secretaries of {branch}")).format(branch=name)
        else:
            continue
        if is_open:
            buttons.append([Choice(label, f"{NUDGE}:{number}:{p.branch_id}")])
    ctx.reply(Markup.join(lines), choices=buttons or None)


@router.button(NUDGE)
async def nudge_pressed(ctx: Context, rest: str) -> None:
    number, _colon, branch = rest.partition(":")
    if not (number.isdecimal() and branch.isdecimal() and len(number) + len(branch) < 24):
        ctx.reply(_("That button is no longer in use."))
        return
    row = await _round_for(ctx, int(number))
    if row is None:
        return
    branch_id = int(branch)
    if branch_id not in row.branch_ids:
        ctx.reply(_("That button is no longer in use."))
        return
    if not row.is_open(ctx.clock.now()):
        ctx.reply(_("Survey {number} is closed: it takes no more answers."), number=row.label)
        return
    names = await _names(ctx, (branch_id,))
    if branch_id in ctx.who.secretary_of:
        await _nudge_members(ctx, row, branch_id, names[branch_id])
    elif ctx.who.is_admin:
        await _nudge_secretaries(ctx, row, branch_id, names[branch_id])
    else:
        ctx.reply(_("There is no survey {number}."), number=row.label)


async def _nudge_members(ctx: Context, row: RoundRow, branch_id: int, name: str) -> None:
    """Remind those of the branch who have not submitted, each in their direct chat."""
    store = ctx.store.get(Appraisal)
    stored = await store.template_by_id(row.template_id)
    template = template_of(stored) if stored else None
    waiting = await store.not_submitted(row.number, branch_id)
    people = await invitees(ctx, [m.id for m in waiting])
    reached = 0
    for person in people:
        if person.address is None:
            continue
        language = ctx.translator_for(person.address, person.locale)
        title = template.title.get(language.locale) if template else row.label
        ctx.send_to(
            person.address,
            reminder(language, row, title, ctx.settings.timezone),
            choices=start_button(language, row),
            locale=person.locale,
        )
        await record_reminder(ctx.store.session, row.number, person.member_id, ctx.clock.now())
        reached += 1
    lines = [
        ctx.t(
            _n(
                "{count} member of {branch} is reminded of survey {number}.",
                "{count} members of {branch} are reminded of survey {number}.",
            ),
            count=reached,
            branch=name,
            number=row.label,
        )
    ]
    unreachable = [p for p in people if p.address is None]
    if unreachable:
        lines.append(ctx.t(_("Not reachable in a direct chat:")))
        lines += [
            Markup.format("• {name}: {reason}", name=p.name, reason=ctx.text(p.reason or ""))
            for p in unreachable
        ]
    ctx.reply(Markup.join(lines))


async def _nudge_secretaries(ctx: Context, row: RoundRow, branch_id: int, name: str) -> None:
    """Ask the branch's secretaries to follow up (they see the names; the admin the count)."""
    store = ctx.store.get(Appraisal)
    progress = {p.branch_id: p for p in await store.progress(row.number)}[branch_id]
    secretaries = list(
        await ctx.store.session.scalars(
            select(Secretary.member_id)
            .where(Secretary.branch_id == branch_id)
            .order_by(Secretary.member_id)
        )
    )
    people = await invitees(ctx, secretaries)
    reached: list[Address] = []
    for person in people:
        if person.address is None:
            continue
        language = ctx.translator_for(person.address, person.locale)
        ctx.send_to(
            person.address,
            language(
                _(
                    "⏰ Survey {number}: {submitted} of {eligible} in {branch} have submitted. "
                    "`/survey status {number}` shows who has not, with a button to remind them."
                ),
                number=row.label,
                submitted=progress.submitted,
                eligible=progress.eligible,
                branch=name,
            ),
            locale=person.locale,
        )
        reached.append(person.address)
    lines = [
        ctx.t(
            _n(
                "{count} secretary of {branch} is asked to follow up survey {number}.",
                "{count} secretaries of {branch} are asked to follow up survey {number}.",
            ),
            count=len(reached),
            branch=name,
            number=row.label,
        )
    ]
    unreachable = [p for p in people if p.address is None]
    if unreachable:
        lines.append(ctx.t(_("Not reachable in a direct chat:")))
        lines += [
            Markup.format("• {name}: {reason}", name=p.name, reason=ctx.text(p.reason or ""))
            for p in unreachable
        ]
    ctx.reply(Markup.join(lines))
