"""The read-only web board: ``/board web`` in the direct chat, the link it sends, the session
that link opens, and the pages behind it, through the bot's real HTTP server.

The browser test drives headless Chromium at a phone's size (it fails without Chromium, it
does not skip); the others use a plain HTTP client that keeps no cookies of its own, so each
request carries exactly the cookie the test gives it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import delete, select

from bot.app import settings_of
from dialogs.supervision.common import day_of
from dialogs.supervision.config import SupervisionConfig
from dialogs.supervision.evidence import FileStore
from dialogs.supervision.indicators import SHIPPED, load
from dialogs.supervision.periods import in_view
from dialogs.supervision.repository import NewFile, Supervision, searchable
from dialogs.supervision.tables import EvidenceFile, WebToken
from dialogs.supervision.web_pages import CSP
from store.clock import ManualClock
from store.models import Admin, OutboxRow
from store.repos import Repositories
from tests.support.mailbox import organisation
from tests.support.webhook import Lab, lab_bot

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
"""10:00 in Shanghai: Oct, Q3 and 2025 have passed their deadlines; Nov and Q4 have not."""
STARTED = date(2025, 1, 1)
LINK = re.compile(r"(https?://\S+?/board/open/([A-Za-z0-9_-]+))")
PDF = b"%PDF-1.4 minutes of the committee\n" + secrets.token_bytes(2000)
HTML_FILE = b"<html><script>alert(1)</script></html>"
SECRET_WORD = "budgetplan"
"""Only Main's committee report holds it: what the evidence search looks for."""
PAGES = ("/board/", "/board/branch/{main}", "/board/evidence?q=budgetplan", "/board/file/{pdf}")

