"""The local playground: a web page where one person plays several people at once.

It is a webhook channel like any other (``webhook:playground``) whose other end is the page:
the page signs and POSTs protocol v1 events to ``/hooks/playground`` (so every message takes
the real path: signature, parsing, dedup, the core, the outbox), and the bot's messages reach
the page as server-sent events instead of callback POSTs.
"""

from __future__ import annotations

import asyncio
import json
import re
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
LOCAL_AUTHORITY = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?", re.IGNORECASE)
"""The page holds a signing secret: it is only served to browsers that reached it by a
loopback name, so another web site cannot read it through DNS rebinding. A browser sends
exactly ``Host: <name>[:<port>]``, so anything else is refused rather than interpreted:
userinfo (``evil@127.0.0.1``), a missing Host (HTTP/1.0), more than one."""


def is_local(request: web.Request) -> bool:
    """Whether the request names a loopback host, read from the raw request rather than from
    aiohttp's URL (which takes userinfo apart and falls back to the socket without a Host)."""
    hosts = request.headers.getall("Host", [])
    if len(hosts) != 1 or not LOCAL_AUTHORITY.fullmatch(hosts[0]):
        return False
    target = request.raw_path
    if target.startswith("/"):
        return True
    # absolute-form (``GET http://name/ HTTP/1.1``): its authority must be local as well
    scheme, _, rest = target.partition("://")
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    return scheme.lower() in ("http", "https") and bool(LOCAL_AUTHORITY.fullmatch(authority))


class PlaygroundChannel(WebhookChannel):
    def __init__(self, history: int = 500) -> None:
        super().__init__("playground", secrets.token_hex(16), callback_url="")
        self.capabilities = Capabilities(buttons=True, images=True, max_text_length=32_768)
        self._history: deque[dict[str, Any]] = deque(maxlen=history)
        self._listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()

    def allows(self, request: web.Request) -> bool:
        return is_local(request)

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        body = render(address, message, message_id)
        body["html"] = message.text.html(newline="<br>")
        self._history.append(body)
        for listener in self._listeners:
            if listener.full():
                listener.get_nowait()
            listener.put_nowait(body)
        return SentRef(message_id)

    async def close_streams(self, _app: web.Application | None = None) -> None:
        """End every open event stream, so the server can stop without waiting for them."""
        for listener in self._listeners:
            if listener.full():
                listener.get_nowait()
            listener.put_nowait(None)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/", self.page), web.get("/playground/events", self.events)]

    async def page(self, request: web.Request) -> web.Response:
        if not is_local(request):
            raise web.HTTPForbidden(text="the playground is served on 127.0.0.1 or localhost only")
        template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        config = {
            "secret": self.secret,
            "hook": "/hooks/playground",
            "events": "/playground/events",
            "personas": PERSONAS,
            "room": ROOM,
        }
        html = template.replace("__PLAYGROUND_CONFIG__", json.dumps(config).replace("</", "<\\/"))
        return web.Response(
            text=html,
            content_type="text/html",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        if not is_local(request):
            raise web.HTTPForbidden(text="the playground is served on 127.0.0.1 or localhost only")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(self._history.maxlen or 500)
        history = list(self._history)
        last = request.headers.get("Last-Event-ID")
        ids = [body["id"] for body in history]
        for body in history[ids.index(last) + 1 if last in ids else 0 :]:
            queue.put_nowait(body)
        self._listeners.add(queue)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                data = json.dumps(item, ensure_ascii=False)
                await response.write(
                    f"id: {item['id']}\ndata: {data}\n\n".encode("utf-8", "replace")
                )
        except ConnectionResetError:
            pass
        finally:
            self._listeners.discard(queue)
        return response
