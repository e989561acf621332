"""The local playground, driven in headless Chromium: the page signs and POSTs real protocol v1
events to the bot and shows the bot's answers from its event stream.

Needs Debian's chromium (``/usr/bin/chromium``, or ``BRANCHBOT_CHROMIUM``); without it the test
fails, it does not skip.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, Route, async_playwright, expect

from bot.app import BranchBot
from bot.config import load_config
from bot.markup import Markup
from bot.messages import Address, Choice, Image, Outgoing

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("BRANCHBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT = 10_000  # ms, for every single wait
CODE = re.compile(r"^[A-Z2-9]{8}$")
# a 1x1 PNG
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201a5d8f1f1"
    "0000000049454e44ae426082"
)


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[BranchBot]:
    config = load_config(
        None,
        database_url=f"sqlite:///{tmp_path}/pg.db",
        playground=True,
        default_locale="en",
        http={"host": "127.0.0.1", "port": 0},
    )
    bot = BranchBot(config)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def chromium() -> str:
    if not os.path.isfile(CHROMIUM):
        pytest.fail(
            f"chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(or point BRANCHBOT_CHROMIUM at a Chromium binary) to run the browser test"
        )
    return CHROMIUM


@asynccontextmanager
async def open_playground(bot: BranchBot, executable: str) -> AsyncIterator[Page]:
    """The playground in a fresh headless Chromium; fails on any script or console error."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            page.set_default_timeout(WAIT)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console: {message.text}")
                    if message.type == "error" and "status of 503" not in message.text
                    else None
                ),
            )
            await page.goto(bot.http.url + "/")
            await expect(page.get_by_test_id("status")).to_have_text("connected", timeout=WAIT)
            yield page
            assert not problems, problems
        finally:
            await browser.close()


def pane(page: Page, key: str) -> Locator:
    return page.get_by_test_id(f"pane-{key}")


def bot_said(page: Page, key: str, text: str | re.Pattern[str]) -> Locator:
    return pane(page, key).get_by_test_id("bot-message").filter(has_text=text)


async def say(page: Page, key: str, text: str) -> None:
    box = page.get_by_test_id(f"input-{key}")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("", timeout=WAIT)


async def test_onboarding_through_the_playground(playground: BranchBot) -> None:
    async with open_playground(playground, chromium()) as page:
        await onboarding(page, playground)


