"""Reading the state of the branches: ``/board`` (the colour grid as an image and its text,
red first), ``/board <branch>`` (one branch, item by item), ``/evidence search`` and
``/evidence show`` (reports by their titles and text, their files sent again).

Admins see every branch; a secretary their own.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from bot.commands import BranchArg, Number, Rest
from bot.context import Context
from bot.i18n import Translator, _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Document, Image
from dialogs.supervision.board import Board, Cell, Row, board
from dialogs.supervision.chart import MAX_ROWS, board_png
from dialogs.supervision.common import COLOUR, DOT, REPORT, config, router, today
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.indicators import Colour
from dialogs.supervision.periods import by_key
from dialogs.supervision.repository import Supervision
from dialogs.supervision.tables import Report
from store.models import Branch

LISTED = 12
"""Branches of each colour the text of ``/board`` names (the image shows ``MAX_ROWS``)."""
SEARCH_WORDS = 8
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def scope(ctx: Context) -> Collection[int] | None:
    """The branches the speaker may see: ``None`` (all) for an admin."""
    return None if ctx.who.is_admin else list(ctx.who.secretary_of)


def _cell_text(language: Translator, cell: Cell) -> Markup:
    locale = language.locale
    title, period = cell.indicator.indicator.title.get(locale), cell.period.label(locale)
    if cell.report is None and cell.colour == Colour.PENDING:
        return language(
            _("{dot} {title} ({period}): due {due}"),
            dot=DOT[cell.colour],
            title=title,
            period=period,
            due=language.day(cell.period.due),
        )
    if cell.report is None:
        return language(
            _("{dot} {title} ({period}): missing, due {due}"),
            dot=DOT[cell.colour],
            title=title,
            period=period,
            due=language.day(cell.period.due),
        )
    template = (
        _("{dot} {title} ({period}): reported late on {day}")
        if cell.report.late
        else _("{dot} {title} ({period}): reported on {day}")
    )
    return language(
        template,
        dot=DOT[cell.colour],
        title=title,
        period=period,
        day=language.day(cell.report.on),
    )


def _gaps(language: Translator, row: Row) -> Markup:
    """``🔴 North: 支部委员会会议, 党课; 2 overdue tasks``: what makes a branch red or yellow."""
    locale = language.locale
    bad = [c for c in row.cells if c.colour in (Colour.RED, Colour.YELLOW)]
    parts = [c.indicator.indicator.title.get(locale) for c in bad]
    text = language.listing(parts)
    line = language(
        _("{dot} **{branch}**: {items}"), dot=DOT[row.colour], branch=row.name, items=text
    )
    if row.tasks.overdue:
        line = Markup.join(
            [
                line,
                language(
                    _n("({count} task overdue)", "({count} tasks overdue)"),
                    count=row.tasks.overdue,
                ),
            ],
            " ",
        )
    return line


def summary(language: Translator, shown: Board) -> Markup:
    lines = [
        language(
            _("**Supervision board**, {day}: 🔴 {red} · 🟡 {yellow} · 🟢 {green} · ⚪ {pending}"),
            day=language.day(shown.day),
            red=shown.count(Colour.RED),
            yellow=shown.count(Colour.YELLOW),
            green=shown.count(Colour.GREEN),
            pending=shown.count(Colour.PENDING),
        )
    ]
    for colour in (Colour.RED, Colour.YELLOW):
        rows = [row for row in shown.rows if row.colour == colour]
        lines += [_gaps(language, row) for row in rows[:LISTED]]
        if len(rows) > LISTED:
            lines.append(
                language(
                    _n(
                        "… and {count} more {colour} branch.",
                        "… and {count} more {colour} branches.",
                    ),
                    count=len(rows) - LISTED,
                    colour=language.text(COLOUR[colour]),
                )
            )
    if len(shown.rows) > MAX_ROWS:
        lines.append(
            language(_("The image shows the {count} branches that need it most."), count=MAX_ROWS)
        )
    lines.append(language(_("`/board <branch>` shows one branch item by item.")))
    return Markup.join(lines)


def image(language: Translator, shown: Board) -> Image:
    legend = {colour: language.text(COLOUR[colour]) for colour in Colour}
    title = language.text(_("Supervision board, {day}")).format(day=language.day(shown.day))
    data = board_png(shown, title, legend, language.locale, language.text(_("score")))
    return Image("image/png", data)


def answer(language: Translator, shown: Board) -> tuple[Markup, Image | None]:
    """What ``/board`` answers: the summary and the grid's image, or why there is none."""
    if not shown.indicators:
        return language(
            _(
                "No indicators have been set yet: an admin imports them with "
                "`branchbot indicators import`."
            )
        ), None
    if not shown.rows:
        return language(_("There are no branches yet.")), None
    return summary(language, shown), image(language, shown)


@router.command(
    "board",
    summary=_("the branches' green / yellow / red board"),
    role=Role.SECRETARY,
    args=[BranchArg("branch", _("branch"), optional=True, managed=True)],
)
async def board_command(ctx: Context, branch: Branch | None = None) -> None:
    """One branch is read here; the whole board is read and drawn by the drawing worker
    (``dialogs.supervision.drawing``), outside the batch: it takes a second at 500 branches."""
    if branch is not None:
        await _branch(ctx, branch)
        return
    asked = await ctx.store.get(Supervision).ask_board(
        ctx.who.identity, ctx.here, ctx.event.thread, ctx.translator.locale, scope(ctx)
    )
    if not asked:
        ctx.reply(_("Your board is being drawn: it comes in a moment."))


