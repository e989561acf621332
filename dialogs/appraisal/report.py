"""The health report (体检报告): ``/survey report R3 [branch]``, with its chart; a member's own
report ``/survey mine R3``; a secretary's view of one member's grades ``/survey grades R3 <name>``.

Every figure comes from ``figures`` under the k rule. Admins see every branch and may look
before the round is sealed; a secretary sees their own branches of the round and the
organisation's figures, once it is sealed; members are refused by the command's role. A long
report is split into as many messages as the platform needs, up to ``MAX_MESSAGES``.
"""

from __future__ import annotations

from bot.charts import BarChart, Series, png
from bot.commands import BranchArg, Number, Rest, Where
from bot.context import Context
from bot.i18n import _, _n
from bot.identity import Role
from bot.markup import Markup
from bot.messages import Image
from dialogs.appraisal.answering import GRADE_LABELS
from dialogs.appraisal.common import ROUND, router, template_of
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.figures import Colour, Figures, Group, Item, colour_of, figures
from dialogs.appraisal.problems import offer
from dialogs.appraisal.repository import Appraisal, RoundRow
from dialogs.appraisal.templates import GRADES, Kind
from store.models import Branch

MAX_MESSAGES = 8
"""Messages one report takes at most; past them it ends with a pointer to the export."""
TEXT_SHOWN = 300
"""Characters of one free-text answer in a chat report (the export has them whole)."""
COLOURS = {
    Colour.GOOD: ("🟢", _("good")),
    Colour.MEDIUM: ("🟡", _("medium")),
    Colour.POOR: ("🔴", _("poor")),
}
BRANCH_BAR = (66, 133, 244)
ORGANISATION_BAR = (160, 160, 160)
CHART_ITEMS = 20
"""Scale items a chart shows at most (bot.charts draws up to 50 categories)."""


def percent(share: float) -> str:
    return f"{round(100 * share)}%"


def points(difference: float) -> str:
    """A difference of shares in percentage points, signed."""
    value = round(100 * difference)
    return f"{value:+d}" if value else "±0"


def colour_word(ctx: Context, share: float, config: AppraisalConfig) -> str:
    mark, word = COLOURS[colour_of(share, config)]
    return f"{mark} {ctx.text(word)}"


def item_lines(
    ctx: Context, item: Item, figures_: Figures, group: Group, config: AppraisalConfig
) -> list[Markup]:
    """One item: its mean and colour, the differences, its distribution."""
    question = item.question
    text = question.text.get(ctx.translator.locale)
    if item.share is None or item.mean is None:
        options = [o.get(ctx.translator.locale) for o in question.options]
        spread = " · ".join(f"{o} {c}" for o, c in zip(options, item.counts, strict=True))
        return [
            ctx.t(
                _n(
                    "• {question} ({count} answer): {spread}",
                    "• {question} ({count} answers): {spread}",
                ),
                count=item.answers,
                question=text,
                spread=spread,
            )
        ]
    assert question.scale is not None
    differences = []
    organisation = figures_.organisation.share(question.key)
    if group.branch_id is not None and organisation is not None:
        differences.append(
            ctx.text(_("{points} points from the organisation")).format(
                points=points(item.share - organisation)
            )
        )
    if figures_.previous is not None:
        before = (
            figures_.previous.organisation
            if group.branch_id is None
            else figures_.previous.branches.get(group.branch_id)
        )
        earlier = before.share(question.key) if before is not None else None
        if earlier is not None:
            differences.append(
                ctx.text(_("{points} points from {number}")).format(
                    points=points(item.share - earlier),
                    number=ROUND.format(figures_.previous.number),
                )
            )
    spread = " · ".join(
        f"{p}: {c}" for p, c in zip(question.scale.points, item.counts, strict=True)
    )
    lines = [
        ctx.t(
            _n(
                "• {question}: {mean} of {high} ({share}) {colour}, {count} answer",
                "• {question}: {mean} of {high} ({share}) {colour}, {count} answers",
            ),
            count=item.answers,
            question=text,
            mean=f"{item.mean:.1f}",
            high=question.scale.high,
            share=percent(item.share),
            colour=colour_word(ctx, item.share, config),
        ),
        Markup.literal(f"  {spread}"),
    ]
    if differences:
        lines.append(Markup.literal("  " + ctx.listing(differences)))
    return lines


