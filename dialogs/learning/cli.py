"""``branchbot bank import <file>``: a question bank from the command line, into the
organisation's banks."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.feature import CliCommand, CliServices
from bot.i18n import Plural, _, _n, translator
from store import banks
from store.banks.sandbox import load_isolated
from store.db import Database
from store.learning import Imported, Learning
from store.repos import Repositories


def _arguments(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    bank = parser.add_subparsers(dest="action", required=True)
    load = bank.add_parser(
        "import",
        parents=[common],
        help="import questions (.txt Aiken, .gift, .csv, .xlsx, .yaml); again to update",
    )
    load.add_argument("file", type=Path)
    load.add_argument("--bank", help='bank name (default: `bank:` in YAML, else "default")')
    load.add_argument(
        "--skip-bad", action="store_true", help="import the good questions despite errors"
    )


async def _bank_import(database: Callable[[], Database], bank: banks.Bank) -> Imported:
    db = database()
    try:
        await db.upgrade()
        async with db.session() as session:
            return await Repositories(session).get(Learning).import_bank(bank)
    finally:
        await db.dispose()


CLI_LOCALE = "en"
"""The language of everything the CLI prints. The parsers' messages (``file:line: …``) are
English and are most of what ``bank import`` prints; its own lines follow them, so an operator
never reads an English error next to a Chinese summary. The config's ``default_locale`` is the
chat's language, not the terminal's."""


def bank_import(
    database: Callable[[], Database], file: Path, name: str | None, skip_bad: bool
) -> int:
    """Validate everything first; a file with errors imports nothing unless ``--skip-bad``,
    and a file of which nothing could be read is a failure with or without it. The CLI
    imports into the organisation's banks, parsed in the same fenced child process as a file
    sent in a chat. It speaks English (``CLI_LOCALE``), as the parsers' error lines do, so
    its output is one language whatever ``default_locale`` the chat uses."""
    t = translator(CLI_LOCALE, CLI_LOCALE)

    def say(message: str | Plural, count: int | None = None, **values: object) -> str:
        return t(message, count, **values).plain()

    if not file.is_file():
        print(say(_("branchbot: no such file: {file}"), file=str(file)), file=sys.stderr)
        return 2
    problem = banks.bank_name_problem(name) if name is not None else None
    if problem:
        print(f"branchbot: --bank: {problem}", file=sys.stderr)
        return 2
    bank = load_isolated(file, name, banks.LIMITS)
    for error in bank.errors:
        print(banks.shown(str(error)), file=sys.stderr)
    if not bank.readable:
        message = (
            _("branchbot: nothing could be read from {file}; nothing imported")
            if bank.errors
            else _("branchbot: {file} has no questions, levels or lessons; nothing imported")
        )
        print(say(message, file=file.name), file=sys.stderr)
        return 1
    if bank.errors and not skip_bad:
        print(
            say(
                _n(
                    "branchbot: {count} error, nothing imported (--skip-bad imports the rest)",
                    "branchbot: {count} errors, nothing imported (--skip-bad imports the rest)",
                ),
                len(bank.errors),
            ),
            file=sys.stderr,
        )
        return 1
    done = asyncio.run(_bank_import(database, bank))
    counts = [
        say(_n("{count} question added", "{count} questions added"), done.added),
        say(_n("{count} updated", "{count} updated"), done.updated),
        say(_n("{count} level", "{count} levels"), done.levels),
        say(_n("{count} lesson", "{count} lessons"), done.lessons),
    ]
    # One template for the whole line: its punctuation and spacing are the language's (no space
    # after Chinese ：), as the chat's "Bank … imported: …" reply is.
    line = say(_("bank {bank}: {counts}"), bank=bank.name, counts=t.listing(counts))
    if done.missing:
        line += say(
            _n(
                "; {count} question of this bank is not in the file (kept)",
                "; {count} questions of this bank are not in the file (kept)",
            ),
            done.missing,
        )
    print(line)
    return 0


def _run(config: Config, args: argparse.Namespace, services: CliServices) -> int:
    database = services.database
    return bank_import(database, args.file, args.bank, args.skip_bad)


BANK_IMPORT = CliCommand("bank", "question banks", _arguments, _run)