async def _branch(ctx: Context, branch: Branch) -> None:
    shown = await board(ctx.store, config(ctx), today(ctx), [branch.id])
    if not shown.rows:
        ctx.reply(_("There are no branches yet."))
        return
    row = shown.rows[0]
    score = "–" if row.score is None else f"{round(100 * row.score)}%"
    rate = row.tasks.rate
    lines = [
        ctx.t(
            _("{dot} **{branch}**: {colour}, score {score}"),
            dot=DOT[row.colour],
            branch=row.name,
            colour=ctx.text(COLOUR[row.colour]),
            score=score,
        )
    ]
    lines += [_cell_text(ctx.translator, cell) for cell in row.cells]
    lines.append(
        ctx.t(
            _("Rectification: {overdue} overdue; closed in time {rate} ({done} of {due})."),
            overdue=row.tasks.overdue,
            rate="–" if rate is None else f"{round(100 * rate)}%",
            done=row.tasks.done_in_time,
            due=row.tasks.due,
        )
    )
    lines.append(ctx.t(_("`/tasks {branch}` lists its tasks."), branch=row.name))
    ctx.reply(Markup.join(lines))


# -- evidence -------------------------------------------------------------------------------


def _report_line(
    ctx: Context, report: Report, names: dict[int, str], titles: dict[int, str]
) -> Markup:
    return ctx.t(
        _("{number} · {title} · {period} · {branch} · {day}"),
        number=REPORT.format(report.id),
        title=titles.get(report.indicator_id, "?"),
        period=report.period,
        branch=names.get(report.branch_id, ""),
        day=ctx.translator.day(report.on),
    )


async def _titles(ctx: Context) -> dict[int, str]:
    locale = ctx.translator.locale
    return {
        a.id: a.indicator.title.get(locale)
        for a in await ctx.store.get(Supervision).indicators(everyone=True)
    }


async def _branch_names(ctx: Context, ids: Collection[int]) -> dict[int, str]:
    rows = await ctx.store.session.execute(
        select(Branch.id, Branch.name).where(Branch.id.in_(list(ids)))
    )
    return {branch_id: name for branch_id, name in rows}


@router.command(
    "evidence search",
    summary=_("find reports by the words of their title or text"),
    role=Role.SECRETARY,
    args=[Rest("words", _("words"))],
)
async def evidence_search(ctx: Context, words: str) -> None:
    terms = [w for w in words.split() if w][:SEARCH_WORDS]
    if not terms:
        ctx.reply(_("Give a few words to look for: `/evidence search <words>`."))
        return
    found = await ctx.store.get(Supervision).search(terms, scope(ctx))
    if not found:
        ctx.reply(_("No report holds all of: {words}."), words=" ".join(terms))
        return
    names = await _branch_names(ctx, {r.branch_id for r in found})
    titles = await _titles(ctx)
    lines = [ctx.t(_("**Reports with {words}**, newest first:"), words=" ".join(terms))]
    lines += [_report_line(ctx, report, names, titles) for report in found]
    lines.append(ctx.t(_("`/evidence show <number>` shows one with its files.")))
    ctx.reply(Markup.join(lines))


@router.command(
    "evidence show",
    summary=_("one report with its evidence files"),
    role=Role.SECRETARY,
    args=[Number("number", _("evidence number"), kind=REPORT)],
)
async def evidence_show(ctx: Context, number: int) -> None:
    supervision = ctx.store.get(Supervision)
    report = await supervision.report(number)
    allowed = scope(ctx)
    if report is None or (allowed is not None and report.branch_id not in allowed):
        ctx.reply(_("There is no report {number} that you may see."), number=REPORT.format(number))
        return
    names = await _branch_names(ctx, [report.branch_id])
    titles = await _titles(ctx)
    lines = [_report_line(ctx, report, names, titles)]
    if not report.current:
        lines.append(ctx.t(_("A later version replaced this one.")))
    if report.late:
        lines.append(ctx.t(_("Reported late.")))
    if report.text:
        lines.append(Markup.literal(report.text))
    actives = {a.id: a for a in await supervision.indicators(everyone=True)}
    active = actives.get(report.indicator_id)
    if active is not None:
        for spec in active.indicator.numbers:
            lines.append(
                ctx.t(
                    _("{label}: {value}"),
                    label=spec.label.get(ctx.translator.locale),
                    value=report.numbers.get(spec.key, "–"),
                )
            )
        period = by_key(active.indicator, report.period)
        if period is not None:
            lines.append(ctx.t(_("Due {due}."), due=ctx.translator.day(period.due)))
    files = (await supervision.files([report.id])).get(report.id, [])
    lines.append(ctx.t(_("Files: {count}"), count=len(files)))
    ctx.reply(Markup.join(lines, "\n\n"))
    store = FileStore.of(ctx.settings)
    for file in files:
        data = await store.read(file.sha256)
        if data is None:
            ctx.reply(_("{name}: the file is missing from the evidence store."), name=file.name)
        elif file.mime in IMAGE_TYPES:
            ctx.reply(Markup.literal(file.name), image=Image(file.mime, data))
        else:
            ctx.reply(Markup.literal(file.name), document=Document(file.name, file.mime, data))