CHROMIUM = os.environ.get("BRANCHBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
WAIT = 10_000
SCREENSHOTS = os.environ.get("BOARD_SCREENSHOTS")


@dataclass
class Org:
    lab: Lab
    clock: ManualClock
    main: int
    north: int
    east: int
    pdf: int
    html: int


async def seed(lab: Lab, clock: ManualClock) -> Org:
    """Main (yellow: one report late, a task), North (green: everything on time), East (red:
    nothing). Main's committee report says budgetplan, in HTML, with two files."""
    await organisation(lab)
    await lab.say("boss", "/branch add East")
    settings = settings_of(lab.bot.config, lab.bot.features)
    files = FileStore.of(settings)
    pdf_digest = await files.put(PDF)
    html_digest = await files.put(HTML_FILE)
    async with lab.bot.db.session() as session:
        repos = Repositories(session)
        supervision = repos.get(Supervision)
        await supervision.import_indicators(load(SHIPPED).indicators, STARTED)
        today = day_of(clock, settings)
        branches = {b.name: b.id for b in await repos.branches.all()}
        for active in await supervision.indicators():
            _upcoming, passed = in_view(active.indicator, today, active.starts_on)
            assert passed is not None
            numbers = {n.key: min(n.max, 100) for n in active.indicator.numbers}
            for branch in ("Main", "North"):
                committee = branch == "Main" and active.key == "committee-meeting"
                text = (
                    f"Discussed the <b>{SECRET_WORD}</b> & the plan"
                    if committee
                    else f"{branch} did {active.key}"
                )
                await supervision.submit(
                    indicator_id=active.id,
                    branch_id=branches[branch],
                    period=passed.key,
                    late=branch == "Main" and active.key == "theme-day",
                    by_id=None,
                    today=today,
                    text=text,
                    numbers=numbers,
                    search=searchable(active.indicator.title.en, branch, text),
                    files=(
                        [
                            NewFile("纪要 minutes.pdf", "application/pdf", len(PDF), pdf_digest),
                            NewFile("evil.html", "text/html", len(HTML_FILE), html_digest),
                        ]
                        if committee
                        else []
                    ),
                )
        await supervision.add_task(
            branch_id=branches["Main"],
            title="Write the <minutes> again",
            owner_id=None,
            made_by_id=None,
            made_by="Boss",
            due=date(2026, 12, 20),
            today=today,
        )
        await session.flush()
        stored = {f.name: f.id for f in await session.scalars(select(EvidenceFile))}
    return Org(
        lab,
        clock,
        branches["Main"],
        branches["North"],
        branches["East"],
        stored["纪要 minutes.pdf"],
        stored["evil.html"],
    )


@asynccontextmanager
async def board_lab(database_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Org]:
    clock = ManualClock(NOW)
    options: dict[str, Any] = {"supervision": {"files_dir": str(tmp_path / "evidence")}}
    options.update(overrides)
    async with lab_bot(database_url, clock=clock, **options) as lab:
        yield await seed(lab, clock)


async def link_for(lab: Lab, user: str = "boss") -> tuple[str, str]:
    """``/board web`` from ``user``: the link's URL and its token."""
    text = await lab.say(user, "/board web")
    match = LINK.search(text)
    assert match, text
    return match.group(1), match.group(2)


@asynccontextmanager
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def secured(response: aiohttp.ClientResponse) -> None:
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src" not in CSP and "unsafe-inline" not in CSP
    assert "default-src 'none'" in CSP


async def sign_in(org: Org, http: aiohttp.ClientSession, user: str = "boss") -> str:
    """Open a fresh link as ``user`` would: the session cookie's value."""
    _url, token = await link_for(org.lab, user)
    async with http.post(
        f"{org.lab.bot.http.url}/board/open/{token}", allow_redirects=False
    ) as response:
        assert response.status == 303, await response.text()
        assert response.headers["Location"] == "/board/"
        secured(response)
        return response.cookies["board_session"].value


async def get(
    org: Org, http: aiohttp.ClientSession, path: str, cookie: str | None
) -> tuple[int, bytes, aiohttp.ClientResponse]:
    headers = {"Cookie": f"board_session={cookie}"} if cookie is not None else {}
    url = org.lab.bot.http.url + path.format(main=org.main, pdf=org.pdf)
    async with http.get(url, headers=headers, allow_redirects=False) as response:
        body = await response.read()
        secured(response)
        return response.status, body, response


# -- in a phone's browser ---------------------------------------------------------------------


def chromium() -> str:
    if not os.path.isfile(CHROMIUM):
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's chromium package")
    return CHROMIUM


@pytest.mark.browser
async def test_an_admin_reads_the_board_on_a_phone(database_url: str, tmp_path: Path) -> None:
    executable = chromium()
    async with board_lab(database_url, tmp_path) as org, async_playwright() as driver:
        url, _token = await link_for(org.lab)
        browser = await driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
            )
            page = await context.new_page()
            page.set_default_timeout(WAIT)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            await page.goto(url)
            await page.get_by_test_id("open").click()
            await page.wait_for_url(re.compile(r"/board/$"))
            assert "/open/" not in page.url
            await grid_shows_the_colours(page)

            await page.reload()
            await grid_shows_the_colours(page)

            await page.get_by_role("link", name="Main").click()
            await expect(page.get_by_test_id("branch-name")).to_have_text("Main")
            committee = page.get_by_test_id("period").filter(has_text=SECRET_WORD)
            await expect(committee).to_have_attribute("data-colour", "green")
            await expect(committee).to_contain_text(
                f"Discussed the <b>{SECRET_WORD}</b> & the plan"
            )
            await expect(page.get_by_test_id("task")).to_contain_text("Write the <minutes> again")
            late = page.get_by_test_id("period").filter(has_text="Main did theme-day")
            await expect(late).to_have_attribute("data-colour", "yellow")
            await expect(late).to_contain_text("late")
            await fits_the_phone(page)

            await page.get_by_role("searchbox").fill(SECRET_WORD)
            await page.get_by_role("button", name="Search").click()
            results = page.get_by_test_id("result")
            await expect(results).to_have_count(1)
            await expect(results).to_contain_text("Main")
            await fits_the_phone(page)
            async with page.expect_download() as waiting:
                await results.get_by_role("link", name="纪要 minutes.pdf").click()
            download = await waiting.value
            assert download.suggested_filename == "纪要 minutes.pdf"
            saved = await download.path()
            assert await asyncio.to_thread(Path(saved).read_bytes) == PDF
            assert not problems, problems
        finally:
            await browser.close()


