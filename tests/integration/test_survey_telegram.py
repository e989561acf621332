"""The survey's answering flow once through python-telegram-bot and the fake Bot API server:
the invitation's Start, the questions as inline keyboards pressed as callback queries (an
answer, Back, Next, Skip), a member graded, the review, Submit, and a second Start refused.

Telegram's one-message-a-second gap per chat makes it take seconds: SQLite only, as the other
flows whose store work is the same on any platform (tests/e2e/test_telegram_flows.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import BranchBot
from tests.support.appraisal import closing, import_template
from tests.support.telegram import FakeTelegram, Sent, TgUser, telegram_bot

CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{8})\b")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/branchbot.db"


def state(fake: FakeTelegram, user: TgUser) -> tuple[int, int]:
    return fake.edits, len(fake.to(user.id))


async def settled(bot: BranchBot, fake: FakeTelegram, user: TgUser, before: tuple[int, int]) -> str:
    """Wait for the bot to answer (a new message or an edited question), then for the rest of
    its answer; the text of the latest message in ``user``'s chat."""
    await fake.wait(lambda: state(fake, user) != before)
    await bot.idle()
    return fake.to(user.id)[-1].text


async def say(bot: BranchBot, fake: FakeTelegram, user: TgUser, text: str) -> str:
    before = state(fake, user)
    fake.say(user, text)
    return await settled(bot, fake, user, before)


def keyboard(fake: FakeTelegram, user: TgUser, label: str) -> tuple[Sent, str]:
    """The latest message in ``user``'s chat with a button labelled ``label``, and its data."""
    for sent in reversed(fake.to(user.id)):
        for row in sent.buttons:
            for button in row:
                if label in button["text"]:
                    return sent, button["callback_data"]
    raise AssertionError(f"no {label!r} button for {user.first_name}")


async def press(bot: BranchBot, fake: FakeTelegram, user: TgUser, label: str) -> str:
    sent, payload = keyboard(fake, user, label)
    before = state(fake, user)
    fake.press(user, sent, payload)
    return await settled(bot, fake, user, before)


async def test_answering_a_survey_on_telegram(fake: FakeTelegram, sqlite_url: str) -> None:
    boss, sam, mei = fake.user(1, "Boss"), fake.user(2, "Sam"), fake.user(3, "Mei")
    async with telegram_bot(sqlite_url, fake) as bot:
        await say(bot, fake, boss, "/branch add Main")
        for user, role in ((sam, "secretary"), (mei, "member")):
            code = CODE.search(await say(bot, fake, boss, f"/invite Main {role}"))
            assert code
            assert "Main" in await say(bot, fake, user, f"/join {code.group(1)}")
        await import_template(bot)
        await say(bot, fake, boss, "/survey open")
        text = await press(bot, fake, boss, "Branch appraisal")
        if "To which branches" in text:
            await say(bot, fake, boss, "Main")
        await say(bot, fake, boss, closing())
        await press(bot, fake, boss, "Open it")
        assert any("invitations are going out" in s.text for s in fake.to(boss.id))
        await fake.wait(lambda: any("2 members are invited." in s.text for s in fake.to(boss.id)))

        await fake.wait(lambda: any("invited" in s.text for s in fake.to(mei.id)))
        assert "1/5" in await press(bot, fake, mei, "Start")
        await press(bot, fake, mei, "5")
        assert "1/5" in await press(bot, fake, mei, "Back")
        assert "2/5" in await press(bot, fake, mei, "Next")
        assert "3/5" in await press(bot, fake, mei, "Weekly")
        await press(bot, fake, mei, "Skip")
        assert "Member 1 of 1: Sam" in await press(bot, fake, mei, "Skip")
        assert "Your answers to survey R1" in await press(bot, fake, mei, "Competent")
        assert "are submitted" in await press(bot, fake, mei, "Submit")
        invitation = next(s for s in fake.to(mei.id) if "invited" in s.text)
        before = state(fake, mei)
        fake.press(mei, invitation, keyboard(fake, mei, "Start")[1])
        assert "already submitted" in await settled(bot, fake, mei, before)
        await fake.wait(lambda: all(fake.callbacks.values()))
