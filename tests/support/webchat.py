"""The web direct chat under test: a bot serving ``/chat`` on 127.0.0.1 beside the memory
adapter (``boss`` is the admin), and headless Chromium opening it as a phone."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from tests.support.templates import migrated

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
PHONE = {"width": 390, "height": 844}
WAIT = 10_000  # ms, for every single wait
CSRF = re.compile(r'"csrf": "([0-9a-f]+)"')


@asynccontextmanager
async def web_bot(
    database_url: str, **overrides: Any
) -> AsyncIterator[tuple[BranchBot, MemoryAdapter]]:
    """A started bot with the web chat on (settings as keywords override the defaults)."""
    settings: dict[str, Any] = {
        "database_url": database_url,
        "admins": ["memory:boss"],
        "playground": False,
        "default_locale": "en",
        "http": {"host": "127.0.0.1", "port": 0},
        "web_chat": {"enabled": True},
    }
    settings.update(overrides)
    adapter = MemoryAdapter()
    await migrated(database_url)
    bot = BranchBot(configure(None, **settings), extra_adapters=[adapter])
    await bot.start()
    try:
        yield bot, adapter
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
async def phone() -> AsyncIterator[tuple[BrowserContext, Page, list[str]]]:
    """A phone-sized page in headless Chromium, and the script errors it logs."""
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport=PHONE,
                is_mobile=True,
                has_touch=True,
                user_agent=(
                    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
                    "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
                ),
            )
            page = await context.new_page()
            page.set_default_timeout(WAIT)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            yield context, page, problems
        finally:
            await browser.close()


def client() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies for 127.0.0.1 (aiohttp drops cookies of IP hosts
    unless told otherwise)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def visit(http: aiohttp.ClientSession, url: str) -> str:
    """Open ``/chat`` (a session cookie comes with a first visit); the page's CSRF token."""
    async with http.get(url + "/chat") as response:
        assert response.status == 200, response.status
        found = CSRF.search(await response.text())
    assert found is not None
    return found.group(1)


def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/web.db"
