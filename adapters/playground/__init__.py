"""The local playground: a web page where one person plays several people at once.

It is a webhook channel like any other (``webhook:playground``) whose other end is the page:
the page signs and POSTs protocol v1 events to ``/hooks/playground`` (so every message takes
the real path: signature, parsing, dedup, the core, the outbox), and the bot's messages reach
the page as server-sent events instead of callback POSTs.

The transcript, both sides of every chat, is kept here rather than in the browser: this is
the one place that sees every event in the order the bot took them in, whichever tab or
browser sent them, and a browser's storage is per profile, has a small quota (images) and is
gone after a private window closes. The page keeps only its own view in localStorage: who is
speaking in the room and how far each chat was read.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from aiohttp import web

from adapters.chatui import include
from adapters.webhook import WebhookChannel, render
from bot.events import Incoming
from bot.messages import Accepted, Address, Capabilities, EventHandler, Outgoing, SentRef

PERSONAS = [
    {"id": "ada", "name": "Ada", "role": "admin"},
    {"id": "sam", "name": "Sam", "role": "secretary"},
    {"id": "mei", "name": "Mei", "role": "member"},
    {"id": "max", "name": "Max", "role": "member"},
]
"""``role`` is what each person is meant to become; the page names it in its own language."""
ROOM = {"id": "room-library", "title": "Library branch room", "branch": "Library"}
PAGE_LOCALES = ("zh_Hans", "en")
"""The languages the page's own words come in (its table per language); the bot's replies
follow each person's language through the catalogs as on any channel."""
LOCAL_AUTHORITY = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?", re.IGNORECASE)
"""The page holds a signing secret: it is only served to browsers that reached it by a
loopback name, so another web site cannot read it through DNS rebinding. A browser sends
exactly ``Host: <name>[:<port>]``, so anything else is refused rather than interpreted:
userinfo (``evil@127.0.0.1``), a missing Host (HTTP/1.0), more than one."""


SAMPLE_BANK = "sample-bank.yaml"
"""Shipped beside the page, so an installed bot can offer it too; docs/getting-started.md
walks through it."""


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


