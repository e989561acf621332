"""The web direct chat in headless Chromium on a phone-sized screen: a person joins with an
invite code, takes the daily quiz (buttons, a typed number, a question that runs out of time),
sends a file, receives a broadcast live (counted unread while the page is hidden) and
acknowledges it, reloads and is still signed in with the whole history, links the web chat to
another account and is signed out from there with ``/sessions``.

Needs Debian's chromium (``/usr/bin/chromium``, or ``BRANCHBOT_CHROMIUM``); without it the test
fails, it does not skip.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from store.banks import load
from store.learning import Learning
from store.repos import Repositories
from tests.support.broadcasts import broadcast
from tests.support.chat import ask, code_in, settle
from tests.support.webchat import WAIT, database, phone, web_bot

pytestmark = pytest.mark.browser


def bot_said(page: Page, text: str | re.Pattern[str]) -> Locator:
    return page.get_by_test_id("bot-message").filter(has_text=text)


async def say(page: Page, text: str) -> None:
    box = page.get_by_test_id("input")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


async def hidden(page: Page, yes: bool) -> None:
    """The page as a phone shows it when another app is in front (or back again)."""
    state = "hidden" if yes else "visible"
    await page.evaluate(
        """(state) => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


async def test_a_member_lives_in_the_web_chat(tmp_path: Path) -> None:
    learning = {"question_seconds": 3, "daily_questions": 3}
    async with web_bot(database(tmp_path), learning=learning) as (bot, adapter):
        await ask(bot, adapter, "boss", "/branch add Library")
        bank = tmp_path / "yes.yaml"
        bank.write_text(
            "questions:\n"
            + "".join(f"  - {{text: Say yes {n}, type: truefalse, answer: true}}\n" for n in "abc")
        )
        async with bot.db.session() as session:
            await Repositories(session).get(Learning).import_bank(load(bank))
        code = code_in(await ask(bot, adapter, "boss", "/invite Library member"))
        assert bot.web_chat is not None
        async with phone() as (_context, page, problems):
            await page.goto(bot.http.url + "/chat")
            status = page.get_by_test_id("status")
            await expect(status).to_have_attribute("data-state", "open")
            assert await page.evaluate("window.innerWidth") == 390

            # a first visit: the join form; the code goes in as /join <code>
            join = page.get_by_test_id("join")
            await expect(join).to_be_visible()
            await page.get_by_test_id("join-name").fill("Mei")
            await page.get_by_test_id("join-code").fill(code)
            await page.get_by_test_id("join-submit").click()
            await expect(bot_said(page, "Welcome to Library")).to_have_count(1)
            await expect(join).to_be_hidden()

            # the daily quiz: a press, a typed number, a question left to time out
            await say(page, "/quiz")
            first = page.get_by_test_id("bot-message").filter(has=page.get_by_test_id("choice"))
            await expect(first).to_have_count(1)
            await expect(page.get_by_test_id("timer")).to_contain_text(re.compile(r"\d+ s left"))
            await first.get_by_test_id("choice").first.click()
            await expect(first.get_by_test_id("choice").first).to_be_disabled()
            asked = page.get_by_test_id("bot-message").filter(has=page.get_by_test_id("choice"))
            await expect(asked).to_have_count(2)
            await say(page, "1")
            await expect(asked).to_have_count(3)
            await expect(bot_said(page, "⏰ Time is up")).to_have_count(1, timeout=WAIT)

            # a file to the bot, as the webhook protocol carries it
            answers = await page.get_by_test_id("bot-message").count()
            await page.get_by_test_id("file").set_input_files(
                files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
            )
            await expect(page.get_by_test_id("file-name")).to_have_text("notes.txt")
            await expect(page.get_by_test_id("bot-message")).to_have_count(answers + 1)

            # a broadcast arrives live; unread while the page is hidden
            await settle(bot)
            await page.wait_for_timeout(300)
            await hidden(page, True)
            await broadcast(bot, text=[["t", "Library closes at noon"]])
            notice = bot_said(page, "Library closes at noon")
            await expect(notice).to_have_count(1)
            await expect(page).to_have_title("(1) branchbot")
            await expect(page.get_by_test_id("unread")).to_have_text("1")
            await hidden(page, False)
            await expect(page).to_have_title("branchbot")
            await notice.get_by_test_id("choice").first.click()
            await expect(bot_said(page, "is recorded")).to_have_count(1)

            # a reload: still signed in, the history whole
            await settle(bot)
            before = await page.get_by_test_id("log").inner_text()
            count = await page.locator('[data-testid="log"] > *').count()
            await page.reload()
            await expect(status).to_have_attribute("data-state", "open")
            await expect(page.locator('[data-testid="log"] > .msg')).to_have_count(
                await page.locator('[data-testid="log"] > .msg').count()
            )
            await expect(bot_said(page, "Library closes at noon")).to_have_count(1)
            await expect(join).to_be_hidden()
            after = await page.get_by_test_id("log").inner_text()
            assert count >= await page.locator('[data-testid="log"] > .msg').count() > 10
            assert _messages(after) == _messages(before)
            await expect(page).to_have_title("branchbot")

            # linked to another account, which signs this browser out
            await say(page, "/link")
            linking = bot_said(page, "from your other account")
            await expect(linking).to_have_count(1)
            link = code_in(await linking.inner_text())
            before_link = len(adapter.sent)
            await adapter.say("mei-phone", f"/link {link}", name="Mei")
            await settle(bot)
            asked_link = adapter.sent[before_link].message
            press = next(c.payload for row in asked_link.choices for c in row if c.label == "Link")
            await ask(bot, adapter, "mei-phone", choice=press)
            await expect(bot_said(page, "is now linked to this account")).to_have_count(1)
            before_sessions = len(adapter.sent)
            listed = await ask(bot, adapter, "mei-phone", "/sessions")
            assert "Chrome on Android" in listed, listed
            out = next(
                c.payload
                for row in adapter.sent[before_sessions].message.choices
                for c in row
                if c.label.startswith("Sign out")
            )
            assert "Signed out" in await ask(bot, adapter, "mei-phone", choice=out)
            await expect(page.get_by_test_id("signed-out")).to_be_visible()
            await expect(status).to_have_attribute("data-state", "down")
            await expect(page.get_by_test_id("input")).to_be_hidden()
            assert "no web chat sessions" in await ask(bot, adapter, "mei-phone", "/sessions")

            # the next visit is a new, anonymous identity: the join form again
            await page.get_by_test_id("start-again").click()
            await expect(join).to_be_visible()
            await expect(page.get_by_test_id("bot-message")).to_have_count(0)
            assert not problems, problems


def _messages(text: str) -> list[str]:
    """The log's lines without the quiz's countdowns (they tick)."""
    return [line for line in text.splitlines() if "⏱" not in line and line.strip()]
