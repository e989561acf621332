"""The survey's answering flow once on a real Synapse, where there are no buttons: every step's
choices come as numbered lines, answered by typing the number or by a keycap reaction on the
question (an answer, Back, Next, Skip), a member graded, the review, Submit, a second Start
refused. SQLite only, as the other Matrix flows (tests/e2e/test_matrix_flows.py)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.app import BranchBot
from tests.support.appraisal import closing, import_template
from tests.support.chat import code_in
from tests.support.matrix import Event, Member, body, matrix_bot, members
from tests.support.synapse import Synapse

KEYCAP = "\ufe0f\u20e3"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


class Chat:
    """One member's direct room with the bot: what they send, what the bot answered."""

    def __init__(self, app: BranchBot, bot: str, member: Member, room: str) -> None:
        self.app, self.bot, self.member, self.room = app, bot, member, room

    def received(self) -> list[Event]:
        return self.member.from_bot(self.bot, self.room)

    async def _answered(self, before: int) -> str:
        """Wait for the bot's first message after ``before``, then for the rest of its answer;
        everything it sent, as text."""
        await self.member.wait(lambda r, e: len(self.received()) > before)
        async with asyncio.timeout(10):
            await self.app.idle()
        await asyncio.sleep(0.2)  # the last sync of what idle() saw delivered
        return "\n".join(body(e) for e in self.received()[before:])

    async def say(self, text: str) -> str:
        before = len(self.received())
        await self.member.say(self.room, text)
        return await self._answered(before)

    def numbered(self, label: str) -> tuple[Event, int]:
        """The latest message offering ``label`` as a numbered line, and its number."""
        for event in reversed(self.received()):
            for number, shown in re.findall(r"^\s*(\d+)\. (.+)$", body(event), re.MULTILINE):
                if label in shown:
                    return event, int(number)
        raise AssertionError(f"no numbered {label!r} in {[body(e) for e in self.received()]}")

    async def choose(self, label: str) -> str:
        """Type the number of ``label``."""
        return await self.say(str(self.numbered(label)[1]))

    async def react(self, label: str) -> str:
        """React to the question with the keycap of ``label``'s number."""
        event, number = self.numbered(label)
        before = len(self.received())
        await self.member.react(self.room, event["event_id"], f"{number}{KEYCAP}")
        return await self._answered(before)


async def test_answering_a_survey_on_matrix(synapse: Synapse, database_url: str) -> None:
    bot_user = synapse.register()
    async with members(synapse, 3) as (boss_, sam_, mei_):
        admins = [f"matrix:{boss_.id}"]
        async with matrix_bot(synapse, bot_user, database_url, admins=admins) as app:
            bot = bot_user.user_id
            boss, sam, mei = [
                Chat(app, bot, m, await m.room(bot, direct=True)) for m in (boss_, sam_, mei_)
            ]
            await boss.say("/branch add Main")
            for chat, role in ((sam, "secretary"), (mei, "member")):
                code = code_in(await boss.say(f"/invite Main {role}"))
                assert "Main" in await chat.say(f"/join {code}")
            await import_template(app)
            await boss.say("/survey open")
            text = await boss.choose("Branch appraisal")
            if "To which branches" in text:
                await boss.say("Main")
            await boss.say(closing())
            assert "invitations are going out" in await boss.choose("Open it")
            await boss.member.wait(lambda r, e: "2 members are invited." in body(e))

            await mei.member.wait(lambda r, e: "invited" in body(e) and e.get("sender") == bot)
            assert "1/5" in await mei.choose("Start")
            await mei.react("5")
            assert "1/5" in await mei.choose("Back")
            assert "2/5" in await mei.react("Next")
            assert "3/5" in await mei.choose("Weekly")
            await mei.react("Skip")
            localpart = sam_.id.split(":")[0].removeprefix("@")  # the name Matrix shows
            assert f"Member 1 of 1: {localpart}" in await mei.choose("Skip")
            assert "Your answers to survey R1" in await mei.react("Competent")
            assert "are submitted" in await mei.choose("Submit")
            assert "already submitted" in await mei.say("/survey answer R1")
