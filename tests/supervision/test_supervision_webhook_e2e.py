"""Supervision end to end on the webhook channel, on a clock the test moves, across a
restart: indicators imported → a period opens → the warning before its deadline → ``/report``
with a text and a photo → green; one missing → red after the deadline, and its warning; a
late one → yellow; the board's image and text; evidence search; a rectification task from
creation to done; the weekly red summary and the monthly report."""

from __future__ import annotations

import asyncio
import base64
import itertools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.workdays import WorkCalendar
from dialogs.supervision.watch import Watch
from store.clock import ManualClock
from tests.support.mailbox import organisation
from tests.support.supervision import asking, board_text, drawn, import_shipped, report
from tests.support.webhook import Lab, button, lab_bot, to

CHINA = ZoneInfo("Asia/Shanghai")
KEYS = {"committee-meeting", "theme-day", "members-meeting"}
PHOTO = b"\x89PNG\r\n\x1a\n" + b"evidence photo" * 10
MINUTES = b"%PDF-1.4\n" + b"minutes of the meeting\n" * 20


def said(lab: Lab, user: str, needle: str) -> list[str]:
    return [m["text"] for m in lab.receiver.messages if to(user)(m) and needle in m["text"]]


async def watch(lab: Lab, clock: ManualClock, moment: datetime) -> None:
    clock.set(moment)
    await lab.bot.worker(Watch).check()
    await lab.bot.idle()


