"""Every supervision command × admin / secretary of the branch / secretary of another /
member / owner / stranger: allowed or refused, and a refusal changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from dialogs.supervision.repository import Supervision
from dialogs.supervision.tables import Report, Task, TaskStep
from store.models import Branch, Member
from store.repos import Repositories
from tests.support.mailbox import organisation
from tests.support.supervision import board_text, import_shipped
from tests.support.webhook import Lab, lab_bot

REFUSED = (
    "Only ",
    "that you may",
    "Reports are made by a branch's secretary",
    "Only the branch's secretaries",
    "No report holds",
)

# (actor, command, allowed); Main: sam (secretary), mei, kai (the task's owner); North: nia
CASES = [
    ("sam", "/report", True),
    ("boss", "/report", False),  # an admin who is no branch's secretary
    ("mei", "/report", False),
    ("guest", "/report", False),
    ("boss", "/board", True),
    ("sam", "/board", True),
    ("mei", "/board", False),
    ("guest", "/board", False),
    ("boss", "/board North", True),
    ("nia", "/board North", True),
    ("sam", "/board North", False),
    ("boss", "/evidence search minutes", True),
    ("sam", "/evidence search minutes", True),
    ("nia", "/evidence search minutes", False),
    ("mei", "/evidence search minutes", False),
    ("boss", "/evidence show E{report}", True),
    ("sam", "/evidence show E{report}", True),
    ("nia", "/evidence show E{report}", False),
    ("mei", "/evidence show E{report}", False),
    ("boss", "/task add Main", True),
    ("sam", "/task add Main", True),
    ("nia", "/task add Main", False),
    ("mei", "/task add Main", False),
    ("mei", "/tasks", True),
    ("guest", "/tasks", False),
    ("kai", "/task show T{task}", True),
    ("sam", "/task show T{task}", True),
    ("boss", "/task show T{task}", True),
    ("nia", "/task show T{task}", False),
    ("mei", "/task show T{task}", False),
    ("nia", "/task start T{task}", False),
    ("mei", "/task start T{task}", False),
    ("kai", "/task drop T{task} no", False),  # the owner moves it on, but only managers drop
    ("nia", "/task drop T{task} no", False),
    ("kai", "/task due T{task} 2027-03-01", False),
    ("nia", "/task owner T{task} Mei", False),
    ("mei", "/task done T{task}", False),
    ("nia", "/task done T{task}", False),
    ("sam", "/task due T{task} 2027-03-01", True),
    ("boss", "/task owner T{task} Mei", True),
    ("mei", "/task start T{task}", True),  # the new owner
]


async def state(lab: Lab) -> tuple[int, int, str, int | None, int]:
    async with lab.bot.db.session() as session:
        task = await session.scalar(select(Task))
        assert task is not None
        steps = await session.scalar(select(func.count()).select_from(TaskStep))
        reports = await session.scalar(select(func.count()).select_from(Report))
        return (reports or 0, steps or 0, task.status, task.owner_id, task.due.toordinal())


async def test_every_supervision_command_by_role(database_url: str, tmp_path: Path) -> None:
    options = {"supervision": {"files_dir": str(tmp_path)}}
    async with lab_bot(database_url, **options) as lab:
        await organisation(lab)
        await lab.say("guest", "/me")
        day = date.today()
        await import_shipped(lab, day, {"committee-meeting"})
        async with lab.bot.db.session() as session:
            repos = Repositories(session)
            main = await session.scalar(select(Branch).where(Branch.name == "Main"))
            kai = await session.scalar(select(Member).where(Member.display_name == "Kai"))
            assert main is not None and kai is not None
            active = (await repos.get(Supervision).indicators())[0]
            report = await repos.get(Supervision).submit(
                indicator_id=active.id,
                branch_id=main.id,
                period=f"{day.year}-{day.month:02d}",
                late=False,
                by_id=None,
                today=day,
                text="The minutes of the meeting.",
                numbers={},
                search="the minutes of the meeting.",
                files=[],
            )
            task = await repos.get(Supervision).add_task(
                branch_id=main.id,
                title="Fix the minutes",
                owner_id=kai.id,
                made_by_id=None,
                made_by="Boss",
                due=date(2027, 2, 1),
                today=day,
            )
            numbers = {"report": report.id, "task": task.id}
        for actor, command, allowed in CASES:
            before = await state(lab)
            answer = await board_text(lab, actor, command.format(**numbers))
            refused = any(word in answer for word in REFUSED)
            assert refused != allowed, (actor, command, answer)
            if not allowed:
                assert await state(lab) == before, (actor, command)
            await lab.ask(actor, "/cancel")
        reports, steps, status, _owner, _due = await state(lab)
        assert status == "in_progress" and steps == 4 and reports == 1
