"""A round held to the end for the health report's tests: the ``health`` template, Main of
k+2 members answering ``MAIN_SCALES`` and North of two, closed and sealed by the bot's mixer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from dialogs.appraisal.repository import Appraisal
from store.models import Branch
from store.repos import Repositories
from tests.support.appraisal import join, organisation

K = 5
HEALTH = """survey: health
title: {en: Branch health, zh_Hans: "支部体检"}
sections:
  - title: {en: The branch, zh_Hans: "支部"}
    questions:
      - key: study
        kind: scale
        points: 5
        text: {en: Study, zh_Hans: "学习"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: meetings
        kind: scale
        points: 5
        text: {en: Meetings, zh_Hans: "会议"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: service
        kind: scale
        points: 5
        text: {en: Service, zh_Hans: "服务"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: openness
        kind: scale
        points: 5
        text: {en: Openness, zh_Hans: "公开"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: duty
        kind: scale
        points: 5
        text: {en: Duty, zh_Hans: "责任"}
        labels:
          1: {en: Poorly, zh_Hans: "差"}
          5: {en: Very well, zh_Hans: "很好"}
      - key: often
        kind: single
        text: {en: How often to meet, zh_Hans: "多久开会"}
        options:
          - {en: Weekly, zh_Hans: "每周"}
          - {en: Monthly, zh_Hans: "每月"}
      - key: remarks
        kind: text
        required: false
        max_length: 100
        text: {en: Remarks, zh_Hans: "意见"}
  - title: {en: Colleagues, zh_Hans: "同事"}
    questions:
      - key: grades
        kind: grade_members
        text: {en: Grade each member, zh_Hans: "评定每位成员"}
""".encode()
MAIN_SCALES = {"study": 5, "meetings": 4, "service": 3, "openness": 2, "duty": 1}
"""Main's answers: shares 100%, 75% (good), 50% (medium), 25% and 0% (poor)."""
EXTRA = ("ann", "bob", "cy")
"""Main grows to k+2 = 7: sam, mei, kai, lin and these."""


async def prepare(bot: BranchBot, adapter: MemoryAdapter) -> dict[str, int]:
    await organisation(bot, adapter)
    for name in EXTRA:
        await join(bot, adapter, name)
    async with bot.db.session() as session:
        rows = await session.execute(select(Branch.name, Branch.id))
        return {name: branch_id for name, branch_id in rows}


async def held_round(
    bot: BranchBot,
    branches: dict[str, int],
    template_id: int,
    scales: dict[str, int],
    remarks: int,
    grade: dict[str, str] | None = None,
) -> int:
    """A round of Main and North, everyone answering (Main ``scales``, North all 5), the first
    ``remarks`` of Main writing a remark; closed and sealed by the mixer. Its number."""
    async with bot.db.session() as session:
        appraisal = Repositories(session).get(Appraisal)
        row = await appraisal.open_round(
            template_id,
            [branches["Main"], branches["North"]],
            bot.db.clock.now() + timedelta(days=7),
            None,
            K,
        )
    number = row.number
    async with bot.db.session() as session:
        appraisal = Repositories(session).get(Appraisal)
        for name, branch_id in (("Main", branches["Main"]), ("North", branches["North"])):
            members = await appraisal.eligible_members(number, branch_id)
            for index, member in enumerate(members):
                answers: dict[str, Any] = (
                    dict(scales) if name == "Main" else dict.fromkeys(MAIN_SCALES, 5)
                )
                answers["often"] = index % 2
                if name == "Main" and index < remarks:
                    answers["remarks"] = f"remark number {index}"
                grades = {
                    other.id: (grade or {}).get(other.display_name.casefold(), "competent")
                    for other in members
                    if other.id != member.id
                }
                await appraisal.submit(number, member.id, branch_id, answers, grades)
    async with bot.db.session() as session:
        await Repositories(session).get(Appraisal).close(number)
    await sealed(bot, number)
    return number


async def sealed(bot: BranchBot, number: int) -> None:
    """Wait for the bot's own mixer to seal the round (it ticks every half second). A second
    mixer here would race it: on SQLite both could read the same staged rows."""
    for _attempt in range(200):
        async with bot.db.session() as session:
            row = await Repositories(session).get(Appraisal).round(number)
        if row is not None and row.sealed:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"R{number} was not sealed")
