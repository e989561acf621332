"""``branchbot survey import <file>``: a survey template from the command line, into the
organisation's templates (a file sent in a direct chat by an admin goes the same way,
``template_files``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from bot.config import Config
from bot.feature import CliCommand, CliServices
from bot.i18n import Plural, _, _n, translator
from dialogs.appraisal import export
from dialogs.appraisal.repository import Appraisal, StoredTemplate
from dialogs.appraisal.templates import Template, load_template
from store.banks import shown
from store.db import Database
from store.repos import Repositories

CLI_LOCALE = "en"
"""The language of everything the CLI prints: the loader's ``file:line`` messages are English,
so its own lines are too (as ``branchbot bank import``'s)."""


def _arguments(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    survey = parser.add_subparsers(dest="action", required=True)
    load = survey.add_parser(
        "import",
        parents=[common],
        help="import a survey template (.yaml); again for its next version",
    )
    load.add_argument("file", type=Path)
    load.add_argument("--check", action="store_true", help="only check the file; import nothing")
    export.add_arguments(survey, common)


async def _import(database: Callable[[], Database], template: Template) -> StoredTemplate:
    db = database()
    try:
        await db.upgrade()
        async with db.session() as session:
            repository = Repositories(session).get(Appraisal)
            stored = await repository.template_by_id(await repository.add_template(template))
            assert stored is not None  # just added, in this transaction
            return stored
    finally:
        await db.dispose()


def survey_import(database: Callable[[], Database], file: Path, check: bool) -> int:
    """Check everything first: a file with any problem imports nothing, and every problem is
    printed as ``file:line: message``; the exit status is 1. ``--check`` stops after the
    checks, without the database."""
    t = translator(CLI_LOCALE, CLI_LOCALE)

    def say(message: str | Plural, count: int | None = None, **values: object) -> str:
        return t(message, count, **values).plain()

    if not file.is_file():
        print(say(_("branchbot: no such file: {file}"), file=str(file)), file=sys.stderr)
        return 2
    loaded = load_template(file)
    if loaded.template is None:
        for error in loaded.errors:
            print(shown(str(error)), file=sys.stderr)
        message = _n(
            "branchbot: {count} error, nothing imported",
            "branchbot: {count} errors, nothing imported",
        )
        print(say(message, len(loaded.errors)), file=sys.stderr)
        return 1
    template = loaded.template
    questions = len(template.questions)
    if check:
        message = _n(
            "{file}: survey template {key} is valid ({count} question); nothing imported",
            "{file}: survey template {key} is valid ({count} questions); nothing imported",
        )
        print(say(message, questions, file=file.name, key=template.key))
        return 0
    stored = asyncio.run(_import(database, template))
    message = _n(
        "survey template {key} imported as version {version}: {count} question",
        "survey template {key} imported as version {version}: {count} questions",
    )
    print(say(message, questions, key=stored.key, version=stored.version))
    return 0


def _run(config: Config, args: argparse.Namespace, services: CliServices) -> int:
    database = services.database
    if args.action == "export":
        return export.survey_export(config, database, args.round, args.format, args.output)
    return survey_import(database, args.file, args.check)


SURVEY_IMPORT = CliCommand("survey", "survey templates", _arguments, _run)