async def grid_shows_the_colours(page: Page) -> None:
    rows = page.get_by_test_id("branch-row")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_contain_text("East")  # red first
    await expect(rows.nth(0)).to_have_attribute("data-colour", "red")
    await expect(page.get_by_test_id("branch-row").filter(has_text="Main")).to_have_attribute(
        "data-colour", "yellow"
    )
    await expect(page.get_by_test_id("branch-row").filter(has_text="North")).to_have_attribute(
        "data-colour", "green"
    )
    await expect(page.get_by_test_id("count-red")).to_have_text("red: 1")
    await expect(page.get_by_test_id("count-green")).to_have_text("green: 1")
    theme = rows.filter(has_text="Main").locator('td[data-colour="yellow"]')
    await expect(theme).to_have_count(1)
    await expect(theme).to_have_attribute("title", re.compile(r"Theme.*: yellow"))
    # the stylesheet is allowed by the policy: the colours are really painted
    dot = rows.nth(0).locator("td .dot").first
    colour = await dot.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(214, 59, 48)", colour
    await fits_the_phone(page)


async def fits_the_phone(page: Page) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/{len(os.listdir(SCREENSHOTS))}.png")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width


# -- links and sessions -----------------------------------------------------------------------


async def test_a_link_opens_once_and_the_session_reads_the_pages(
    database_url: str, tmp_path: Path
) -> None:
    async with board_lab(database_url, tmp_path) as org, client() as http:
        url, token = await link_for(org.lab)
        assert url.startswith(org.lab.bot.http.url + "/board/open/")
        assert len(token) >= 43
        base = org.lab.bot.http.url
        async with http.get(f"{base}/board/open/{token}") as preview:  # a link preview
            assert preview.status == 200
            assert "Set-Cookie" not in preview.headers
            secured(preview)
        async with http.post(f"{base}/board/open/{token}", allow_redirects=False) as first:
            assert first.status == 303
            assert first.headers["Location"] == "/board/"
            cookie = first.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Path=/board" in cookie and "Secure" not in cookie
            session = first.cookies["board_session"].value
            secured(first)
        async with http.post(f"{base}/board/open/{token}", allow_redirects=False) as again:
            assert again.status == 403
            assert "Set-Cookie" not in again.headers
            secured(again)

        status, body, _r = await get(org, http, "/board/", session)
        assert status == 200
        page = body.decode()
        assert "Main" in page and "North" in page and "East" in page
        assert "<b>" not in page
        status, body, _r = await get(org, http, "/board/branch/{main}", session)
        assert status == 200
        page = body.decode()
        assert f"&lt;b&gt;{SECRET_WORD}&lt;/b&gt; &amp; the plan" in page
        assert "Write the &lt;minutes&gt; again" in page
        assert f"<b>{SECRET_WORD}" not in page
        status, body, _r = await get(org, http, "/board/evidence?q=BudgetPlan", session)
        assert status == 200 and body.count(b'data-testid="result"') == 1
        status, body, _r = await get(org, http, "/board/evidence?q=" + "x" * 5000, session)
        assert status == 200 and b"x" * 101 not in body
        status, body, response = await get(org, http, "/board/file/{pdf}", session)
        assert status == 200 and body == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Disposition"] == (
            "attachment; filename=\"__ minutes.pdf\"; filename*=UTF-8''"
            "%E7%BA%AA%E8%A6%81%20minutes.pdf"
        )
        status, body, response = await get(org, http, f"/board/file/{org.html}", session)
        assert status == 200 and body == HTML_FILE
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        status, _body, _r = await get(org, http, "/board/branch/999999", session)
        assert status == 404

        # the session lasts its hours, then nothing answers it
        hours = SupervisionConfig().session_hours
        org.clock.advance(hours=hours, minutes=1)
        status, body, _r = await get(org, http, "/board/", session)
        assert status == 401 and b"Main" not in body


async def test_an_expired_or_forged_link_opens_nothing(database_url: str, tmp_path: Path) -> None:
    async with board_lab(database_url, tmp_path) as org, client() as http:
        base = org.lab.bot.http.url
        _url, token = await link_for(org.lab)
        org.clock.advance(minutes=SupervisionConfig().link_minutes, seconds=1)
        async with http.post(f"{base}/board/open/{token}", allow_redirects=False) as late:
            assert late.status == 403
            assert "Set-Cookie" not in late.headers
            assert b"Main" not in await late.read()
        for forged in (secrets.token_urlsafe(32), token[:-1] + ("A" if token[-1] != "A" else "B")):
            async with http.post(f"{base}/board/open/{forged}", allow_redirects=False) as answer:
                assert answer.status == 403
                assert "Set-Cookie" not in answer.headers
                secured(answer)
        # a link within its minutes still opens: the refusals above were for their reasons
        _url, fresh = await link_for(org.lab)
        org.clock.advance(minutes=SupervisionConfig().link_minutes - 1)
        async with http.post(f"{base}/board/open/{fresh}", allow_redirects=False) as answer:
            assert answer.status == 303


