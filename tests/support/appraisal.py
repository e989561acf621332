"""Surveys on the memory adapter: an organisation of two branches, a small template of every
kind, a round opened through ``/survey open``, and answering it button by button.

Branch Main: secretary sam, members mei, kai and lin; branch North: secretary nia, member ned;
every one with a direct chat, and a bound room for each branch. boss is the configured admin.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot
from dialogs.appraisal.invitations import Invitations
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import parse_template
from store.clock import SYSTEM_CLOCK
from store.repos import Repositories
from tests.support.broadcasts import plain, press, say
from tests.support.chat import ask, code_in, settle

TEMPLATE = """survey: test-appraisal
title: {en: Branch appraisal, zh_Hans: "支部评议"}
sections:
  - title: {en: About the branch, zh_Hans: "支部"}
    questions:
      - key: mood
        kind: scale
        points: 5
        text: {en: How is the branch doing?, zh_Hans: "支部如何？"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: meetings
        kind: single
        text: {en: How often should we meet?, zh_Hans: "多久开会？"}
        options:
          - {en: Weekly, zh_Hans: "每周"}
          - {en: Monthly, zh_Hans: "每月"}
      - key: topics
        kind: multiple
        required: false
        min_choices: 1
        max_choices: 2
        text: {en: Which topics?, zh_Hans: "哪些主题？"}
        options:
          - {en: Study, zh_Hans: "学习"}
          - {en: Service, zh_Hans: "服务"}
          - {en: Sport, zh_Hans: "运动"}
      - key: remarks
        kind: text
        required: false
        max_length: 50
        text: {en: Anything else?, zh_Hans: "其他？"}
  - title: {en: Your colleagues, zh_Hans: "同事"}
    questions:
      - key: grades
        kind: grade_members
        text: {en: Grade each member, zh_Hans: "评定每位成员"}
""".encode()
QUESTIONS = 5
MAIN = ("sam", "mei", "kai", "lin")
NORTH = ("nia", "ned")


async def organisation(bot: BranchBot, adapter: MemoryAdapter) -> None:
    """Branches Main and North with their people (see the module's docstring), bound rooms."""
    for branch, people in (("Main", MAIN), ("North", NORTH)):
        await ask(bot, adapter, "boss", f"/branch add {branch}")
        secretary, *members = people
        code = code_in(await ask(bot, adapter, "boss", f"/invite {branch} secretary"))
        await ask(bot, adapter, secretary, f"/join {code}")
        for name in members:
            code = code_in(await ask(bot, adapter, secretary, f"/invite {branch} member"))
            await ask(bot, adapter, name, f"/join {code}")
        await ask(bot, adapter, secretary, f"/bind {branch}", chat=f"room-{branch.lower()}")


async def join(bot: BranchBot, adapter: MemoryAdapter, name: str, branch: str = "Main") -> None:
    """One more member of ``branch`` (its secretary invites them)."""
    secretary = {"Main": "sam", "North": "nia"}[branch]
    code = code_in(await ask(bot, adapter, secretary, f"/invite {branch} member"))
    await ask(bot, adapter, name, f"/join {code}")


async def import_template(bot: BranchBot, source: bytes = TEMPLATE) -> int:
    """The template stored as ``branchbot survey import`` stores it; its id."""
    loaded = parse_template(source, "test.yaml")
    assert loaded.template is not None, loaded.errors
    async with bot.db.session() as session:
        return await Repositories(session).get(Appraisal).add_template(loaded.template)


def closing(days: int = 7) -> str:
    """A closing moment ``days`` from now as ``/survey open`` reads it (organisation time)."""
    local = (SYSTEM_CLOCK.now() + timedelta(days=days)).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local:%Y-%m-%d} 18:00"


async def open_round(
    bot: BranchBot,
    adapter: MemoryAdapter,
    user: str = "boss",
    branches: str = "Main",
    closes: str | None = None,
) -> list[Sent]:
    """``/survey open`` driven to the end by ``user``, and its invitations sent; the answers of
    its last step, then everything the invitation worker sent (the report last)."""
    answers = await say(bot, adapter, user, "/survey open")
    answers = await press(bot, adapter, user, button(answers, "Branch appraisal"))
    if "To which branches" in plain(answers):
        if branches == "All branches":
            answers = await press(bot, adapter, user, button(answers, branches))
        else:
            answers = await say(bot, adapter, user, branches)
    answers = await say(bot, adapter, user, closes or closing())
    answers = await press(bot, adapter, user, button(answers, "Open it"))
    return answers + await invitations_out(bot, adapter)


async def invitations_out(bot: BranchBot, adapter: MemoryAdapter) -> list[Sent]:
    """Tick the invitation worker (the scheduler may have started already) until every round's
    invitations, notices and report are sent; what was sent meanwhile."""
    before = len(adapter.sent)
    await bot.worker(Invitations).tick()
    await settle(bot)
    return adapter.sent[before:]


def button(answers: list[Sent], label: str) -> str:
    """The payload of the latest button among ``answers`` whose label contains ``label``, also
    where a platform without buttons showed it as a numbered line."""
    for sent in reversed(answers):
        shown = [c for row in sent.message.choices for c in row] + list(sent.message.numbered)
        for choice in shown:
            if label in choice.label:
                return choice.payload
    raise AssertionError(f"no {label!r} button in {plain(answers)}")


def to(adapter: MemoryAdapter, user: str, since: int = 0) -> list[Sent]:
    """What ``user``'s direct chat received since the ``since``-th message."""
    return [s for s in adapter.sent[since:] if s.address.direct and s.address.user_id == user]


async def answer_all(
    bot: BranchBot, adapter: MemoryAdapter, user: str, grade: str = "Competent", graded: int = 3
) -> list[Sent]:
    """Start from the invitation and answer every question (grading the ``graded`` others
    ``grade``), up to the review (or what the last grade got); its answers."""
    answers = await press(bot, adapter, user, button(to(adapter, user), "Start"))
    answers = await press(bot, adapter, user, button(answers, "4"))
    answers = await press(bot, adapter, user, button(answers, "Monthly"))
    answers = await press(bot, adapter, user, button(answers, "Skip"))
    answers = await press(bot, adapter, user, button(answers, "Skip"))
    for _member in range(graded):
        answers = await press(bot, adapter, user, button(answers, grade))
    return answers
