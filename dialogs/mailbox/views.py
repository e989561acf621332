"""Reading letters: ``/mail list`` (mine), ``/mail show`` (a thread), ``/inbox`` (what my
branches must answer), ``/mail stats`` (figures with a chart) and ``/mail blocks`` (admins).

A thread shows an anonymous writer as "anonymous writer" and their steps by day only, to
everyone, the writer included: what is on screen could be photographed.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from bot.charts import BarChart, Series, png
from bot.commands import BranchArg, Number, Where
from bot.context import Context
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Image
from bot.workdays import WorkCalendar
from dialogs.mailbox.answering import Side, find
from dialogs.mailbox.common import CASE, calendar, category_label, relay, router, today
from dialogs.mailbox.posts import case, heading
from dialogs.mailbox.repository import Mailbox, overdue
from dialogs.mailbox.tables import Entry, Letter
from store.models import Branch, Member

LISTED = 30
"""Letters a list shows at most (the newest, or the nearest deadlines)."""
STATS_DAYS = 365

KIND = {
    "letter": _("the letter"),
    "answer": _("answer"),
    "follow_up": _("follow-up"),
    "closed": _("closed"),
    "reopened": _("reopened"),
    "rated": _("rated"),
    "passed": _("passed on"),
    "blocked": _("writer blocked"),
    "auto_closed": _("closed: no reply from its writer"),
    "overdue": _("overdue"),
}


@router.command(
    "mail list", summary=_("your letters and their status"), role=Role.MEMBER, where=Where.DIRECT
)
async def mail_list(ctx: Context) -> None:
    day, member_id = today(ctx), ctx.who.member_id
    letters = (
        [] if member_id is None else await ctx.store.get(Mailbox).mine(member_id, relay(ctx), day)
    )
    hidden = any(letter.anonymous for letter in letters)
    if hidden:
        ctx.leave_no_trace()
    if not letters:
        ctx.reply(_("You have written no letters yet. /mail writes one."))
        return
    days = calendar(ctx)
    lines = [ctx.t(_("**Your letters**"))]
    for letter in letters[:LISTED]:
        lines.append(heading(ctx.translator, letter, day, days))
    ctx.reply(Markup.join(lines), vanish=hidden)


@router.command(
    "mail show",
    summary=_("a letter's whole thread"),
    role=Role.MEMBER,
    where=Where.DIRECT,
    args=[Number("number", _("case number"), kind=CASE)],
)
async def mail_show(ctx: Context, number: int) -> None:
    found = await find(ctx, number)
    if found is None:
        return
    letter, side = found
    mailbox = ctx.store.get(Mailbox)
    entries = await mailbox.thread(letter.id, posted_only=side is Side.ANSWERER)
    names = await _names(ctx, [e.author_id for e in entries] + [letter.writer_id])
    lines = [heading(ctx.translator, letter, today(ctx), calendar(ctx))]
    for entry in entries:
        lines.append(_entry_line(ctx, letter, entry, names))
        if entry.text:
            lines.append(Markup.literal(entry.text))
    hidden = letter.anonymous and side is Side.WRITER
    ctx.reply(Markup.join(lines, "\n\n"), vanish=hidden)
    for mime, data in await mailbox.images(letter.id, relay(ctx)):
        image = Image(mime, data)
        ctx.reply(_("Image of {case}"), case=case(letter), image=image, vanish=hidden)


def _entry_line(ctx: Context, letter: Letter, entry: Entry, names: dict[int, str]) -> Markup:
    if entry.author == "writer":
        who = (
            ctx.text(_("anonymous writer"))
            if letter.anonymous
            else names.get(entry.author_id or 0, "")
        )
    elif entry.author == "system":
        who = ctx.text(_("the mailbox"))
    else:
        who = names.get(entry.author_id or 0, "") or ctx.text(_("a secretary"))
    when = ctx.translator.day(entry.on)
    what = ctx.text(KIND.get(entry.kind, entry.kind))
    if entry.kind == "rated":
        what = f"{what} {entry.detail.get('stars', '?')}/5"
    return ctx.t(_("— {when}, {who}: {what}"), when=when, who=who, what=what)


async def _names(ctx: Context, ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    from sqlalchemy import select

    rows = await ctx.store.session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(wanted))
    )
    return {member_id: name for member_id, name in rows}


# -- /inbox ---------------------------------------------------------------------------------


@router.command(
    "inbox",
    summary=_("the letters your branches must answer"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
)
async def inbox(ctx: Context) -> None:
    mailbox, day, days = ctx.store.get(Mailbox), today(ctx), calendar(ctx)
    branch_ids = None if ctx.who.is_admin else sorted(ctx.who.secretary_of)
    letters = await mailbox.open_letters(branch_ids)
    if not letters:
        ctx.reply(_("No open letters. 📭"))
        return
    lines: list[Markup] = []
    if ctx.who.is_admin:
        names = {b.id: b.name for b in await ctx.store.branches.all()}
        counts = Counter(letter.branch_id for letter in letters)
        late = Counter(letter.branch_id for letter in letters if overdue(letter, day))
        lines.append(ctx.t(_("**Open letters by branch**")))
        for branch_id, count in sorted(counts.items(), key=lambda item: -item[1]):
            name = names.get(branch_id or 0) or ctx.text(_("no branch (admins)"))
            lines.append(
                ctx.t(
                    _("• {branch}: {count} open, {late} overdue"),
                    branch=name,
                    count=count,
                    late=late[branch_id],
                )
            )
        letters = [letter for letter in letters if overdue(letter, day) or letter.with_admins]
        if letters:
            lines.append(ctx.t(_("**Overdue, or passed to the admins**")))
    else:
        lines.append(
            ctx.t(
                _n(
                    "**{count} open letter**, the nearest deadline first:",
                    "**{count} open letters**, the nearest deadline first:",
                ),
                count=len(letters),
            )
        )
    lines += [heading(ctx.translator, letter, day, days) for letter in letters[:LISTED]]
    if len(letters) > LISTED:
        lines.append(ctx.t(_("… and {count} more."), count=len(letters) - LISTED))
    ctx.reply(Markup.join(lines))


# -- /mail stats ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """One branch's (or the organisation's) letters of the last year."""

    letters: int
    by_category: dict[str, int]
    median_days: float | None
    """Working days from writing to the first answer, over the answered letters."""
    in_time: float | None
    """The share of letters whose first answer came by its deadline (of those due)."""
    overdue: int
    rating: float | None
    due: int = 0
    """The letters ``in_time`` is a share of: answered, or past their deadline."""
    rated: int = 0
    """The letters ``rating`` is the mean of."""


def figures(letters: list[Letter], day: date, days: WorkCalendar) -> Figures:
    """The figures of ``letters`` on ``day`` (a letter is due once its deadline passed),
    working days counted on ``days``."""
    answered = [x for x in letters if x.answered_on is not None]
    due = [x for x in letters if x.answered_on is not None or day > x.answer_due]
    waited = [days.between(x.written_on, x.answered_on) for x in answered if x.answered_on]
    ratings = [x.rating for x in letters if x.rating is not None]
    return Figures(
        letters=len(letters),
        by_category=dict(Counter(x.category for x in letters)),
        median_days=statistics.median(waited) if waited else None,
        in_time=(
            sum(1 for x in due if x.answered_on is not None and x.answered_on <= x.answer_due)
            / len(due)
        )
        if due
        else None,
        overdue=sum(1 for x in letters if overdue(x, day)),
        rating=statistics.fmean(ratings) if ratings else None,
        due=len(due),
        rated=len(ratings),
    )


@router.command(
    "mail stats",
    summary=_("letters, answer times and ratings, with a chart"),
    role=Role.SECRETARY,
    where=Where.DIRECT,
    args=[BranchArg("branch", _("branch"), optional=True, managed=True)],
)
async def mail_stats(ctx: Context, branch: Branch | None) -> None:
    day, days = today(ctx), calendar(ctx)
    if branch is not None:
        branch_ids: list[int] | None = [branch.id]
    elif ctx.who.is_admin:
        branch_ids = None
    else:
        branch_ids = sorted(ctx.who.secretary_of)
    letters = await ctx.store.get(Mailbox).letters(
        branch_ids, since=day - timedelta(days=STATS_DAYS)
    )
    if not letters:
        ctx.reply(_("No letters in the last year."))
        return
    names = {b.id: b.name for b in await ctx.store.branches.all()}
    groups: dict[int | None, list[Letter]] = {}
    for letter in letters:
        groups.setdefault(letter.branch_id, []).append(letter)
    lines = [ctx.t(_("**Secretary mailbox, the last 365 days**"))]
    shown: list[tuple[str, Figures]] = []
    for branch_id, group in sorted(groups.items(), key=lambda item: names.get(item[0] or 0, "")):
        name = names.get(branch_id or 0) or ctx.text(_("no branch (admins)"))
        found = figures(group, day, days)
        shown.append((name, found))
        lines.append(stats_line(ctx, name, found))
    if len(groups) > 1:
        lines.append(stats_line(ctx, ctx.text(_("All")), figures(letters, day, days)))
    chart = png(
        BarChart(
            ctx.text(_("Answered in time, and the mean rating (of 5)")),
            [name for name, _f in shown][:20],
            [
                Series(
                    ctx.text(_("answered in time")),
                    [f.in_time or 0.0 for _n, f in shown][:20],
                    (46, 125, 50),
                ),
                Series(
                    ctx.text(_("mean rating")),
                    [(f.rating or 0.0) / 5 for _n, f in shown][:20],
                    (25, 118, 210),
                ),
            ],
        )
    )
    ctx.reply(Markup.join(lines), image=Image("image/png", chart))


def stats_line(ctx: Context, name: str, found: Figures) -> Markup:
    dash = "—"
    categories = ctx.listing(
        f"{category_label(ctx, c)} {n}"
        for c, n in sorted(found.by_category.items(), key=lambda i: -i[1])
    )
    return ctx.t(
        _(
            "• **{branch}**: letters {letters} ({categories}); median working days to the first "
            "answer {median}; answered in time {in_time}; overdue {overdue}; mean rating {rating}"
        ),
        branch=name,
        letters=found.letters,
        categories=categories,
        median=dash if found.median_days is None else f"{found.median_days:g}",
        in_time=dash if found.in_time is None else f"{found.in_time:.0%}",
        overdue=found.overdue,
        rating=dash if found.rating is None else f"{found.rating:.1f}",
    )


# -- /mail blocks ---------------------------------------------------------------------------


@router.command("mail blocks", summary=_("writers blocked from writing, by case"), role=Role.ADMIN)
async def mail_blocks(ctx: Context) -> None:
    day = today(ctx)
    blocks = await ctx.store.get(Mailbox).blocks(day)
    if not blocks:
        ctx.reply(_("No writer is blocked."))
        return
    names = {b.id: b.name for b in await ctx.store.branches.all()}
    people = await _names(ctx, [b.by_id for b in blocks])
    mailbox = ctx.store.get(Mailbox)
    lines = [ctx.t(_("**Blocked writers** (who they are is not stored)"))]
    for block in blocks:
        letter = await mailbox.by_id(block.letter_id) if block.letter_id else None
        lines.append(
            ctx.t(
                _("• after {case} ({branch}), by {by}, until {until}"),
                case=case(letter) if letter else "—",
                branch=names.get(block.branch_id or 0, "—"),
                by=people.get(block.by_id or 0, "—"),
                until=ctx.translator.day(block.until),
            )
        )
    ctx.reply(Markup.join(lines))
