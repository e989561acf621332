"""Importing survey templates: ``branchbot survey import`` and a file an admin sends in a direct
chat, on both stores; a file with any problem stores nothing, and a question bank still goes to
the learning feature."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.events import Attachment
from bot.feature import migrations
from dialogs import FEATURES
from dialogs.appraisal.repository import Appraisal, StoredTemplate
from dialogs.appraisal.templates import Template
from store.db import Database
from store.repos import Repositories
from tests.support.chat import BotFactory, ask
from tests.support.learning import RECEIVED, join, send_file

SHIPPED = Path(__file__).parents[2] / "dialogs" / "appraisal" / "shipped"
BANKS = Path(__file__).parents[1] / "learning" / "banks"
BROKEN = b"""\
survey: broken
title: {en: Broken}
sections:
  - title: {en: One, zh_Hans: \xe4\xb8\x80}
    questions:
      - {key: a, kind: scale, points: 7, text: {en: A, zh_Hans: A}}
"""


async def stored(url: str) -> list[StoredTemplate]:
    """The newest version of every template in the database at ``url``."""
    db = Database(url, migrations=migrations(FEATURES))
    try:
        await db.upgrade()
        return await templates_in(db)
    finally:
        await db.dispose()


async def templates_in(db: Database) -> list[StoredTemplate]:
    async with db.session() as session:
        return await Repositories(session).get(Appraisal).templates()


def cli(url: str, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    return main(["survey", "import", *argv])


def test_the_cli_imports_each_shipped_template_and_versions_a_second_import(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in sorted(SHIPPED.glob("*.yaml")):
        assert cli(database_url, monkeypatch, str(path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "survey template annual-appraisal imported as version 1: 12 questions",
        "survey template committee-rating imported as version 1: 11 questions",
        "survey template pulse imported as version 1: 5 questions",
    ]
    assert cli(database_url, monkeypatch, str(SHIPPED / "pulse.yaml")) == 0
    assert capsys.readouterr().out == "survey template pulse imported as version 2: 5 questions\n"
    templates = {t.key: t for t in asyncio.run(stored(database_url))}
    assert sorted(templates) == ["annual-appraisal", "committee-rating", "pulse"]
    assert templates["pulse"].version == 2
    pulse = Template.from_json(templates["pulse"].definition)
    assert [q.key for q in pulse.questions] == [
        "feeling",
        "informed",
        "activities",
        "wanted",
        "comment",
    ]


def test_the_cli_lists_every_problem_and_imports_nothing(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(BROKEN)
    assert cli(database_url, monkeypatch, str(broken)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "broken.yaml:2: title: zh_Hans is missing",
        "broken.yaml:6: points must be 5 or 10 (a scale from 1 to 5 or 1 to 10)",
        "broken.yaml:6: a scale question: labels is missing (at least for both ends)",
        "branchbot: 3 errors, nothing imported",
    ]
    assert asyncio.run(stored(database_url)) == []
    assert cli(database_url, monkeypatch, str(tmp_path / "missing.yaml")) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_reads_the_file_without_the_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/never.db"
    assert cli(url, monkeypatch, str(SHIPPED / "annual-appraisal.yaml"), "--check") == 0
    assert capsys.readouterr().out == (
        "annual-appraisal.yaml: survey template annual-appraisal is valid (12 questions); "
        "nothing imported\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_bytes(BROKEN)
    assert cli(url, monkeypatch, str(broken), "--check") == 1
    assert "branchbot: 3 errors, nothing imported" in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists()


async def test_an_admin_imports_a_template_in_a_direct_chat(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    annual = (SHIPPED / "annual-appraisal.yaml").read_bytes()
    said = await send_file(bot, adapter, "boss", "annual-appraisal.yaml", annual)
    assert said == (
        "Survey template Annual democratic appraisal of members (annual-appraisal) imported as "
        "version 1: 12 questions."
    )
    await ask(bot, adapter, "boss", "/lang zh")
    said = await send_file(bot, adapter, "boss", "annual-appraisal.yml", annual)
    assert said == "问卷模板「年度成员民主评议」（annual-appraisal）已导入，为第2版，共12道题。"
    templates = await templates_in(bot.db)
    assert [(t.key, t.version) for t in templates] == [("annual-appraisal", 2)]


async def test_a_template_with_problems_is_answered_with_its_lines_and_stores_nothing(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    said = await send_file(bot, adapter, "boss", "broken.yaml", BROKEN)
    assert said.splitlines() == [
        "broken.yaml has 3 problems:",
        "• broken.yaml:2: title: zh_Hans is missing",
        "• broken.yaml:6: points must be 5 or 10 (a scale from 1 to 5 or 1 to 10)",
        "• broken.yaml:6: a scale question: labels is missing (at least for both ends)",
        "Nothing was imported. Fix the file and send it again.",
    ]
    await ask(bot, adapter, "boss", "/lang zh")
    said = await send_file(bot, adapter, "boss", "broken.yaml", BROKEN)
    assert said.splitlines()[0] == "broken.yaml有3处问题："
    assert said.splitlines()[-1] == "没有导入任何内容。请修改文件后重新发送。"
    huge = b"survey: huge\n" + b"# padding\n" * 7000
    said = await send_file(bot, adapter, "boss", "huge.yaml", huge)
    assert "huge.yaml:1: the file is 70,013 bytes; a template has at most 65,536" in said, said
    assert await templates_in(bot.db) == []


async def test_only_admins_import_templates_and_only_in_a_direct_chat(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add East")
    await join(bot, adapter, "sam", "East", "secretary")
    await join(bot, adapter, "mei", "East", "member")
    pulse = (SHIPPED / "pulse.yaml").read_bytes()
    assert await send_file(bot, adapter, "mei", "pulse.yaml", pulse) == (
        "Only admins can import survey templates."
    )
    assert await send_file(bot, adapter, "sam", "pulse.yaml", pulse) == (
        "Only admins can import survey templates, because every branch uses them. Please send "
        "the file to an admin."
    )
    said = await ask(
        bot,
        adapter,
        "boss",
        chat="room-east",
        attachment=Attachment("pulse.yaml", "application/yaml", pulse),
    )
    assert said == "Please send survey templates to me in a direct chat."
    assert await templates_in(bot.db) == []


async def test_a_question_bank_still_goes_to_the_learning_feature(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    bank = (BANKS / "library.yaml").read_bytes()
    assert RECEIVED in await send_file(bot, adapter, "boss", "library.yaml", bank)
    # A YAML that only mentions a survey below the top level is a bank too.
    nested = b"questions:\n  - {text: 'survey: which?', answer: true}\n"
    assert RECEIVED in await send_file(bot, adapter, "boss", "nested.yaml", nested)
    assert await templates_in(bot.db) == []