@dataclass(frozen=True, slots=True)
class Standing:
    """What the page shows under a person's name: their roles as the bot sees them now."""

    admin: bool = False
    member_of: str | None = None
    secretary_of: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The facts only: the page words them in the language it is showing, which a
        person can switch there without asking the server."""
        member = self.member_of if self.member_of not in self.secretary_of else None
        return {"admin": self.admin, "secretary_of": list(self.secretary_of), "member_of": member}


Standings = Callable[[Sequence[str]], Awaitable[dict[str, Standing]]]
"""Sender ids on this channel -> their standing (bot/app.py reads it from the store)."""


class PlaygroundChannel(WebhookChannel):
    def __init__(
        self, history: int = 1000, standings: Standings | None = None, locale: str = "zh_Hans"
    ) -> None:
        super().__init__("playground", secrets.token_hex(16), callback_url="")
        if locale not in PAGE_LOCALES:
            raise ValueError(f"the playground page speaks {PAGE_LOCALES}, not {locale!r}")
        self.locale = locale
        """The organisation's default language: the page's words start in it."""
        self.capabilities = Capabilities(buttons=True, images=True, max_text_length=32_768)
        self._history: deque[dict[str, Any]] = deque(maxlen=history)
        self._listeners: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._standings = standings
        self._epoch = secrets.token_hex(4)
        """Part of every stream id: a page that reconnects to a restarted bot gets it all."""
        self._seq = itertools.count(1)

    def allows(self, request: web.Request) -> bool:
        return is_local(request)

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """What a page that connects now is sent first, oldest first."""
        return list(self._history)

    async def start(self, handle: EventHandler) -> None:
        async def recorded(event: Incoming) -> Accepted:
            entry = self._said(event)
            try:
                accepted = await handle(event)
            except BaseException:
                if entry is not None:
                    self._failed(entry)
                raise
            return accepted

        await super().start(recorded)

    def _said(self, event: Incoming) -> dict[str, Any] | None:
        """Put what a person sent into the transcript, once per event id, before the bot
        handles it: its replies can reach the page before the POST's answer does."""
        if any(
            e.get("kind") == "user" and e["id"] == event.event_id and not e.get("failed")
            for e in self._history
        ):
            return None
        entry: dict[str, Any] = {
            "kind": "user",
            "id": event.event_id,
            "chat": {"id": event.chat.id, "type": "direct" if event.chat.direct else "group"},
            "sender": {"id": event.sender.id, "name": event.sender.name},
            "text": event.text,
        }
        if event.choice is not None:
            entry["choice"] = event.choice
            entry["message_id"] = event.reply_to
            entry["label"] = self._label(event.reply_to, event.choice)
        if event.attachment is not None:
            entry["file"] = {"name": event.attachment.name, "size": len(event.attachment.data)}
        self._publish(entry)
        return entry

    def _label(self, message_id: str | None, payload: str) -> str:
        """The pressed button's label, from the bot message that carried it."""
        for body in reversed(self._history):
            if body.get("kind") == "bot" and body["id"] == message_id:
                for row in body.get("choices", []):
                    for choice in row:
                        if choice.get("payload") == payload:
                            return str(choice["label"])
        return payload

    def _failed(self, entry: dict[str, Any]) -> None:
        entry["failed"] = True
        self._publish({"kind": "failed", "id": f"failed:{entry['id']}", "ref": entry["id"]})

    def _publish(self, entry: dict[str, Any]) -> None:
        entry["seq"] = f"{self._epoch}:{next(self._seq)}"
        self._history.append(entry)
        for listener in self._listeners:
            if listener.full():
                listener.get_nowait()
            listener.put_nowait(entry)

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        body = render(address, message, message_id)
        body["kind"] = "bot"
        body["html"] = message.text.html(newline="<br>")
        self._publish(body)
        return SentRef(message_id)

    async def close_streams(self, _app: web.Application | None = None) -> None:
        """End every open event stream, so the server can stop without waiting for them."""
        for listener in self._listeners:
            if listener.full():
                listener.get_nowait()
            listener.put_nowait(None)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/", self.page),
            web.get("/playground/events", self.events),
            web.get("/playground/people", self.people),
            web.get(f"/playground/{SAMPLE_BANK}", self.sample_bank),
        ]

    async def people(self, request: web.Request) -> web.Response:
        """Each persona's roles now, for the subtitles under their names."""
        if not is_local(request):
            raise web.HTTPForbidden(text="the playground is served on 127.0.0.1 or localhost only")
        ids = [p["id"] for p in PERSONAS]
        found = await self._standings(ids) if self._standings is not None else {}
        return web.json_response(
            {i: found.get(i, Standing()).as_json() for i in ids},
            headers={"Cache-Control": "no-store"},
        )

    async def sample_bank(self, request: web.Request) -> web.Response:
        if not is_local(request):
            raise web.HTTPForbidden(text="the playground is served on 127.0.0.1 or localhost only")
        text = files(__package__).joinpath(SAMPLE_BANK).read_text(encoding="utf-8")
        return web.Response(
            text=text,
            content_type="application/yaml",
            charset="utf-8",
            headers={"Cache-Control": "no-store"},
        )

    async def page(self, request: web.Request) -> web.Response:
        if not is_local(request):
            raise web.HTTPForbidden(text="the playground is served on 127.0.0.1 or localhost only")
        template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        config = {
            "secret": self.secret,
            "hook": "/hooks/playground",
            "events": "/playground/events",
            "people": "/playground/people",
            "epoch": self._epoch,
            "locale": self.locale,
            "sample_bank": f"/playground/{SAMPLE_BANK}",
            "personas": PERSONAS,
            "room": ROOM,
        }
        config_json = json.dumps(config).replace("</", "<\\/")
        html = include(template).replace("__PLAYGROUND_CONFIG__", config_json)
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
        # A page from before a restart holds a stale secret and ids: it reloads on this.
        hello = json.dumps({"epoch": self._epoch})
        await response.write(f"event: hello\ndata: {hello}\n\n".encode())
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(self._history.maxlen or 500)
        history = list(self._history)
        last = request.headers.get("Last-Event-ID")
        seqs = [entry["seq"] for entry in history]
        for entry in history[seqs.index(last) + 1 if last in seqs else 0 :]:
            queue.put_nowait(entry)
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
                    f"id: {item['seq']}\ndata: {data}\n\n".encode("utf-8", "replace")
                )
        except ConnectionResetError:
            pass
        finally:
            self._listeners.discard(queue)
        return response