def group_block(
    ctx: Context, figures_: Figures, group: Group, name: str, config: AppraisalConfig
) -> list[list[Markup]]:
    """A group's section as blocks, each kept whole in one message."""
    head = [
        ctx.t(
            _("**{name}**: {submitted} of {eligible} answered ({rate})"),
            name=name,
            submitted=group.submitted,
            eligible=group.eligible,
            rate=percent(group.rate),
        )
    ]
    if not group.shown:
        note = (
            _("Fewer than {k} answers: nothing is shown.")
            if group.branch_id is None
            else _(
                "Fewer than {k} answers: this branch counts only in the organisation's "
                "figures, with the other branches."
            )
        )
        return [[*head, ctx.t(note, k=figures_.k)]]
    overall = group.overall
    if overall is not None:
        head.append(
            ctx.t(
                _("Overall: {share} {colour}"),
                share=percent(overall),
                colour=colour_word(ctx, overall, config),
            )
        )
    blocks = [head]
    blocks += [item_lines(ctx, item, figures_, group, config) for item in group.items]
    locale = ctx.translator.locale
    if group.hidden:
        blocks.append(
            [
                ctx.t(
                    _("Fewer than {k} answers, not shown: {questions}"),
                    k=figures_.k,
                    questions=ctx.listing(q.text.get(locale) for q in group.hidden),
                )
            ]
        )
    problems = group.problems()
    if problems:
        blocks.append(
            [
                ctx.t(_("Problem list:")),
                *(
                    ctx.t(
                        _("{position}. {question} ({share})"),
                        position=n,
                        question=item.question.text.get(locale),
                        share=percent(item.share or 0),
                    )
                    for n, item in enumerate(problems, start=1)
                ),
            ]
        )
    for question, texts in group.texts:
        blocks.append(
            [
                ctx.t(
                    _("{question} (free text, in random order):"),
                    question=question.text.get(locale),
                ),
                *(Markup.literal("– " + shorten(text)) for text in texts),
            ]
        )
    return blocks


def shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_SHOWN else flat[: TEXT_SHOWN - 1] + "…"


def messages(ctx: Context, blocks: list[list[Markup]], number: str) -> list[Markup]:
    """``blocks`` packed into messages of the platform's length, a block never split unless it
    alone is too long (then cut); at most ``MAX_MESSAGES``."""
    limit = ctx.capabilities.max_text_length
    more = ctx.t(
        _(
            "The report goes on beyond what fits here: `/survey report {number} <branch>` shows "
            "one branch, `branchbot survey export {number}` writes every figure."
        ),
        number=number,
    )
    packed: list[list[Markup]] = [[]]
    size = 0
    for block in blocks:
        lines = list(block)
        cost = sum(len(line.plain()) + 1 for line in lines)
        if cost > limit:
            lines, cost = _cut(lines, limit - len(more.plain()) - 2)
        if size + cost > limit and packed[-1]:
            if len(packed) == MAX_MESSAGES:
                packed[-1].append(more)
                break
            packed.append([])
            size = 0
        packed[-1].extend(lines)
        size += cost
    return [Markup.join(lines) for lines in packed]


def _cut(lines: list[Markup], room: int) -> tuple[list[Markup], int]:
    kept, used = [], 0
    for line in lines:
        cost = len(line.plain()) + 1
        if used + cost > room:
            kept.append(Markup.literal("…"))
            return kept, used + 2
        kept.append(line)
        used += cost
    return kept, used


def chart(ctx: Context, figures_: Figures, branch: Group, name: str) -> bytes | None:
    """Per scale item, the branch's mean and the organisation's as shares of the scale."""
    items = [item for item in branch.items if item.share is not None][:CHART_ITEMS]
    if not items:
        return None
    locale = ctx.translator.locale
    organisation = [figures_.organisation.share(item.question.key) or 0.0 for item in items]
    return png(
        BarChart(
            ctx.text(_("{name}: mean of each item, as a share of its scale")).format(name=name),
            [item.question.text.get(locale) for item in items],
            [
                Series(name, [item.share or 0.0 for item in items], BRANCH_BAR),
                Series(ctx.text(_("Organisation")), organisation, ORGANISATION_BAR),
            ],
        )
    )


async def _round_for_report(ctx: Context, number: int) -> RoundRow | None:
    """The round, if the speaker may see its report now; else the refusal is said."""
    row = await ctx.store.get(Appraisal).round(number)
    shown = ROUND.format(number)
    mine = set(ctx.who.secretary_of)
    if row is None or not (ctx.who.is_admin or mine & set(row.branch_ids)):
        ctx.reply(_("There is no survey {number}."), number=shown)
        return None
    if not row.sealed and not ctx.who.is_admin:
        ctx.reply(
            _("The report of survey {number} is ready once it is closed and its answers are in."),
            number=shown,
        )
        return None
    return row