async def test_no_page_answers_without_a_session(database_url: str, tmp_path: Path) -> None:
    async with board_lab(database_url, tmp_path) as org, client() as http:
        session = await sign_in(org, http)
        # a session token used as a link, and a link's digest as a cookie, open nothing
        async with http.post(
            f"{org.lab.bot.http.url}/board/open/{session}", allow_redirects=False
        ) as answer:
            assert answer.status == 403
        for path in (*PAGES, f"/board/file/{org.html}", f"/board/branch/{org.north}"):
            for cookie in (None, "", secrets.token_urlsafe(32), session[:-2], "a" * 64):
                status, body, _r = await get(org, http, path, cookie)
                assert status == 401, (path, cookie, status)
                for secret in (b"Main", b"North", b"East", SECRET_WORD.encode(), PDF[:20]):
                    assert secret not in body, (path, secret)
            status, _body, _r = await get(org, http, path, session)
            assert status == 200, path


async def test_the_board_closes_when_its_admin_is_no_longer_one(
    database_url: str, tmp_path: Path
) -> None:
    async with board_lab(database_url, tmp_path) as org, client() as http:
        lab = org.lab
        await lab.say("kai", "/lang zh")
        async with lab.bot.db.session() as db:
            assert await Repositories(db).people.add_admin("webhook:lab:kai")
        await lab.bot.engine.principals.refresh(lab.bot.db)
        session = await sign_in(org, http, "kai")
        status, body, _r = await get(org, http, "/board/", session)
        assert status == 200
        assert "督查考核" in body.decode() and 'lang="zh-Hans"' in body.decode()

        _url, unused = await link_for(lab, "kai")
        async with lab.bot.db.session() as db:
            await db.execute(delete(Admin).where(Admin.identity == "webhook:lab:kai"))
        for path in PAGES:
            status, body, _r = await get(org, http, path, session)
            assert status == 403, path
            assert b"Main" not in body and b"East" not in body
        async with http.post(
            f"{lab.bot.http.url}/board/open/{unused}", allow_redirects=False
        ) as answer:
            assert answer.status == 403
            assert "Set-Cookie" not in answer.headers


async def test_only_an_admin_gets_a_link_and_it_does_not_stay(
    database_url: str, tmp_path: Path
) -> None:
    async with board_lab(database_url, tmp_path) as org:
        lab = org.lab
        for user, chat in (("mei", None), ("sam", None), ("boss", "room-1")):
            answers = await lab.ask(user, "/board web", chat=chat)
            assert answers, user
            assert not any("/board/open/" in a["text"] for a in answers), answers
        _url, token = await link_for(lab)
        text = await lab.say("boss", "/board web")
        assert "10 minutes" in text
        async with lab.bot.db.session() as db:
            payloads = [str(row.payload) for row in await db.scalars(select(OutboxRow))]
            tokens = list(await db.scalars(select(WebToken)))
        assert payloads and not any("/board/open/" in payload for payload in payloads)
        assert not any(token in payload for payload in payloads)
        assert len(tokens) == 2 and {t.identity for t in tokens} == {"webhook:lab:boss"}
        assert not any(token in (t.digest, t.identity) for t in tokens)


async def test_behind_https_the_cookie_is_secure(database_url: str, tmp_path: Path) -> None:
    public = {"host": "127.0.0.1", "port": 0, "public_url": "https://board.example.org/bot"}
    async with board_lab(database_url, tmp_path, http=public) as org, client() as http:
        url, token = await link_for(org.lab)
        assert url == f"https://board.example.org/bot/board/open/{token}"
        async with http.post(
            f"{org.lab.bot.http.url}/board/open/{token}", allow_redirects=False
        ) as answer:
            assert answer.status == 303
            assert answer.headers["Location"] == "/bot/board/"
            cookie = answer.headers["Set-Cookie"]
            assert "Secure" in cookie and "Path=/bot/board" in cookie