async def onboarding(page: Page, playground: BranchBot) -> None:
    await expect(page.get_by_test_id("hint")).to_contain_text("/branch add Library")
    for key in ("room", "dm-ada", "dm-sam", "dm-mei", "dm-max"):
        await expect(pane(page, key)).to_be_visible()

    # Ada (admin) creates the branch
    await say(page, "dm-ada", "/branch add Library")
    created = bot_said(page, "dm-ada", "Branch Library created")
    await expect(created).to_have_count(1, timeout=WAIT)
    await expect(created.locator("b")).to_have_text("Library")  # the bot's own markup is bold
    await expect(pane(page, "dm-ada").get_by_test_id("user-message")).to_have_text(
        ["/branch add Library"]
    )

    # /invite with one branch: the bot asks the role with buttons; press "secretary"
    await say(page, "dm-ada", "/invite")
    question = bot_said(page, "dm-ada", "a member or a secretary?")
    await expect(question).to_have_count(1, timeout=WAIT)
    await expect(question.get_by_role("button")).to_have_text(["member", "secretary"])
    await question.get_by_role("button", name="secretary").click()
    await expect(question.get_by_role("button", name="secretary")).to_be_disabled()
    invite = bot_said(page, "dm-ada", "as secretary")
    await expect(invite).to_have_count(1, timeout=WAIT)
    codes = [text for text in await invite.locator("code").all_inner_texts() if CODE.match(text)]
    assert codes, await invite.inner_text()
    code = codes[0]

    # Sam joins with it in his own direct chat
    await say(page, "dm-sam", f"/join {code}")
    welcome = bot_said(page, "dm-sam", "Welcome")
    await expect(welcome).to_have_count(1, timeout=WAIT)
    await expect(welcome).to_contain_text("Library")
    await expect(
        pane(page, "dm-ada").get_by_test_id("bot-message").filter(has_text="Welcome")
    ).to_have_count(0)

    # ... and binds the room, speaking as Sam there
    await page.get_by_test_id("speak-as").select_option("sam")
    await say(page, "room", "/bind Library")
    bound = bot_said(page, "room", "This room is now bound to Library")
    await expect(bound).to_have_count(1, timeout=WAIT)
    mine = pane(page, "room").get_by_test_id("user-message")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Sam")
    await expect(mine).to_contain_text("/bind Library")

    # what people type is shown as typed, never as markup
    await say(page, "dm-max", "/branch add <b>x</b>")
    await expect(bot_said(page, "dm-max", "Only admins")).to_have_count(1, timeout=WAIT)
    await expect(pane(page, "dm-max").get_by_test_id("user-message")).to_have_text(
        ["/branch add <b>x</b>"]
    )
    await say(page, "dm-ada", "/branch add <b>x</b>")
    echoed = bot_said(page, "dm-ada", "Branch <b>x</b> created")
    await expect(echoed).to_have_count(1, timeout=WAIT)
    await expect(echoed.locator("b")).to_have_text("<b>x</b>")  # bold, but literal inside
    assert await page.locator("b", has_text=re.compile(r"^x$")).count() == 0

    # a refused POST shows an error line in the pane
    async def refuse(route: Route) -> None:
        await route.fulfill(
            status=503, content_type="application/json", body='{"ok": false, "error": "not ready"}'
        )

    await page.route("**/hooks/playground", refuse)
    await say(page, "dm-mei", "/help")
    await expect(pane(page, "dm-mei").get_by_test_id("send-error")).to_contain_text(
        "HTTP 503: not ready", timeout=WAIT
    )
    await page.unroute("**/hooks/playground", refuse)
    await say(page, "dm-mei", "/help")
    await expect(bot_said(page, "dm-mei", "Commands you can use")).to_have_count(1, timeout=WAIT)

    # images and buttons on a message addressed the way the webhook renderer does (direct:<id>)
    assert playground.playground is not None
    await playground.playground.send(
        Address("webhook:playground", "", direct=True, user_id="mei"),
        Outgoing(
            Markup.literal("a picture"),
            choices=((Choice("ok", "ok"),),),
            image=Image("image/png", PIXEL),
        ),
        "test-image-1",
    )
    picture = bot_said(page, "dm-mei", "a picture")
    await expect(picture).to_have_count(1, timeout=WAIT)
    await expect(picture.get_by_test_id("bot-image")).to_have_attribute(
        "src", re.compile(r"^data:image/png;base64,iVBOR")
    )
    assert await picture.get_by_test_id("bot-image").evaluate("img => img.naturalWidth") == 1

    # a reload replays the history without doubles, and keeps what people typed
    counts = {
        key: await pane(page, key).get_by_test_id("bot-message").count()
        for key in ("room", "dm-ada", "dm-sam", "dm-mei", "dm-max")
    }
    typed = await pane(page, "dm-ada").get_by_test_id("user-message").all_inner_texts()
    await page.reload()
    await expect(page.get_by_test_id("status")).to_have_text("connected", timeout=WAIT)
    for key, count in counts.items():
        await expect(pane(page, key).get_by_test_id("bot-message")).to_have_count(
            count, timeout=WAIT
        )
    await expect(pane(page, "dm-ada").get_by_test_id("user-message")).to_have_text(typed)
    await expect(
        bot_said(page, "dm-ada", "a member or a secretary?").get_by_role("button", name="member")
    ).to_be_disabled()

    await page.screenshot(path="/tmp/playground.png", full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path="/tmp/playground-phone.png")
