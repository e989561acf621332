"""The web chat's doors, over real HTTP on both stores: a forged session, a revoked one
(its open stream ends too), cross-site POSTs, code brute force, files over the limits, and the
page on a public address without an https ``public_url`` (refused at start)."""

from __future__ import annotations

import asyncio
import base64
import secrets
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from sqlalchemy import func, select
from yarl import URL

from adapters.webchat.limits import LOOPBACK, client_address
from bot.app import BranchBot, configure
from bot.cli import main
from bot.config import ConfigError
from bot.events import MAX_IMAGE
from dialogs.webchat import WebSessions
from store.models import OutboxRow
from store.repos import Repositories
from store.webchat import WebMessage, WebSession
from tests.support.chat import settle
from tests.support.webchat import client, visit, web_bot

CSRF = "X-Branchbot-CSRF"


async def outbox_rows(bot: BranchBot) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


async def history_rows(bot: BranchBot) -> int:
    async with bot.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(WebMessage)) or 0)


async def test_a_forged_session_is_signed_out(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)
        forged = {"branchbot_chat": secrets.token_urlsafe(32)}
        http.cookie_jar.clear()
        http.cookie_jar.update_cookies(forged, URL(url))
        for method, path in (("GET", "/chat/history"), ("GET", "/chat/events")):
            async with http.request(method, url + path) as response:
                assert response.status == 401
        async with http.post(
            url + "/chat/send", json={"text": "/help"}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 401
        assert await outbox_rows(bot) == 0
        # the page itself starts a new, anonymous identity instead
        async with http.get(url + "/chat") as response:
            assert response.status == 200
            assert "branchbot_chat" in response.cookies
            cookie = response.cookies["branchbot_chat"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax"
            assert cookie["path"] == "/chat"
        async with bot.db.session() as session:
            stored = (await session.scalars(select(WebSession.token_hash))).all()
        token = response.cookies["branchbot_chat"].value
        assert token not in stored and all(len(h) == 64 for h in stored)


async def test_a_revoked_session_ends_its_stream_and_is_refused(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)
        async with http.post(
            url + "/chat/send", json={"text": "/help"}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 200
        await settle(bot)
        stream = await http.get(url + "/chat/events")
        assert stream.status == 200
        async with bot.db.session() as session:
            row = (await session.scalars(select(WebSession))).one()
            assert (
                await Repositories(session)
                .get(WebSessions)
                .revoke(row.id, [row.user_id], bot.db.clock.now())
            )
        async with asyncio.timeout(5):
            body = await stream.content.read()  # the stream ends within a second or two
        assert b"event: signed_out" in body
        stream.release()
        rows = await outbox_rows(bot)
        async with http.get(url + "/chat/history") as response:
            assert response.status == 401
        async with http.post(
            url + "/chat/send", json={"text": "/help"}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 401
        assert await outbox_rows(bot) == rows


async def test_a_cross_site_post_changes_nothing(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)
        refused = [
            {CSRF: csrf, "Origin": "http://evil.example"},
            {CSRF: csrf, "Sec-Fetch-Site": "cross-site"},
            {CSRF: csrf, "Sec-Fetch-Site": "same-site"},
            {"Origin": url},  # no CSRF token
            {CSRF: "0" * 64, "Origin": url},
        ]
        for headers in refused:
            for path, body in (("/chat/send", {"text": "/help"}), ("/chat/read", {"upto": 9})):
                async with http.post(url + path, json=body, headers=headers) as response:
                    assert response.status == 403, (headers, path)
        assert await outbox_rows(bot) == 0
        assert await history_rows(bot) == 0
        headers = {CSRF: csrf, "Origin": url, "Sec-Fetch-Site": "same-origin"}
        async with http.post(url + "/chat/send", json={"text": "/help"}, headers=headers) as r:
            assert r.status == 200
        await settle(bot)
        assert await outbox_rows(bot) == 1


async def test_code_brute_force_is_limited_per_address_and_per_code(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)

        async def join(code: str) -> int:
            async with http.post(
                url + "/chat/send", json={"text": f"/join {code}"}, headers={CSRF: csrf}
            ) as response:
                return response.status

        assert [await join("AAAABBBB") for _ in range(6)] == [200] * 5 + [429]
        # 25 more codes reach the address's 30 tries; the next is refused
        assert [await join(f"CODE{n}XYZ") for n in range(26)] == [200] * 25 + [429]
        async with http.post(
            url + "/chat/send", json={"text": "/link QWERTYUP"}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 429
            assert (await response.json())["error"] == "too_many_tries"
        # other messages go on
        async with http.post(
            url + "/chat/send", json={"text": "/help"}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 200
    limits = bot.web_chat.limits if bot.web_chat else None
    assert limits is not None and len(limits.codes) <= limits.codes.keys


async def test_behind_a_proxy_each_client_has_its_own_tries(database_url: str) -> None:
    """Through the documented reverse proxy every request comes from 127.0.0.1: one
    stranger's wrong codes must not refuse everybody else's, and a client cannot escape its
    own limit by writing an address of its choice before the proxy's."""
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)

        async def join(code: str, forwarded: str) -> int:
            headers = {CSRF: csrf, "X-Forwarded-For": forwarded}
            async with http.post(
                url + "/chat/send", json={"text": f"/join {code}"}, headers=headers
            ) as response:
                return response.status

        tries = [await join(f"BAD{n}CODE", f"{n}.1.1.1, 203.0.113.7") for n in range(31)]
        assert tries == [200] * 30 + [429], "the stranger's own address is counted"
        assert await join("GOOD1CODE", "198.51.100.9") == 200, "a colleague is not locked out"


def test_the_client_is_the_nearest_untrusted_address() -> None:
    trusted = [*LOOPBACK, IPv4Network("10.0.0.0/8")]
    assert client_address("127.0.0.1", "203.0.113.7", trusted) == "203.0.113.7"
    assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.7, 10.0.0.2", trusted) == (
        "203.0.113.7"
    ), "read from the end: what the client wrote first does not count"
    assert client_address("198.51.100.1", "203.0.113.7", trusted) == "198.51.100.1", (
        "an untrusted peer's header is ignored"
    )
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "garbage, 10.0.0.3", trusted) == "garbage"
    assert client_address(None, None, trusted) == "unknown"


async def test_files_over_the_limits_are_refused_clearly(database_url: str) -> None:
    async with web_bot(database_url) as (bot, _adapter), client() as http:
        url = bot.http.url
        csrf = await visit(http, url)
        image = {
            "name": "big.png",
            "mime": "image/png",
            "data": base64.b64encode(b"\0" * (MAX_IMAGE + 1)).decode(),
        }
        async with http.post(
            url + "/chat/send", json={"file": image}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 413
            assert (await response.json())["error"] == "file_too_big"
        small = {"name": "a.txt", "mime": "text/plain", "data": base64.b64encode(b"hi").decode()}
        async with http.post(
            url + "/chat/send", json={"file": small}, headers={CSRF: csrf}
        ) as response:
            assert response.status == 200


def test_a_public_host_needs_an_https_public_url(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/web.db"
    for http in ({"host": "0.0.0.0"}, {"host": "0.0.0.0", "public_url": "http://bot.example"}):
        with pytest.raises(ConfigError, match=r"needs http\.public_url with https"):
            configure(None, database_url=database, http=http, web_chat={"enabled": True})
    public = {"host": "0.0.0.0", "public_url": "https://bot.example.org"}
    config = configure(None, database_url=database, http=public)
    bot = BranchBot(config)  # on by default behind https
    assert bot.web_chat is not None
    assert bot.web_chat.chat_link("quiz") == "https://bot.example.org/chat?start=quiz"
    assert BranchBot(configure(None, database_url=database)).web_chat is None


def test_branchbot_run_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "bot.toml"
    file.write_text(
        f'database_url = "sqlite:///{tmp_path}/web.db"\n'
        '[http]\nhost = "0.0.0.0"\n[web_chat]\nenabled = true\n'
    )
    assert main(["run", "--config", str(file)]) == 2
    assert "needs http.public_url with https" in capsys.readouterr().err
