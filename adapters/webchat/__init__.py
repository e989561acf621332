"""The web direct chat (platform ``web``): a person's direct chat with the bot in any browser.

``GET /chat`` serves the page (the playground's message drawing, composer and event stream,
shared through ``adapters.chatui``); a first visit makes an anonymous web identity (a random
user id) and a session, kept in an HttpOnly cookie scoped to ``/chat``. The page joins by
sending ``/join <code>`` (or ``/start <payload>`` from a deep link) as an ordinary ``Incoming``
from that identity, so onboarding, invites and ``/link`` work as on any platform.

``POST /chat/send`` takes one event (text, a button press, a file), ``GET /chat/events`` streams
the bot's messages (server-sent events), ``GET /chat/history`` gives the kept history and the
unread count, ``POST /chat/read`` marks it read. Every POST needs the session's CSRF token in a
header and a same-origin ``Origin``/``Sec-Fetch-Site``; a revoked session (``/sessions``) ends
its open streams within a second and gets 401 on its next request.

The adapter sees no store: what it keeps goes through ``ChatStore`` (``bot/app.py`` hands it
the web chat feature's ``StoredWebChat``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

from adapters.chatui import include
from adapters.playground import is_local
from adapters.webchat.agents import family
from adapters.webchat.limits import LOOPBACK, CodeLimits, Network, client_address
from adapters.webhook import render
from bot.events import (
    MAX_FILE,
    MAX_ID,
    MAX_IMAGE,
    Attachment,
    Chat,
    Incoming,
    InvalidText,
    Sender,
    clean_text,
    id_problem,
    parse_command,
)
from bot.messages import (
    Address,
    Capabilities,
    EngineStopped,
    EventHandler,
    Outgoing,
    SentRef,
    TransientError,
)

log = logging.getLogger(__name__)

PLATFORM = "web"
COOKIE = "branchbot_chat"
CSRF_HEADER = "X-Branchbot-CSRF"
COOKIE_AGE = 400 * 24 * 3600
"""The longest a browser keeps a cookie (Chrome caps it at 400 days); the session itself
lasts until it is signed out with ``/sessions``."""
MAX_TEXT = 32_768
MAX_EVENT = (max(MAX_FILE, MAX_IMAGE) * 4) // 3 + 64 * 1024
"""The largest body ``POST /chat/send`` reads: a file at ``bot.events.MAX_FILE`` as base64."""
PAGE_LOCALES = ("zh_Hans", "en")
PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CODE_COMMANDS = frozenset({"join", "link", "start"})
QUEUE = 256
"""Messages one open page may fall behind by; past it the stream ends and the page comes
back for the rest from the kept history."""
WATCH_EVERY = 1.0
"""Seconds between two looks for sessions revoked while their pages are open."""
SIGNED_OUT = {"kind": "signed_out"}
HELD, HELD_PEOPLE = 50, 10_000
"""Ephemeral messages held for an identity with no page open, and identities held for."""
STORE_SLOTS = 4
"""Store calls the web chat makes at once: a storm of pages opening (every phone coming back
after a restart) waits here instead of taking every connection of the store's pool from the
engine and delivery."""
T = TypeVar("T")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

SessionRow = tuple[int, str, str]
"""(session id, web user id, the name the person gave)."""


class ChatStore(Protocol):
    """What the adapter keeps: sessions (by the hash of their token) and each web identity's
    history of both sides of its chat."""

    async def create_session(self, token_hash: str, user_id: str, agent: str) -> int: ...

    async def session(self, token_hash: str) -> SessionRow | None: ...

    async def rename(self, session_id: int, name: str) -> None: ...

    async def joined(self, user_id: str) -> bool: ...

    async def keep_many(self, rows: Sequence[tuple[str, dict[str, Any], bool]]) -> list[int]:
        """Keep messages (user id, body, unread) in one go; their history ids, in order."""
        ...

    async def history(self, user_id: str, after: int = 0) -> list[tuple[int, dict[str, Any]]]: ...

    async def unread(self, user_id: str) -> int: ...

    async def mark_read(self, user_id: str, upto: int) -> None: ...

    async def revoked(self, session_ids: Sequence[int]) -> list[int]: ...


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_of(token: str) -> str:
    """The session's CSRF token: derived from its cookie, so nothing more is stored, and
    only a page of this origin (which the server writes it into) can know it."""
    return hmac.new(token.encode(), b"branchbot-csrf", hashlib.sha256).hexdigest()


@dataclass(eq=False)
class Stream:
    """One open page's event stream."""

    session_id: int
    user_id: str
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE)
    )

    def put(self, entry: dict[str, Any] | None) -> None:
        if self.queue.full():  # fallen behind: end it, the page replays from the history
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    self.queue.get_nowait()
            entry = None
        self.queue.put_nowait(entry)


