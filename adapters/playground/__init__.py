"""The local playground: a web page where one person plays several people at once.

It is a webhook channel like any other (``webhook:playground``) whose other end is the page:
the page signs and POSTs protocol v1 events to ``/hooks/playground`` (so every message takes
the real path: signature, parsing, dedup, the core, the outbox), and the bot's messages reach
the page as server-sent events instead of callback POSTs.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from importlib.resources import files
from typing import Any

from aiohttp import web

from adapters.webhook import WebhookChannel, render
from bot.messages import Address, Capabilities, Outgoing, SentRef

PERSONAS = [
    {"id": "ada", "name": "Ada", "hint": "admin"},
    {"id": "sam", "name": "Sam", "hint": "secretary-to-be"},
    {"id": "mei", "name": "Mei", "hint": "member-to-be"},
    {"id": "max", "name": "Max", "hint": "member-to-be"},
]
ROOM = {"id": "room-library", "title": "Library branch room"}


class PlaygroundChannel(WebhookChannel):
    def __init__(self, history: int = 500) -> None:
        super().__init__("playground", secrets.token_hex(16), callback_url="")
        self.capabilities = Capabilities(buttons=True, images=True, max_text_length=32_768)
        self._history: deque[dict[str, Any]] = deque(maxlen=history)
        self._listeners: set[asyncio.Queue[dict[str, Any]]] = set()

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        body = render(address, message, message_id)
        body["html"] = message.text.html(newline="<br>")
        self._history.append(body)
        for listener in self._listeners:
            listener.put_nowait(body)
        return SentRef(message_id)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.page), web.get("/playground/events", self.events)]

    async def page(self, request: web.Request) -> web.Response:
        template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        config = {"secret": self.secret, "hook": "/hooks/playground",
                  "events": "/playground/events", "personas": PERSONAS, "room": ROOM}
        html = template.replace("__PLAYGROUND_CONFIG__", json.dumps(config).replace("</", "<\\/"))
        return web.Response(text=html, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for body in self._history:
            queue.put_nowait(body)
        self._listeners.add(queue)
        try:
            while True:
                try:
                    body = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                data = json.dumps(body, ensure_ascii=False)
                await response.write(f"id: {body['id']}\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._listeners.discard(queue)
        return response
