"""A survey round end to end on the webhook channel, both ways over real HTTP: an admin sends
the template file in a direct chat → ``/survey open`` → invitations → answers with Back and
Skip, stopped and resumed after a restart of the bot → Submit → ``/survey status`` and its
Nudge → the automatic reminders reach only who has not submitted (the clock moved) → close →
``/survey report`` with its chart → ``branchbot survey export``."""

from __future__ import annotations

import asyncio
import base64
import csv
import dataclasses
import itertools
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import main
from bot.timetable import QuietHours
from dialogs.appraisal.mixer import Mixer
from dialogs.appraisal.reminders import Reminders
from store.clock import ManualClock
from tests.support.appraisal import TEMPLATE, closing
from tests.support.chat import code_in
from tests.support.webhook import Lab, Message, button, lab_bot, to, until

SETTINGS = {"appraisal": {"k": 2}}


def asking(answers: list[Message]) -> Message:
    """The latest of ``answers`` with buttons."""
    return next(a for a in reversed(answers) if a.get("choices"))


def reminders(lab: Lab, user: str) -> list[Message]:
    return [m for m in lab.receiver.messages if to(user)(m) and "Reminder: survey" in m["text"]]


async def organisation(lab: Lab) -> None:
    """Main: secretary sam, members mei and kai, a bound room; North: secretary nia."""
    for branch, people in (("Main", ("sam", "mei", "kai")), ("North", ("nia",))):
        await lab.say("boss", f"/branch add {branch}")
        secretary, *members = people
        await lab.say(
            secretary, f"/join {code_in(await lab.say('boss', f'/invite {branch} secretary'))}"
        )
        for name in members:
            code = code_in(await lab.say(secretary, f"/invite {branch} member"))
            await lab.say(name, f"/join {code}")
    await lab.say("sam", "/bind Main", chat="room-main")


async def send_file(lab: Lab, user: str, name: str, data: bytes) -> list[Message]:
    """A file ``user`` sends in their direct chat; what the bot answered."""
    body = lab.event(user)
    body["file"] = {
        "name": name,
        "mime": "application/yaml",
        "data": base64.b64encode(data).decode(),
    }
    before = len(lab.receiver.messages)
    status, answer = await lab.post(body)
    assert status == 200, (status, answer)
    async with asyncio.timeout(10):
        await lab.bot.idle()
    return lab.receiver.messages[before:]


async def answer_up_to_grades(lab: Lab, user: str) -> list[Message]:
    """The invitation's Start (a new receiver after the restart: its payload), 4, Monthly,
    Skip, Skip; the answers showing the first member to grade."""
    answers = await lab.ask(user, choice="survey:1")
    for label in ("4", "Monthly", "Skip", "Skip"):
        answers = await lab.ask(user, choice=button(asking(answers), label))
    return answers


async def grade_and_submit(lab: Lab, user: str, answers: list[Message]) -> None:
    for _member in range(2):
        answers = await lab.ask(user, choice=button(asking(answers), "Competent"))
    assert "Your answers to survey R1" in answers[-1]["text"]
    answers = await lab.ask(user, choice=button(asking(answers), "Submit"))
    assert "are submitted" in answers[-1]["text"]


def export(url: str, monkeypatch: pytest.MonkeyPatch, output: Path) -> int:
    monkeypatch.setenv("BRANCHBOT_DATABASE_URL", url)
    monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
    return main(["survey", "export", "R1", "--format", "csv", "--output", str(output)])


async def quiet_free(lab: Lab) -> None:
    """No quiet hours: the test's moved clock may land at night."""
    worker = lab.bot.worker(Reminders)
    worker.policy = dataclasses.replace(worker.policy, quiet_hours=QuietHours.parse(""))