class BadRequest(ValueError):
    """The reason a ``POST /chat/send`` is refused with 400 (or 413)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class Visitor:
    session_id: int
    user_id: str
    name: str
    token: str


class WebChatAdapter:
    name = PLATFORM

    def __init__(
        self,
        store: ChatStore,
        *,
        base_url: Callable[[], str],
        locale: str = "zh_Hans",
        limits: CodeLimits | None = None,
        trusted_proxies: Sequence[Network] = LOOPBACK,
        start_commands: frozenset[str] = frozenset(),
    ) -> None:
        """``base_url``: where people reach the server (``http.public_url`` or the address it
        listens on), read whenever a link or a cookie needs it. ``trusted_proxies``: whose
        ``X-Forwarded-For`` names the client (``client_address``). ``start_commands``: the
        direct-chat commands a ``/start <name>`` link starts (a group's "send it in a direct
        chat" link), which are no code tries."""
        self.store = store
        self.base_url = base_url
        self.locale = locale if locale in PAGE_LOCALES else "en"
        self.limits = limits or CodeLimits()
        self.trusted_proxies = tuple(trusted_proxies)
        self.start_commands = start_commands
        self.handle: EventHandler | None = None
        self._streams: dict[str, set[Stream]] = {}
        self._held: dict[str, deque[dict[str, Any]]] = {}
        self._last_ephemeral: dict[str, bool] = {}
        self._ephemeral_ids: deque[str] = deque(maxlen=HELD_PEOPLE)
        """Ephemeral messages for identities with no page open: shown once, never stored."""
        self._watch: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(STORE_SLOTS)
        self._to_keep: list[tuple[str, dict[str, Any], bool, asyncio.Future[int]]] = []
        self._keeper: asyncio.Task[None] | None = None
        self._capabilities: Capabilities | None = None

    async def _gate(self, call: Awaitable[T]) -> T:
        async with self._slots:
            return await call

    async def _keep(self, user_id: str, body: dict[str, Any], unread: bool) -> int:
        """Keep one message in the history. Messages kept meanwhile (delivery sends to many
        chats at once) go to the store together, in one transaction."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._to_keep.append((user_id, body, unread, future))
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.create_task(self._keep_all())
        return await future

    async def _keep_all(self) -> None:
        while self._to_keep:
            batch, self._to_keep = self._to_keep, []
            try:
                ids = await self._gate(self.store.keep_many([(u, b, r) for u, b, r, _ in batch]))
            except Exception as error:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (*_, future), row_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(row_id)

    # -- the adapter contract -------------------------------------------------------------

    @property
    def capabilities(self) -> Capabilities:
        base = self.base_url().rstrip("/")
        if self._capabilities is None or self._capabilities.deep_link != self._link(base):
            self._capabilities = Capabilities(
                buttons=True,
                images=True,
                documents=True,
                can_open_dm=True,
                max_text_length=MAX_TEXT,
                deep_link=self._link(base),
            )
        return self._capabilities

    @capabilities.setter
    def capabilities(self, value: Capabilities) -> None:
        self._capabilities = value

    @staticmethod
    def _link(base: str) -> str:
        return f"{base}/chat?start={{payload}}"

    def chat_link(self, payload: str | None = None) -> str:
        """The web chat, or the place in it that sends ``/start <payload>``."""
        base = self.base_url().rstrip("/")
        return self._link(base).replace("{payload}", payload) if payload else f"{base}/chat"

    async def start(self, handle: EventHandler) -> None:
        self.handle = handle
        self._watch = asyncio.create_task(self._watch_revocations())

    async def stop(self) -> None:
        self.handle = None
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self.close_streams()

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        user_id = address.user_id or address.chat_id
        body = render(address, message, message_id)
        body["kind"] = "bot"
        body["html"] = message.text.html(newline="<br>")
        self._note_ephemeral(user_id, message_id if message.ephemeral else None)
        if message.ephemeral:
            # shown, never kept: to an open page now, or to the next one that opens
            body["ephemeral"] = True
            if not self._publish(user_id, body):
                self._held.setdefault(user_id, deque(maxlen=HELD)).append(body)
                while len(self._held) > HELD_PEOPLE:  # the oldest identity's go first
                    del self._held[next(iter(self._held))]
            return SentRef(message_id)
        try:
            body["seq"] = await self._keep(user_id, body, unread=True)
        except Exception as error:  # the store is down: the outbox keeps the row and retries
            raise TransientError(f"web chat history: {error}") from error
        self._publish(user_id, body)
        return SentRef(message_id)

    def _note_ephemeral(self, user_id: str, message_id: str | None) -> None:
        """Remember whether this identity's newest message was ephemeral (and which ones
        were), so that what the person answers to it is not kept either: an anonymous
        form's answer, typed or pressed, must not sit next to their identity."""
        self._last_ephemeral.pop(user_id, None)
        self._last_ephemeral[user_id] = message_id is not None
        while len(self._last_ephemeral) > HELD_PEOPLE:
            del self._last_ephemeral[next(iter(self._last_ephemeral))]
        if message_id is not None:
            self._ephemeral_ids.append(message_id)

    def _answers_ephemeral(self, user_id: str, event: Incoming, page_says: bool) -> bool:
        if page_says:
            return True
        if event.choice is not None:
            return event.reply_to is not None and event.reply_to in self._ephemeral_ids
        return self._last_ephemeral.get(user_id, False)

    def _publish(self, user_id: str, entry: dict[str, Any]) -> bool:
        streams = self._streams.get(user_id)
        for stream in streams or ():
            stream.put(entry)
        return bool(streams)

    @property
    def open_pages(self) -> int:
        return sum(len(s) for s in self._streams.values())

    async def close_streams(self, _app: web.Application | None = None) -> None:
        for streams in list(self._streams.values()):
            for stream in list(streams):
                stream.put(None)

    async def _watch_revocations(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            ids = {s.session_id for streams in self._streams.values() for s in streams}
            if not ids:
                continue
            try:
                gone = set(await self._gate(self.store.revoked(sorted(ids))))
            except Exception:
                log.exception("web chat: could not look for revoked sessions")
                continue
            for streams in list(self._streams.values()):
                for stream in list(streams):
                    if stream.session_id in gone:
                        stream.put(SIGNED_OUT)
                        stream.put(None)

    # -- routes ---------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", self.page),
            web.get("/chat/history", self.history),
            web.get("/chat/events", self.events),
            web.post("/chat/send", self.receive),
            web.post("/chat/read", self.read),
        ]

    def _secure(self) -> bool:
        return self.base_url().lower().startswith("https:")

    def _allowed_host(self, request: web.Request) -> bool:
        """Served on a public name only behind an https ``public_url`` (refused at start
        otherwise); on loopback to loopback names only, as the playground is."""
        return self._secure() or is_local(request)

    def _origin(self, request: web.Request) -> str:
        if self._secure():
            parts = urlsplit(self.base_url())
            return f"{parts.scheme}://{parts.netloc}".lower()
        return f"http://{request.headers.get('Host', '')}".lower()

    async def _visitor(self, request: web.Request) -> Visitor | None:
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > 128:
            return None
        found = await self._gate(self.store.session(digest(token)))
        if found is None:
            return None
        session_id, user_id, name = found
        return Visitor(session_id, user_id, name, token)

    def _refuse(self, status: int, error: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error": error}, status=status, headers=SECURITY_HEADERS
        )

    def _cross_site(self, request: web.Request) -> bool:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            return True
        origin = request.headers.get("Origin")
        return origin is not None and origin.lower() != self._origin(request)

    async def _poster(self, request: web.Request) -> Visitor | web.Response:
        """The visitor of a POST, or why it is refused: cross-site 403, no session 401,
        a wrong or missing CSRF token 403."""
        if not self._allowed_host(request):
            return self._refuse(403, "not allowed from here")
        if self._cross_site(request):
            return self._refuse(403, "cross-site request")
        visitor = await self._visitor(request)
        if visitor is None:
            return self._refuse(401, "signed_out")
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(
            sent.encode("utf-8", "replace"), csrf_of(visitor.token).encode()
        ):
            return self._refuse(403, "bad CSRF token")
        return visitor

    async def page(self, request: web.Request) -> web.Response:
        if not self._allowed_host(request):
            raise web.HTTPForbidden(text="the web chat needs http.public_url with https here")
        visitor = await self._visitor(request)
        fresh = visitor is None
        if visitor is None:
            token = secrets.token_urlsafe(32)
            user_id = secrets.token_urlsafe(12)
            agent = family(request.headers.get("User-Agent", ""))
            session_id = await self._gate(self.store.create_session(digest(token), user_id, agent))
            visitor = Visitor(session_id, user_id, "", token)
        start = request.query.get("start", "")
        config = {
            "csrf": csrf_of(visitor.token),
            "locale": self.locale,
            "start": start if PAYLOAD.fullmatch(start) else None,
            "name": visitor.name,
            "max_file": MAX_FILE,
            "max_image": MAX_IMAGE,
        }
        template = files(__package__).joinpath("page.html").read_text(encoding="utf-8")
        html = include(template).replace(
            "__WEBCHAT_CONFIG__", json.dumps(config).replace("</", "<\\/")
        )
        response = web.Response(
            text=html, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
        )
        if fresh:
            response.set_cookie(
                COOKIE,
                visitor.token,
                max_age=COOKIE_AGE,
                path="/chat",
                httponly=True,
                samesite="Lax",
                secure=self._secure(),
            )
        return response

    async def history(self, request: web.Request) -> web.Response:
        if not self._allowed_host(request):
            return self._refuse(403, "not allowed from here")
        visitor = await self._visitor(request)
        if visitor is None:
            return self._refuse(401, "signed_out")
        entries: list[dict[str, Any]] = []
        if request.query.get("only") != "state":
            kept = await self._gate(self.store.history(visitor.user_id))
            entries = [{**body, "seq": seq} for seq, body in kept]
            entries += list(self._held.pop(visitor.user_id, ()))
        return web.json_response(
            {
                "messages": entries,
                "unread": await self._gate(self.store.unread(visitor.user_id)),
                "joined": await self._gate(self.store.joined(visitor.user_id)),
                "name": visitor.name,
            },
            headers=SECURITY_HEADERS,
            dumps=lambda value: json.dumps(value, ensure_ascii=False),
        )

    async def read(self, request: web.Request) -> web.Response:
        visitor = await self._poster(request)
        if isinstance(visitor, web.Response):
            return visitor
        try:
            upto = int((await request.json()).get("upto", 0))
        except (ValueError, TypeError, AttributeError):
            return self._refuse(400, "upto must be a number")
        await self._gate(self.store.mark_read(visitor.user_id, upto))
        return web.json_response({"ok": True}, headers=SECURITY_HEADERS)

    async def events(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed_host(request):
            return self._refuse(403, "not allowed from here")
        visitor = await self._visitor(request)
        if visitor is None:
            return self._refuse(401, "signed_out")
        stream = Stream(visitor.session_id, visitor.user_id)
        self._streams.setdefault(visitor.user_id, set()).add(stream)
        try:
            after = _number(request.headers.get("Last-Event-ID") or request.query.get("after"))
            missed = await self._gate(self.store.history(visitor.user_id, after))
            response = web.StreamResponse(
                headers={
                    "Content-Type": "text/event-stream",
                    "Cache-Control": "no-cache",
                    "X-Accel-Buffering": "no",
                }
            )
            await response.prepare(request)
            await response.write(b"event: hello\ndata: {}\n\n")
            last = after
            for seq, body in missed:
                last = seq
                await self._write(response, {**body, "seq": seq})
            while True:
                try:
                    item = await asyncio.wait_for(stream.queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                if item is SIGNED_OUT:
                    await response.write(b"event: signed_out\ndata: {}\n\n")
                    continue
                number = item.get("seq")
                if isinstance(number, int):
                    if number <= last:
                        continue
                    last = number
                await self._write(response, item)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            streams = self._streams.get(visitor.user_id)
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del self._streams[visitor.user_id]
        return response

    @staticmethod
    async def _write(response: web.StreamResponse, entry: dict[str, Any]) -> None:
        data = json.dumps(entry, ensure_ascii=False)
        head = f"id: {entry['seq']}\n" if isinstance(entry.get("seq"), int) else ""
        await response.write(f"{head}data: {data}\n\n".encode("utf-8", "replace"))

    async def receive(self, request: web.Request) -> web.Response:
        visitor = await self._poster(request)
        if isinstance(visitor, web.Response):
            return visitor
        if request.content_length is not None and request.content_length > MAX_EVENT:
            return self._refuse(413, "file_too_big")
        body = b""
        while len(body) <= MAX_EVENT:
            chunk = await request.content.read(MAX_EVENT + 1 - len(body))
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_EVENT:
            return self._refuse(413, "file_too_big")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise BadRequest("body must be a JSON object")
            name = data.get("name")
            if isinstance(name, str) and name.strip() and not visitor.name:
                visitor = Visitor(
                    visitor.session_id,
                    visitor.user_id,
                    clean_text(name.strip())[:64],
                    visitor.token,
                )
                await self._gate(self.store.rename(visitor.session_id, visitor.name))
            event = parse(data, visitor)
        except (ValueError, RecursionError) as error:
            status = error.status if isinstance(error, BadRequest) else 400
            return self._refuse(status, str(error) or "body is not JSON")
        if (
            event.command in CODE_COMMANDS
            and event.args
            and is_code(event.command, event.args[0], self.start_commands)
        ):
            forwarded = request.headers.get("X-Forwarded-For")
            where = client_address(request.remote, forwarded, self.trusted_proxies)
            if not self.limits.allow(where, event.args[0]):
                return self._refuse(429, "too_many_tries")
        if self.handle is None:
            return self._refuse(503, "not ready")
        label = data.get("label")
        entry = said(event, clean_text(label)[:255] if isinstance(label, str) else None)
        if self._answers_ephemeral(visitor.user_id, event, data.get("ephemeral") is True):
            entry["ephemeral"] = True  # shown on the person's open pages, never kept
        else:
            entry["seq"] = await self._keep(visitor.user_id, entry, unread=False)
        self._publish(visitor.user_id, entry)
        try:
            accepted = await self.handle(event)
        except EngineStopped:
            response = self._refuse(503, "stopping; send it again")
            response.headers["Retry-After"] = "5"
            return response
        return web.json_response(
            {"ok": True, "duplicate": accepted.duplicate, "seq": entry.get("seq")},
            headers=SECURITY_HEADERS,
        )


def is_code(command: str, argument: str, start_commands: frozenset[str] = frozenset()) -> bool:
    """Whether a try is a code to count: ``/join`` and ``/link`` always; ``/start`` unless its
    payload names a feature's place (``lesson_…``), which no code contains, or is exactly a
    direct-chat command's name (``quiz``: the core starts that command, never reads a code)."""
    return command != "start" or ("_" not in argument and argument not in start_commands)


def _number(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def _field(data: dict[str, Any], key: str, limit: int = MAX_ID) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"field {key} must be a string")
    if (problem := id_problem(value, limit)) is not None:
        raise BadRequest(f"field {key} {problem}")
    return value


def attachment(value: Any) -> Attachment | None:
    """``{"name", "mime", "data": base64}`` as the webhook takes it, held to the core's
    limits: ``MAX_IMAGE`` for an image, ``MAX_FILE`` for any other file."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest("field file must be an object")
    name, mime, encoded = value.get("name"), value.get("mime") or "", value.get("data")
    if not isinstance(name, str) or not name.strip() or not isinstance(encoded, str):
        raise BadRequest("field file needs a name and data")
    if not isinstance(mime, str):
        raise BadRequest("field file.mime must be a string")
    mime = mime or "application/octet-stream"
    limit = MAX_IMAGE if mime.startswith("image/") else MAX_FILE
    if len(encoded) * 3 // 4 > limit + 3:
        raise BadRequest("file_too_big", 413)
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("field file.data must be base64") from None
    if len(data) > limit:
        raise BadRequest("file_too_big", 413)
    return Attachment(clean_text(name)[:255], clean_text(mime)[:255], data)


def parse(data: dict[str, Any], visitor: Visitor) -> Incoming:
    """One event of the page, from this visitor's web identity (the chat and sender are the
    session's, whatever the body says)."""
    text = data.get("text") or ""
    if not isinstance(text, str):
        raise BadRequest("field text must be a string")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"field text is longer than {MAX_TEXT} characters")
    text = clean_text(text)
    choice = _field(data, "choice", 64)
    file = attachment(data.get("file"))
    if not text.strip() and not choice and file is None:
        raise BadRequest("an event needs text, choice or file")
    event_id = _field(data, "id") or secrets.token_hex(16)
    command = None if choice else parse_command(text)
    try:
        return Incoming(
            platform=PLATFORM,
            event_id=f"{visitor.user_id}:{event_id}"[:MAX_ID],
            chat=Chat(visitor.user_id, True, ""),
            sender=Sender(visitor.user_id, visitor.name),
            text=text,
            command=command[0] if command else None,
            args=command[1] if command else (),
            choice=choice,
            reply_to=_field(data, "message_id"),
            attachment=file,
        )
    except InvalidText as error:
        raise BadRequest(f"field {error}") from None


def said(event: Incoming, label: str | None) -> dict[str, Any]:
    """What a person sent, as the page draws it (the playground's transcript entry)."""
    entry: dict[str, Any] = {
        "kind": "user",
        "id": event.event_id.split(":", 1)[-1],
        "chat": {"id": event.chat.id, "type": "direct"},
        "sender": {"id": event.sender.id, "name": event.sender.name},
        "text": event.text,
    }
    if event.choice is not None:
        entry["choice"] = event.choice
        entry["message_id"] = event.reply_to
        entry["label"] = label or event.choice
    if event.attachment is not None:
        entry["file"] = {"name": event.attachment.name, "size": len(event.attachment.data)}
    return entry