@router.command(
    "survey report",
    summary=_("the health report of a survey round"),
    role=Role.SECRETARY,
    args=[
        Number("number", _("round number"), kind=ROUND),
        BranchArg("branch", _("branch"), optional=True, managed=True),
    ],
    where=Where.DIRECT,
)
async def survey_report(ctx: Context, number: int, branch: Branch | None = None) -> None:
    row = await _round_for_report(ctx, number)
    if row is None:
        return
    shown = ROUND.format(number)
    if branch is not None and branch.id not in row.branch_ids:
        ctx.reply(_("Survey {number} was not for {branch}."), number=shown, branch=branch.name)
        return
    appraisal = ctx.store.get(Appraisal)
    stored = await appraisal.template_by_id(row.template_id)
    assert stored is not None  # a round's template is never deleted
    template = template_of(stored)
    found = await figures(appraisal, row, template)
    config = ctx.settings.section(AppraisalConfig)
    names = {b.id: b.name for b in await ctx.store.branches.all()}
    wanted = [
        g
        for g in found.branches
        if (branch is None or g.branch_id == branch.id) and ctx.who.manages(g.branch_id or 0)
    ]
    blocks = [
        [
            ctx.t(
                _("**Health report of survey {number}: {title}**"),
                number=shown,
                title=template.title.get(ctx.translator.locale),
            )
        ]
    ]
    if not row.sealed:
        blocks[0].append(
            ctx.t(_("Not final: the round is still open or its answers are not all in."))
        )
    blocks += group_block(ctx, found, found.organisation, ctx.text(_("Organisation")), config)
    for group in wanted:
        blocks += group_block(ctx, found, group, names.get(group.branch_id or 0, "?"), config)
    texts = messages(ctx, blocks, shown)
    drawn = next(
        (
            chart(ctx, found, g, names.get(g.branch_id or 0, "?"))
            for g in wanted
            if g.shown and chart_items(g)
        ),
        None,
    )
    for index, text in enumerate(texts):
        image = Image("image/png", drawn) if drawn is not None and index == 0 else None
        ctx.reply(text, image=image)
    for group in wanted:
        if group.shown:
            offer(ctx, found, group, names.get(group.branch_id or 0, "?"))


def chart_items(group: Group) -> bool:
    return any(item.question.kind is Kind.SCALE for item in group.items)


# -- a member's own report, and a secretary's view of one member's grades ---------------------


def grade_lines(ctx: Context, counts: dict[str, int], k: int, fewer: str) -> list[Markup]:
    """The count of each grade; ``fewer`` (a catalog message naming ``{k}``) below k graders."""
    graders = sum(counts.values())
    if graders < k:
        return [ctx.t(fewer, k=k)]
    return [
        ctx.t(_n("Graded by {count} member:", "Graded by {count} members:"), count=graders),
        *(
            ctx.t(
                _("• {grade}: {count}"),
                grade=ctx.text(GRADE_LABELS[grade]),
                count=counts.get(grade, 0),
            )
            for grade in GRADES
        ),
    ]


@router.command(
    "survey mine",
    summary=_("your own report of a survey round: the grades you received"),
    role=Role.MEMBER,
    args=[Number("number", _("round number"), kind=ROUND)],
    where=Where.DIRECT,
)
async def survey_mine(ctx: Context, number: int) -> None:
    appraisal = ctx.store.get(Appraisal)
    row = await appraisal.round(number)
    shown = ROUND.format(number)
    member = ctx.who.member_id
    if row is None or member is None or await appraisal.eligibility(number, member) is None:
        ctx.reply(_("There is no survey {number} of yours."), number=shown)
        return
    if not row.sealed:
        ctx.reply(
            _("Your report of survey {number} is ready once it is closed and its answers are in."),
            number=shown,
        )
        return
    counts = await appraisal.grades_received(number, member)
    lines = [ctx.t(_("**Your report of survey {number}**"), number=shown)]
    fewer = _(
        "Fewer than {k} members graded you: grades are shown only from {k} graders, so "
        "nobody's grade can be guessed."
    )
    lines += grade_lines(ctx, counts, row.k, fewer)
    lines.append(
        ctx.t(
            _(
                "Your self-assessment is kept without your name, like every answer, so it "
                "cannot be found again for you: keep a copy of it yourself."
            )
        )
    )
    ctx.reply(Markup.join(lines))


@router.command(
    "survey grades",
    summary=_("the grades a member of your branch received in a survey round"),
    role=Role.SECRETARY,
    args=[Number("number", _("round number"), kind=ROUND), Rest("member", _("member's name"))],
    where=Where.DIRECT,
)
async def survey_grades(ctx: Context, number: int, member: str) -> None:
    row = await _round_for_report(ctx, number)
    if row is None:
        return
    appraisal = ctx.store.get(Appraisal)
    wanted = " ".join(member.split()).casefold()
    found = [
        person
        for branch_id in row.branch_ids
        if ctx.who.manages(branch_id)
        for person in await appraisal.eligible_members(number, branch_id)
        if person.display_name.casefold() == wanted
    ]
    if len(found) != 1:
        message = (
            _("No member of your branches in survey {number} is called {name}.")
            if not found
            else _("Several members in survey {number} are called {name}.")
        )
        ctx.reply(message, number=ROUND.format(number), name=member)
        return
    person = found[0]
    counts = await appraisal.grades_received(number, person.id)
    lines = [
        ctx.t(
            _("**Grades of {name} in survey {number}**"),
            name=person.display_name,
            number=ROUND.format(number),
        )
    ]
    fewer = _(
        "Fewer than {k} members graded them: grades are shown only from {k} graders, so "
        "nobody's grade can be guessed."
    )
    lines += grade_lines(ctx, counts, row.k, fewer)
    ctx.reply(Markup.join(lines))
