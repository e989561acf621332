"""``branchbot survey export R3 --format csv|xlsx``: the health report's figures as a table.

The same ``figures`` as ``/survey report`` and under the same k rule: one row per group (the
organisation, then each branch) and one per item of a group that is shown, never a row per
answer, never a name but a branch's. Free text stays in the chat report (for the branch's
secretaries): a file travels further than a chat.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bot.config import Config
from bot.i18n import Translator, _, _n, normalize_locale, translator
from bot.numbers import BadNumber
from dialogs.appraisal.common import ROUND, template_of
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.figures import Colour, Figures, Group, Item, colour_of, figures
from dialogs.appraisal.repository import Appraisal
from store.db import Database
from store.models import Branch
from store.repos import Repositories

FORMATS = ("csv", "xlsx")
CLI_LOCALE = "en"
Cell = str | int | float | None
COLOUR_WORDS = {Colour.GOOD: _("good"), Colour.MEDIUM: _("medium"), Colour.POOR: _("poor")}


def add_arguments(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """``export`` under ``branchbot survey`` (``cli`` declares the command)."""
    export = actions.add_parser(
        "export", parents=[common], help="write a round's health-report figures to a file"
    )
    export.add_argument("round", help="the round's number, R3 or 3")
    export.add_argument("--format", choices=FORMATS, default="csv")
    export.add_argument(
        "--output", type=Path, help="the file to write (default: survey-R3.csv or .xlsx here)"
    )


def header(t: Translator, found: Figures) -> list[Cell]:
    previous = (
        [t.text(_("Points from {number}")).format(number=ROUND.format(found.previous.number))]
        if found.previous is not None
        else []
    )
    return [
        t.text(_("Branch")),
        t.text(_("Answered")),
        t.text(_("Invited")),
        t.text(_("Response rate")),
        t.text(_("Question")),
        t.text(_("Answers")),
        t.text(_("Mean")),
        t.text(_("Share of the scale")),
        t.text(_("Colour")),
        t.text(_("Distribution")),
        t.text(_("Points from the organisation")),
        *previous,
        t.text(_("Problem list")),
        t.text(_("Note")),
    ]


def _points(share: float | None, other: float | None) -> Cell:
    return round(100 * (share - other)) if share is not None and other is not None else None


def item_row(
    t: Translator, found: Figures, group: Group, item: Item, config: AppraisalConfig
) -> list[Cell]:
    question = item.question
    if question.scale is not None:
        labels = [str(p) for p in question.scale.points]
    else:
        labels = [o.get(t.locale) for o in question.options]
    spread = t.listing(
        f"{label}: {count}" for label, count in zip(labels, item.counts, strict=True)
    )
    share = item.share
    organisation = None if group.branch_id is None else found.organisation.share(question.key)
    previous: list[Cell] = []
    if found.previous is not None:
        before = (
            found.previous.organisation
            if group.branch_id is None
            else found.previous.branches.get(group.branch_id)
        )
        previous = [_points(share, before.share(question.key) if before else None)]
    problems = [p.question.key for p in group.problems()]
    return [
        None,
        None,
        None,
        None,
        question.text.get(t.locale),
        item.answers,
        round(item.mean, 2) if item.mean is not None else None,
        round(share, 4) if share is not None else None,
        t.text(COLOUR_WORDS[colour_of(share, config)]) if share is not None else None,
        spread,
        _points(share, organisation),
        *previous,
        problems.index(question.key) + 1 if question.key in problems else None,
        None,
    ]


def table(
    t: Translator, found: Figures, names: dict[int, str], config: AppraisalConfig
) -> list[list[Cell]]:
    """The header, then each group's row and its items' rows."""
    rows = [header(t, found)]
    width = len(rows[0])
    for group in (found.organisation, *found.branches):
        name = t.text(_("Organisation")) if group.branch_id is None else names[group.branch_id]
        row: list[Cell] = [None] * width
        row[:4] = [name, group.submitted, group.eligible, round(group.rate, 4)]
        overall = group.overall
        if overall is not None:
            row[7] = round(overall, 4)
            row[8] = t.text(COLOUR_WORDS[colour_of(overall, config)])
        if not group.shown:
            row[-1] = t.text(_("Fewer than {k} answers: nothing is shown.")).format(k=found.k)
        rows.append(row)
        rows += [item_row(t, found, group, item, config) for item in group.items]
    return rows


def write(rows: Sequence[Sequence[Cell]], path: Path, form: str) -> None:
    if form == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as out:
            csv.writer(out).writerows([["" if c is None else c for c in row] for row in rows])
        return
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its sheet
    for row in rows:
        sheet.append(list(row))
    book.save(path)


async def _table(
    config: Config, database: Callable[[], Database], number: int, locale: str
) -> list[list[Cell]] | None:
    db = database()
    try:
        await db.upgrade()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            row = await appraisal.round(number)
            if row is None:
                return None
            stored = await appraisal.template_by_id(row.template_id)
            assert stored is not None  # a round's template is never deleted
            found = await figures(appraisal, row, template_of(stored))
            names = {b: n for b, n in await session.execute(select(Branch.id, Branch.name))}
            t = translator(locale, locale)
            return table(t, found, names, config.section(AppraisalConfig))
    finally:
        await db.dispose()


def survey_export(
    config: Config, database: Callable[[], Database], shown: str, form: str, output: Path | None
) -> int:
    """Write the figures of round ``shown`` in the organisation's language; 2 when there is
    no such round. What the terminal is told is English, like ``survey import``."""
    say = translator(CLI_LOCALE, CLI_LOCALE)
    try:
        number = ROUND.digits(shown)
    except BadNumber:
        print(
            say(_("branchbot: “{text}” is not a round number (R3)."), text=shown).plain(),
            file=sys.stderr,
        )
        return 2
    locale = normalize_locale(config.default_locale) or CLI_LOCALE
    rows = asyncio.run(_table(config, database, number, locale))
    label = ROUND.format(number)
    if rows is None:
        print(
            say(_("branchbot: there is no survey {number}."), number=label).plain(), file=sys.stderr
        )
        return 2
    path = output or Path(f"survey-{label}.{form}")
    write(rows, path, form)
    message = _n(
        "{number}: {count} row written to {file}", "{number}: {count} rows written to {file}"
    )
    print(say(message, len(rows) - 1, number=label, file=str(path)).plain())
    return 0