async def test_supervision_from_indicators_to_the_monthly_report(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=CHINA))
    options = {"supervision": {"files_dir": str(tmp_path / "evidence")}}
    async with lab_bot(database_url, clock=clock, **options) as lab:
        await organisation(lab)  # Main: sam (secretary), mei, kai; North: nia, noa
        await import_shipped(lab, clock.now().date(), KEYS)

        # Three days before November's deadline (5 December): both secretaries are warned,
        # once, and not in the quiet hours.
        await watch(lab, clock, datetime(2026, 12, 1, 23, 0, tzinfo=CHINA))
        assert not said(lab, "sam", "is due")
        await watch(lab, clock, datetime(2026, 12, 2, 10, 0, tzinfo=CHINA))
        warned = said(lab, "sam", "Branch committee meeting")
        assert len(warned) == 1 and "is due 2026-12-05" in warned[0], warned
        assert said(lab, "nia", "Theme day")
        await watch(lab, clock, datetime(2026, 12, 2, 15, 0, tzinfo=CHINA))
        assert len(said(lab, "sam", "Branch committee meeting")) == 1

        photo = {
            "name": "meeting.png",
            "mime": "image/png",
            "data": base64.b64encode(PHOTO).decode(),
        }
        minutes = {
            "name": "minutes.pdf",
            "mime": "application/pdf",
            "data": base64.b64encode(MINUTES).decode(),
        }
        done = await report(
            lab,
            "sam",
            "Branch committee meeting",
            ["We met on 2 December; minutes attached."],
            files=(photo, minutes),
            period="Nov 2026",
        )
        assert "Reported: Branch committee meeting, Nov 2026. 🟢 on time" in done, done
        assert list((tmp_path / "evidence").rglob("*")), "the photo is kept on disk"

        answers = await drawn(lab, "boss")
        image = answers[-1]["image"]
        assert image["mime"] == "image/png"
        assert base64.b64decode(image["data"]).startswith(b"\x89PNG")
        assert "🔴 0 · 🟡 0 · 🟢 1 · ⚪ 1" in answers[-1]["text"], answers[-1]["text"]

    # A restart: nothing is sent twice, the deadline passes, the missing items turn red.
    clock.set(datetime(2026, 12, 6, 10, 0, tzinfo=CHINA))
    async with lab_bot(database_url, clock=clock, **options) as lab:
        lab.ids = itertools.count(10_000)
        await watch(lab, clock, clock.now())
        assert not said(lab, "sam", "is due")
        red = said(lab, "sam", "was due 2026-12-05 and has no report")
        assert len(red) == 1 and "Theme day" in red[0], red
        assert len(said(lab, "nia", "was due 2026-12-05")) == 2  # both of North's

        board = await board_text(lab, "boss")
        assert "🔴 2" in board, board
        assert "North" in board and "Main" in board
        own = await lab.say("sam", "/board Main")
        assert "Theme day (Nov 2026): missing" in own, own
        assert "Branch committee meeting (Nov 2026): reported on 2026-12-02" in own, own
        assert "North" not in await board_text(lab, "sam")  # a secretary sees their own

        # A late report is accepted, and yellow.
        clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=CHINA))
        late = await report(
            lab, "sam", "Theme day", ["A visit to the museum."], files=(photo,), period="Nov 2026"
        )
        assert "🟡" in late and "late" in late, late
        assert "🟡 Main: Theme day" in await board_text(lab, "boss")

        # Evidence by a word of its text, and its photo and file sent again.
        found = await lab.say("boss", "/evidence search minutes")
        assert "Branch committee meeting" in found and "Main" in found, found
        number = found.split("E", 1)[1].split(" ")[0]
        shown = await lab.ask("boss", f"/evidence show E{number}")
        assert "We met on 2 December" in shown[0]["text"]
        assert base64.b64decode(shown[1]["image"]["data"]) == PHOTO
        assert shown[2]["document"]["name"] == "minutes.pdf"
        assert shown[2]["document"]["mime"] == "application/pdf"
        assert base64.b64decode(shown[2]["document"]["data"]) == MINUTES
        assert "No report" in await lab.say("nia", "/evidence search minutes")  # not hers

        # A rectification task from creation to done, reminded before its deadline.
        answers = await lab.ask("boss", "/task add North")
        assert "title" in answers[-1]["text"]
        answers = await lab.ask("boss", "Hold the missing theme day")
        answers = await lab.ask("boss", choice=button(asking(answers), "Noa"))
        answers = await lab.ask("boss", choice=button(asking(answers), "in a week"))
        made = answers[-1]["text"]
        assert "Task T" in made and "owned by Noa" in made and "2026-12-15" in made, made
        task = made.split("Task ", 1)[1].split(" ")[0]
        assert task in await lab.say("noa", "/tasks")
        assert "in progress" in await lab.say("noa", f"/task start {task}")
        await watch(lab, clock, datetime(2026, 12, 12, 10, 0, tzinfo=CHINA))
        assert said(lab, "noa", f"Task {task} (North) is due 2026-12-15")
        answers = await lab.ask("noa", f"/task done {task}")
        answers = await lab.ask("noa", "Held it on the 12th with 9 members.")
        answers = await lab.ask("noa", choice=button(asking(answers), "Done"))
        assert "is done, in time" in answers[-1]["text"], answers
        history = await lab.say("boss", f"/task show {task}")
        for step in ("made", "started", "done", "Held it on the 12th"):
            assert step in history, history

        # The weekly summary of red items goes to the admins on Monday morning.
        await watch(lab, clock, datetime(2026, 12, 14, 9, 30, tzinfo=CHINA))
        weekly = said(lab, "boss", "This week's red items")
        assert len(weekly) == 1 and "North" in weekly[0] and "Main" not in weekly[0], weekly

        # The monthly report of December, on January's first working day.
        first = WorkCalendar().first_working_day(2027, 1)
        await watch(lab, clock, datetime(first.year, first.month, first.day, 8, 0, tzinfo=CHINA))
        assert not said(lab, "sam", "Monthly report")
        await watch(lab, clock, datetime(first.year, first.month, first.day, 9, 30, tzinfo=CHINA))
        mine = [
            m
            for m in lab.receiver.messages
            if to("sam")(m) and "Monthly report of Main" in m["text"]
        ]
        assert len(mine) == 1 and mine[0].get("image"), mine
        assert "🟢 1 · 🟡 1 · 🔴 0" in mine[0]["text"], mine[0]["text"]
        organisation_report = said(lab, "boss", "Monthly report of the organisation")
        assert len(organisation_report) == 1
        assert "🔴 2" in organisation_report[0] and "North" in organisation_report[0]
        assert "1 of 1 tasks due this month closed in time (100%)" in organisation_report[0]
        await watch(lab, clock, datetime(first.year, first.month, first.day, 11, 0, tzinfo=CHINA))
        assert len(said(lab, "boss", "Monthly report of the organisation")) == 1

        # The same month as a workbook, from the command line.
        monkeypatch.setenv("BRANCHBOT_DATABASE_URL", database_url)
        monkeypatch.setenv("BRANCHBOT_DEFAULT_LOCALE", "en")
        out = tmp_path / "december.xlsx"
        arguments = ["report", "export", "--month", "2026-12", "--output", str(out)]
        assert await asyncio.to_thread(main, arguments) == 0
        book = load_workbook(out)
        branches = [[cell.value for cell in row] for row in book["Branches"].iter_rows()]
        assert branches[0][:5] == ["Branch", "Items due", "Green", "Yellow", "Red"]
        assert branches[1][:5] == ["Organisation", 4, 1, 1, 2]
        assert [row[:5] for row in branches[2:]] == [["Main", 2, 1, 1, 0], ["North", 2, 0, 0, 2]]
        items = [[cell.value for cell in row] for row in book["Items"].iter_rows()]
        assert ["Main", "Theme day", "Nov 2026", "yellow", "2026-12-08", "yes"] in items, items
        assert await asyncio.to_thread(main, ["report", "export", "--month", "December"]) == 2