async def test_a_survey_round_end_to_end_on_the_webhook_channel(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clock = ManualClock()
    async with lab_bot(database_url, clock=clock, **SETTINGS) as lab:
        await organisation(lab)
        answers = await send_file(lab, "boss", "test.yaml", TEMPLATE)
        assert (
            "Survey template Branch appraisal (test-appraisal) imported as version 1: 5 questions."
            in answers[-1]["text"]
        )
        answers = await lab.ask("boss", "/survey open")
        answers = await lab.ask("boss", choice=button(asking(answers), "Branch appraisal"))
        await lab.ask("boss", "Main")
        answers = await lab.ask("boss", closing())
        answers = await lab.ask("boss", choice=button(asking(answers), "Open it"))
        assert "The invitations are going out" in answers[-1]["text"]
        await until(lab, lambda m: to("boss")(m) and "3 members are invited." in m["text"])
        for name in ("sam", "mei", "kai"):
            await until(lab, lambda m, n=name: to(n)(m) and "invited" in m["text"])
        assert not [m for m in lab.receiver.messages if to("nia")(m) and "invited" in m["text"]]

        # mei: an answer, Back to it, Next, then stops before the grades.
        invitation = await until(lab, lambda m: to("mei")(m) and "invited" in m["text"])
        assert button(invitation, "Start") == "survey:1"
        answers = await lab.ask("mei", choice=button(invitation, "Start"))
        assert "1/5" in answers[-1]["text"]
        answers = await lab.ask("mei", choice=button(asking(answers), "5"))
        answers = await lab.ask("mei", choice=button(asking(answers), "Back"))
        assert "1/5" in answers[-1]["text"]
        answers = await lab.ask("mei", choice=button(asking(answers), "Next"))
        answers = await lab.ask("mei", choice=button(asking(answers), "Weekly"))
        answers = await lab.ask("mei", choice=button(asking(answers), "Skip"))
        assert "4/5" in answers[-1]["text"]
        answers = await lab.ask("mei", choice=button(asking(answers), "Later"))
        assert "Your answers so far are kept until the survey closes" in answers[-1]["text"]

    async with lab_bot(database_url, clock=clock, **SETTINGS) as lab:
        lab.ids = itertools.count(10_000)  # the platform's event ids go on after a restart
        await quiet_free(lab)
        # After the restart the invitation's Start resumes mei's draft at question 4.
        answers = await lab.ask("mei", choice="survey:1")
        assert "4/5" in answers[-1]["text"] and "Anything else?" in answers[-1]["text"]
        answers = await lab.ask("mei", choice=button(asking(answers), "Skip"))
        await grade_and_submit(lab, "mei", answers)
        await grade_and_submit(lab, "sam", await answer_up_to_grades(lab, "sam"))

        answers = await lab.ask("sam", "/survey status R1")
        text = "\n".join(a["text"] for a in answers)
        assert "Survey R1: 2 of 3 have submitted" in text
        assert "• Kai" in text and "• Mei" not in text and "• Sam" not in text
        before = len(lab.receiver.messages)
        said = await lab.say("sam", choice=button(asking(answers), "Nudge Main"))
        assert "1 member of Main is reminded of survey R1." in said
        nudged = lab.receiver.messages[before:]
        assert [m for m in nudged if to("kai")(m) and "Reminder: survey R1" in m["text"]]
        assert not [m for m in nudged if to("mei")(m) or to("nia")(m)]

        # The automatic reminders: a day later kai is reminded, those who submitted are not.
        clock.advance(hours=25)
        await lab.bot.worker(Reminders).tick()
        async with asyncio.timeout(10):
            await lab.bot.idle()
        assert len(reminders(lab, "kai")) == 2  # the nudge's and the automatic one
        assert not reminders(lab, "mei") and not reminders(lab, "sam")

        assert "is closed" in await lab.say("boss", "/survey close R1")
        assert "has closed" in await lab.say("kai", choice="survey:1")
        await lab.bot.worker(Mixer).tick()
        answers = await lab.ask("boss", "/survey report R1")
        report = "\n".join(a["text"] for a in answers)
        assert "Health report of survey R1: Branch appraisal" in report
        assert "Main: 2 of 3 answered" in report
        images = [a["image"] for a in answers if a.get("image")]
        assert len(images) == 1 and images[0]["mime"] == "image/png"
        chart = Image.open(BytesIO(base64.b64decode(images[0]["data"])))
        assert chart.format == "PNG" and chart.width > 100

    output = tmp_path / "r1.csv"
    assert await asyncio.to_thread(export, database_url, monkeypatch, output) == 0
    with output.open(encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    assert rows[0][:4] == ["Branch", "Answered", "Invited", "Response rate"]
    cells = {cell for row in rows for cell in row}
    assert "Main" in cells and {"Sam", "Mei", "Kai", "sam", "mei", "kai"}.isdisjoint(cells)
