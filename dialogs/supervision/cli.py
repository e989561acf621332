"""``branchbot indicators import <file>`` and ``branchbot report export --month YYYY-MM``.

The import checks the whole file first: a file with any problem imports nothing, each
problem printed as ``file:line: message``. The export writes the monthly branch report's
figures (``monthly``) as a workbook: one sheet of branches, one of every item rated, in the
organisation's language; what the terminal is told is English, like the other commands.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.config import Config
from bot.context import Settings
from bot.feature import CliCommand, CliServices
from bot.i18n import Plural, Translator, _, _n, normalize_locale, translator
from dialogs.supervision.common import COLOUR
from dialogs.supervision.indicators import Colour, Indicator, load
from dialogs.supervision.monthly import (
    MonthReport,
    figure_labels,
    month_report,
    parse_month,
    shown,
)
from dialogs.supervision.repository import Imported, Supervision
from store.banks import shown as printable
from store.repos import Repositories

CLI_LOCALE = "en"


def _say(message: str | Plural, count: int | None = None, **values: object) -> str:
    return translator(CLI_LOCALE, CLI_LOCALE)(message, count, **values).plain()


def _indicator_arguments(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    load_ = actions.add_parser(
        "import", parents=[common], help="import supervision indicators (.yaml); again to update"
    )
    load_.add_argument("file", type=Path)
    load_.add_argument("--check", action="store_true", help="only check the file; import nothing")


async def _import(services: CliServices, indicators: Sequence[Indicator], today: date) -> Imported:
    db = services.database()
    try:
        await db.upgrade()
        async with db.session() as session:
            return await Repositories(session).get(Supervision).import_indicators(indicators, today)
    finally:
        await db.dispose()


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _indicators_run(config: Config, args: argparse.Namespace, services: CliServices) -> int:
    file: Path = args.file
    if not file.is_file():
        print(_say(_("branchbot: no such file: {file}"), file=str(file)), file=sys.stderr)
        return 2
    loaded = load(file)
    if loaded.errors:
        for error in loaded.errors:
            print(printable(str(error)), file=sys.stderr)
        message = _n(
            "branchbot: {count} error, nothing imported",
            "branchbot: {count} errors, nothing imported",
        )
        print(_say(message, len(loaded.errors)), file=sys.stderr)
        return 1
    count = len(loaded.indicators)
    if args.check:
        message = _n(
            "{file}: {count} indicator is valid; nothing imported",
            "{file}: {count} indicators are valid; nothing imported",
        )
        print(_say(message, count, file=file.name))
        return 0
    done = asyncio.run(_import(services, loaded.indicators, _today(services.settings)))
    print(
        _say(
            _("{file}: {added} indicators added, {changed} changed, {unchanged} unchanged"),
            file=file.name,
            added=done.added,
            changed=done.changed,
            unchanged=done.unchanged,
        )
    )
    return 0


INDICATORS = CliCommand(
    "indicators", "supervision indicators", _indicator_arguments, _indicators_run
)


# -- the export -----------------------------------------------------------------------------


def _report_arguments(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export", parents=[common], help="write a month's branch report to a workbook"
    )
    export.add_argument("--month", required=True, help="the month, YYYY-MM")
    export.add_argument("--format", choices=("xlsx",), default="xlsx")
    export.add_argument("--output", type=Path, help="the file (default: report-YYYY-MM.xlsx here)")


async def _reports(
    services: CliServices, month: date, locale: str
) -> tuple[MonthReport, list[MonthReport]]:
    db = services.database()
    try:
        await db.upgrade()
        async with db.session() as session:
            repos = Repositories(session)
            whole = await month_report(repos, services.settings, month, None, locale)
            branches = [
                await month_report(repos, services.settings, month, [branch_id], locale)
                for branch_id in whole.names
            ]
            return whole, branches
    finally:
        await db.dispose()


def workbook(language: Translator, whole: MonthReport, branches: list[MonthReport]) -> Workbook:
    """Sheet "Branches": a row per branch and one for the organisation; sheet "Items": every
    item the month rated, with its colour."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = language.text(_("Branches"))
    labels = figure_labels([whole, *branches])
    sheet.append(
        [
            language.text(_("Branch")),
            language.text(_("Items due")),
            language.text(_("Green")),
            language.text(_("Yellow")),
            language.text(_("Red")),
            language.text(_("Tasks due")),
            language.text(_("Closed in time")),
            language.text(_("Overdue tasks")),
            *(language.text(label) for label in labels),
        ]
    )

    def row(name: str, report: MonthReport) -> list[str | int | None]:
        figures = {f.label: shown(f) for f in report.figures}
        return [
            name,
            len(report.items),
            report.count(Colour.GREEN),
            report.count(Colour.YELLOW),
            report.count(Colour.RED),
            report.tasks.due,
            report.tasks.done_in_time,
            report.tasks.overdue,
            *(figures.get(label, "") for label in labels),
        ]

    sheet.append(row(language.text(_("Organisation")), whole))
    for report in branches:
        name = next(iter(report.names.values()), "")
        sheet.append(row(name, report))
    items = book.create_sheet(language.text(_("Items")))
    items.append(
        [
            language.text(_("Branch")),
            language.text(_("Indicator")),
            language.text(_("Period")),
            language.text(_("Colour")),
            language.text(_("Reported on")),
            language.text(_("Late")),
        ]
    )
    for item in whole.items:
        items.append(
            [
                whole.names.get(item.branch_id, ""),
                item.indicator,
                item.period,
                language.text(COLOUR[item.colour]),
                item.reported_on.isoformat() if item.reported_on else "",
                language.text(_("yes")) if item.late else "",
            ]
        )
    return book


def _report_run(config: Config, args: argparse.Namespace, services: CliServices) -> int:
    month = parse_month(args.month)
    if month is None:
        print(
            _say(_("branchbot: “{text}” is not a month (YYYY-MM)."), text=args.month),
            file=sys.stderr,
        )
        return 2
    locale = normalize_locale(config.default_locale) or CLI_LOCALE
    whole, branches = asyncio.run(_reports(services, month, locale))
    path: Path = args.output or Path(f"report-{month:%Y-%m}.xlsx")
    workbook(translator(locale, locale), whole, branches).save(path)
    message = _n(
        "{month}: {count} branch written to {file}", "{month}: {count} branches written to {file}"
    )
    print(_say(message, len(branches), month=f"{month:%Y-%m}", file=str(path)))
    return 0


REPORT_EXPORT = CliCommand("report", "the monthly branch report", _report_arguments, _report_run)
