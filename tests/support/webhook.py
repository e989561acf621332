"""A real aiohttp receiver for the bot's callbacks and a client that signs events like a
webhook platform would: the end-to-end tests go through the real HTTP path both ways."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from adapters.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_headers
from bot.app import BranchBot, configure
from store.clock import SYSTEM_CLOCK, Clock

SECRET = "test-secret-🔑"
Message = dict[str, Any]
"""What the bot POSTed to the receiver, as JSON."""


@dataclass
class Receiver:
    """Collects what the bot POSTs; ``plan`` answers the first requests with other statuses."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    plan: list[int] = field(default_factory=list)
    attempts: int = 0
    bad_signatures: int = 0
    url: str = ""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        if sign(SECRET, stamp, body) != request.headers.get(SIGNATURE_HEADER):
            self.bad_signatures += 1
            return web.Response(status=401)
        self.attempts += 1
        if self.plan:
            status = self.plan.pop(0)
            headers = {"Retry-After": "0.2"} if status == 429 else {}
            return web.Response(status=status, headers=headers)
        self.messages.append(json.loads(body))
        self.changed.set()
        return web.json_response({"ok": True})


class Lab:
    """One webhook channel called ``lab`` of a running bot, seen from the platform's side."""

    def __init__(self, bot: BranchBot, receiver: Receiver, client: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.receiver = receiver
        self.client = client
        self.ids = itertools.count(1)

    @property
    def hook(self) -> str:
        return f"{self.bot.http.url}/hooks/lab"

    def event(
        self,
        user: str,
        text: str | None = None,
        *,
        chat: str | None = None,
        choice: str | None = None,
        name: str | None = None,
        event_id: str | None = None,
        message_id: str | None = None,
        file: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": event_id or f"ev-{next(self.ids)}",
            "chat": (
                {"id": chat, "type": "group", "title": f"Room {chat}"}
                if chat
                else {"id": f"dm-{user}", "type": "direct"}
            ),
            "sender": {"id": user, "name": name or user.title()},
        }
        if text is not None:
            body["text"] = text
        if choice is not None:
            body["choice"] = choice
        if message_id is not None:
            body["message_id"] = message_id
        if file is not None:
            body["file"] = file
        return body

    async def post(
        self,
        body: bytes | dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        channel: str = "lab",
    ) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.client.post(
            f"{self.bot.http.url}/hooks/{channel}",
            data=raw,
            headers=headers if headers is not None else signed_headers(SECRET, raw),
        ) as response:
            return response.status, await response.json(content_type=None)

    async def send(self, user: str, text: str | None = None, **options: Any) -> dict[str, Any]:
        status, answer = await self.post(self.event(user, text, **options))
        assert status == 200, (status, answer)
        return answer

    async def ask(self, user: str, text: str | None = None, **options: Any) -> list[dict[str, Any]]:
        """Send and return every message the bot sent because of it (once all are delivered)."""
        before = len(self.receiver.messages)
        await self.send(user, text, **options)
        async with asyncio.timeout(10):
            await self.bot.idle()
        return self.receiver.messages[before:]

    async def say(self, user: str, text: str | None = None, **options: Any) -> str:
        """Like ``ask``, for the common case of one answer: its plain text."""
        answers = await self.ask(user, text, **options)
        assert answers, f"no answer to {text!r}"
        return "\n".join(a["text"] for a in answers)


@asynccontextmanager
async def lab_bot(
    database_url: str, clock: Clock = SYSTEM_CLOCK, **overrides: Any
) -> AsyncIterator[Lab]:
    """A bot on the lab channel; ``clock`` is the time it reads (a ``ManualClock`` to move it)."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/inbox", receiver.inbox)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}/inbox"
    options: dict[str, Any] = {
        "database_url": database_url,
        "default_locale": "en",
        "admins": ["webhook:lab:boss"],
        "http": {"host": "127.0.0.1", "port": 0},
        "webhook": {
            "channels": [
                {"name": "lab", "secret": SECRET, "callback_url": receiver.url, "timeout": 5}
            ]
        },
    }
    options.update(overrides)
    bot = BranchBot(configure(None, **options), clock=clock)
    await bot.start()
    try:
        async with aiohttp.ClientSession() as client:
            yield Lab(bot, receiver, client)
    finally:
        await bot.stop()
        await runner.cleanup()


async def until(lab: Lab, test: Callable[[Message], bool], timeout: float = 15) -> Message:
    """The first message the receiver got that passes ``test``, waiting for it if need be."""
    async with asyncio.timeout(timeout):
        while True:
            for message in lab.receiver.messages:
                if test(message):
                    return message
            lab.receiver.changed.clear()
            await lab.receiver.changed.wait()


def to(user: str) -> Callable[[Message], bool]:
    """A test for ``until``: the message went to ``user``'s direct chat."""
    return lambda m: m["chat"]["id"] == f"dm-{user}"


def button(message: Message, label: str) -> str:
    """The payload of the first button in ``message`` whose label contains ``label``."""
    for row in message["choices"]:
        for choice in row:
            if label in choice["label"]:
                return str(choice["payload"])
    raise AssertionError(f"no {label!r} in {message['choices']}")


async def wait_for_text(lab: Lab, needle: str) -> Message:
    """The latest message the receiver got that contains ``needle``, waiting for it if need be."""
    async with asyncio.timeout(15):
        while True:
            lab.receiver.changed.clear()
            found = [m for m in lab.receiver.messages if needle in m["text"]]
            if found:
                return found[-1]
            await lab.receiver.changed.wait()
