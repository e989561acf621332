"""The privacy attack at the bot level (tests/appraisal/test_privacy.py is the store's): a round
of k+2 respondents answered through the webhook channel, then what an observer of the bot's
side channels sees: ``/metrics`` and every log record at DEBUG name no member beside an answer;
the report and the export show figures and unsigned remarks, never a member's own answers; and
a round below k shows nothing at all. The logging is the CLI's (``branchbot run --log-level
DEBUG``): without it aiosqlite would log every statement with its parameters, the answering's
draft among them (docs/privacy.md)."""

from __future__ import annotations

import asyncio
import csv
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.cli import _logging, main
from dialogs.appraisal.mixer import Mixer
from tests.support.appraisal import closing, import_template
from tests.support.chat import code_in
from tests.support.webhook import Lab, Message, button, lab_bot, to, until

K = 3
MAIN = ("sam", "mei", "kai", "lin", "max")
"""k+2 respondents: secretary sam and four members."""
NORTH = ("nia", "ned")
"""Fewer than k."""
MARKERS = {name: f"Quokka{n}Xylophone" for n, name in enumerate(MAIN + NORTH)}
"""Each respondent's remark: a value that can be looked for anywhere."""
KEYS = ("mood", "meetings", "topics", "remarks", "grades")
GRADES = ("Excellent", "Competent", "excellent", "competent")


CHATTY = (
    "apscheduler",
    "transitions",
    "alembic.runtime.migration",
    "httpx",
    "httpcore",
    "aiosqlite",
)
"""The loggers the CLI's logging setup quiets (restored after the test)."""


@contextmanager
def cli_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The logging ``branchbot run --log-level DEBUG`` sets up, captured by ``caplog``."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY}
    _logging("DEBUG", "text")
    root.addHandler(caplog.handler)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in levels.items():
            logging.getLogger(name).setLevel(was)


def asking(answers: list[Message]) -> Message:
    return next(a for a in reversed(answers) if a.get("choices"))


def mentions(text: str, name: str) -> bool:
    """``name`` as an id or a display name, as a word (``max`` is not in ``max_length``)."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) is not None


async def organisation(lab: Lab) -> None:
    for branch, (secretary, *members) in (("Main", MAIN), ("North", NORTH)):
        await lab.say("boss", f"/branch add {branch}")
        code = code_in(await lab.say("boss", f"/invite {branch} secretary"))
        await lab.say(secretary, f"/join {code}")
        for name in members:
            code = code_in(await lab.say(secretary, f"/invite {branch} member"))
            await lab.say(name, f"/join {code}")


async def open_round(lab: Lab, branch: str, invited: int) -> None:
    answers = await lab.ask("boss", "/survey open")
    answers = await lab.ask("boss", choice=button(asking(answers), "Branch appraisal"))
    await lab.ask("boss", branch)
    answers = await lab.ask("boss", closing())
    await lab.ask("boss", choice=button(asking(answers), "Open it"))
    # The invitation worker reports once the invitations are out.
    await until(lab, lambda m: to("boss")(m) and f"{invited} members are invited." in m["text"])


async def answer(lab: Lab, user: str, number: int, scale: int, others: int) -> None:
    """Every question of round ``number``: ``scale``, Weekly, Skip, the user's marker, grades."""
    answers = await lab.ask(user, choice=f"survey:{number}")
    for label in (str(scale), "Weekly", "Skip"):
        answers = await lab.ask(user, choice=button(asking(answers), label))
    answers = await lab.ask(user, MARKERS[user])
    for _member in range(others):
        answers = await lab.ask(user, choice=button(asking(answers), "Competent"))
    answers = await lab.ask(user, choice=button(asking(answers), "Submit"))
    assert "are submitted" in answers[-1]["text"], answers[-1]["text"]


def export(url: str, monkeypatch: pytest.MonkeyPatch, number: str, output: Path) -> int:
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
    return main(["survey", "export", number, "--format", "csv", "--output", str(output)])


async def test_no_side_channel_ties_a_member_to_an_answer(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with cli_logging(caplog):
        await a_round_each_side_of_k(database_url, monkeypatch, tmp_path, caplog)


async def a_round_each_side_of_k(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with lab_bot(database_url, appraisal={"k": K}) as lab:
        await organisation(lab)
        await import_template(lab.bot)
        caplog.clear()  # from here on, every record is a survey's

        await open_round(lab, "Main", len(MAIN))
        for scale, name in enumerate(MAIN, start=1):
            await answer(lab, name, 1, scale, len(MAIN) - 1)
        await lab.say("boss", "/survey close R1")
        await open_round(lab, "North", len(NORTH))
        for name in NORTH:
            await answer(lab, name, 2, 5, len(NORTH) - 1)
        await lab.say("boss", "/survey close R2")
        await lab.bot.worker(Mixer).tick()

        report = await lab.say("boss", "/survey report R1")
        below = await lab.say("boss", "/survey report R2")
        async with lab.client.get(f"{lab.bot.http.url}/metrics") as response:
            assert response.status == 200
            metrics = await response.text()

    # The report: Main's figures and its five remarks, unsigned; nobody named.
    assert "Main: 5 of 5 answered" in report
    assert "Anything else? (free text, in random order):" in report
    for name in MAIN:
        assert MARKERS[name] in report
        assert not mentions(report, name), name
    # Below k: the counts only, no figure, no remark.
    assert f"Fewer than {K} answers: nothing is shown." in below
    assert "Overall:" not in below
    assert not [m for n, m in MARKERS.items() if n in NORTH and m in below]

    for number, respondents in (("R1", MAIN), ("R2", NORTH)):
        output = tmp_path / f"{number}.csv"
        assert await asyncio.to_thread(export, database_url, monkeypatch, number, output) == 0
        with output.open(encoding="utf-8-sig", newline="") as source:
            exported = "\n".join(",".join(row) for row in csv.reader(source))
        for name in MAIN + NORTH:
            assert not mentions(exported, name), (number, name)
        if number == "R2":
            assert not [m for n, m in MARKERS.items() if n in respondents and m in exported]

    # /metrics: no member, no answer.
    for name in MAIN + NORTH:
        assert not mentions(metrics, name), name
    assert not [m for m in MARKERS.values() if m in metrics]

    # Every log record at DEBUG: no answer value at all, and none naming a member beside a
    # question or a grade.
    assert caplog.records, "the bot logs what it does"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert not [m for m in MARKERS.values() if m in text], text
        if any(mentions(text, name) for name in MAIN + NORTH):
            assert not [key for key in KEYS + GRADES if mentions(text, key)], text
