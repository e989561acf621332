"""A fake Telegram Bot API server (aiohttp) that python-telegram-bot talks to through
``telegram.api_url``, and helpers to run a bot against it.

It behaves the way Telegram does for the methods branchbot uses: parameters form-encoded
(values that are objects as JSON strings), multipart for uploads, or a JSON body; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`` with the same HTTP status; long-poll ``getUpdates`` with
offsets (an update is confirmed once ``getUpdates`` is called with a higher offset);
``setWebhook`` with POSTed updates carrying the secret header, up to ``max_connections`` (40
unless told) in flight at once, each retried until answered 2xx, and ``getUpdates`` refused
meanwhile (409); a group upgraded to a supergroup (``migrate``: the service messages, then 400
with ``parameters.migrate_to_chat_id`` for sends to the old id); "there is no text in the
message to edit" for an edit of a photo. It enforces the limits: HTML that Telegram would refuse,
4,096 characters of text after parsing, 1,024 of caption, 64 bytes of callback data, 30 messages
a second overall, one a second per chat and 20 a minute per group (429 with ``retry_after``),
403 for a user who blocked the bot or never started it, and 20 MB for ``getFile``
(400 "file is too big" past it).

The per-chat gap allows 100 ms of network jitter (Telegram itself tolerates short bursts).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from bot.app import BranchBot, configure
from tests.support.ports import free_port
from tests.support.templates import migrated

TOKEN = "123456:TEST-fake-token"
BOT_ID = 123456
BOT_USERNAME = "branch_test_bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

GLOBAL_PER_SECOND = 30
CHAT_GAP = 1.0
JITTER = 0.1
GROUP_PER_MINUTE = 20
MAX_DOWNLOAD = 20 * 1024 * 1024
"""What ``getFile`` serves at most ("bots can download files of up to 20MB in size"); a larger
file is refused with 400 "Bad Request: file is too big", as the real API does."""

_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a",
    "tg-spoiler", "blockquote", "span",
}  # fmt: skip
_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href"},
    "code": {"class"},
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
    "blockquote": {"expandable"},
}
"""The attributes Telegram reads; the fake refuses any other. (Telegram itself ignores an
unknown attribute; refusing it makes sure our renderer never relies on one.)"""
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|\w+);")
_ATTRIBUTE = re.compile(
    r"""\s*([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=]+)))?"""
)


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id


def _check_attributes(tag: str, source: str, stack: list[str]) -> None:
    """Refuse what Telegram would not read: unknown attributes, a bare ``<span>``, ..."""
    attributes: dict[str, str] = {}
    position = 0
    while position < len(source.rstrip()):
        match = _ATTRIBUTE.match(source, position)
        if match is None or match.end() == position:
            raise ApiError(400, f"Bad Request: can't parse entities: bad attributes in <{tag}>")
        name = match.group(1).lower()
        if name not in _ATTRIBUTES.get(tag, set()):
            raise ApiError(
                400, f"Bad Request: can't parse entities: unsupported attribute {name!r} in <{tag}>"
            )
        attributes[name] = next((g for g in match.groups()[1:] if g is not None), "")
        position = match.end()
    if tag == "a" and not attributes.get("href"):
        raise ApiError(400, "Bad Request: can't parse entities: <a> without href")
    if tag == "span" and attributes.get("class") != "tg-spoiler":
        raise ApiError(
            400, 'Bad Request: can\'t parse entities: Tag "span" must have class "tg-spoiler"'
        )
    if (
        tag == "code"
        and "class" in attributes
        and (not attributes["class"].startswith("language-") or stack[-1:] != ["pre"])
    ):
        raise ApiError(400, "Bad Request: can't parse entities: code class outside <pre>")
    if tag == "tg-emoji" and not attributes.get("emoji-id", "").isdecimal():
        raise ApiError(400, "Bad Request: can't parse entities: tg-emoji without emoji-id")


def parse_html(text: str) -> str:
    """The text Telegram keeps from a ``parse_mode=HTML`` message, or ``ApiError`` 400."""
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        chunk = text[position : match.start()]
        for bad in "<>&":
            if bad in chunk:
                raise ApiError(
                    400,
                    f"Bad Request: can't parse entities: unsupported character {bad!r} at "
                    f"byte offset {position + chunk.index(bad)}",
                )
        out.append(chunk)
        position = match.end()
        if match.group(4) is not None:
            out.append(html.unescape(match.group(0)))
            continue
        closing, tag = match.group(1), match.group(2).lower()
        if tag not in _ALLOWED_TAGS:
            raise ApiError(400, f"Bad Request: can't parse entities: unsupported tag {tag!r}")
        if closing:
            if not stack or stack.pop() != tag:
                raise ApiError(400, f"Bad Request: can't parse entities: unmatched </{tag}>")
        else:
            _check_attributes(tag, match.group(3), stack)
            stack.append(tag)
    rest = text[position:]
    if any(bad in rest for bad in "<>&"):
        raise ApiError(400, "Bad Request: can't parse entities: unsupported character")
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed <{stack[-1]}>")
    out.append(rest)
    return "".join(out)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class TgUser:
    id: int
    first_name: str
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class TgChat:
    id: int
    type: str
    title: str = ""
    forum: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.title
        else:
            data["title"] = self.title
        if self.forum:
            data["is_forum"] = True
        return data


@dataclass
class Sent:
    """A message the bot sent, as Telegram stored it."""

    chat_id: int
    message_id: int
    text: str
    raw: str
    thread: int | None
    buttons: list[list[dict[str, Any]]]
    reply_to: int | None
    photo: bool
    at: float
    data: dict[str, Any]
    document: tuple[str, bytes] | None = None
    """A file sent as a document: its name and its bytes."""

    def payloads(self) -> list[str]:
        return [b["callback_data"] for row in self.buttons for b in row]


@dataclass
class FakeTelegram:
    token: str = TOKEN
    username: str = BOT_USERNAME
    users: dict[int, TgUser] = field(default_factory=dict)
    chats: dict[int, TgChat] = field(default_factory=dict)
    started: set[int] = field(default_factory=set)
    blocked: set[int] = field(default_factory=set)
    kicked: set[int] = field(default_factory=set)
    """Groups the bot was removed from."""
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    rejected: list[tuple[str, int | None, int, str]] = field(default_factory=list)
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    callbacks: dict[str, bool] = field(default_factory=dict)
    """Callback query id → answered yet."""
    webhook: tuple[str, str] | None = None
    webhook_answers: list[int] = field(default_factory=list)
    flood: dict[int, int] = field(default_factory=dict)
    """Chat id → a ``retry_after`` the next send to it gets (a one-time injected 429)."""
    edits: int = 0
    migrated: dict[int, int] = field(default_factory=dict)
    """Group id → the supergroup it was upgraded to; sends to the group are refused."""
    webhook_connections: int = 40
    """``max_connections`` of the last ``setWebhook``: updates POSTed at once at most."""
    webhook_peak: int = 0
    """The most updates that were in flight to the webhook at once."""
    files: dict[str, bytes] = field(default_factory=dict)
    """File id → the bytes of a photo or document someone sent, for ``getFile`` and its
    download (up to ``MAX_DOWNLOAD``)."""
    downloaded: list[str] = field(default_factory=list)
    """File ids whose bytes were downloaded, in order."""
    url: str = ""

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(700_000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._query_ids = itertools.count(9_000_000_000)
        self._global: deque[float] = deque()
        self._last_to_chat: dict[int, float] = {}
        self._group: dict[int, deque[float]] = {}
        self._changed = asyncio.Condition()
        self._new_update = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._client: ClientSession | None = None

    # -- server --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)  # bots upload files to 50 MB
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._client = ClientSession(timeout=ClientTimeout(total=5))
        self._pusher = asyncio.create_task(self._push())

    async def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        try:
            params = await self._params(request)
            self.calls.append((method, params))
            handler = getattr(self, "m_" + method.lower(), None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as error:
            return self._error(error, method, params)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _error(
        self, error: ApiError, method: str = "", params: dict[str, Any] | None = None
    ) -> web.Response:
        chat = (params or {}).get("chat_id")
        self.rejected.append(
            (method, int(chat) if chat is not None else None, error.code, error.description)
        )
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        if error.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": error.migrate_to_chat_id}
        return web.json_response(body, status=error.code)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        """Query string, form (urlencoded or multipart) or JSON body, as Telegram accepts."""
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: body must be an object")
            params.update(body)
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                else:
                    params[key] = value.file.read()
                    params[f"{key}.filename"] = value.filename
        return params

    # -- what tests do -------------------------------------------------------------------

    def user(self, user_id: int, name: str) -> TgUser:
        self.users[user_id] = TgUser(user_id, name, name.lower())
        self.chats[user_id] = TgChat(user_id, "private", name)
        return self.users[user_id]

    def group(self, chat_id: int, title: str, *, forum: bool = False) -> TgChat:
        kind = "supergroup" if forum or chat_id < -1_000_000_000_000 else "group"
        self.chats[chat_id] = TgChat(chat_id, kind, title, forum)
        return self.chats[chat_id]

    def _message(
        self, chat: TgChat, sender: dict[str, Any] | None, message_id: int, **extra: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.to_dict(),
        }
        if sender is not None:
            data["from"] = sender
        data.update({k: v for k, v in extra.items() if v is not None})
        return data

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def say(
        self,
        user: TgUser,
        text: str,
        *,
        chat: TgChat | None = None,
        thread: int | None = None,
        reply_to: Sent | None = None,
    ) -> dict[str, Any]:
        """``user`` writes ``text`` in ``chat`` (their private chat with the bot by default)."""
        place = chat or self.chats[user.id]
        if place.type == "private":
            self.started.add(user.id)
            self.blocked.discard(user.id)
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split()[0])
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if thread is not None:
            extra["message_thread_id"] = thread
            extra["is_topic_message"] = True
        if reply_to is not None:
            extra["reply_to_message"] = reply_to.data
        message = self._message(place, user.to_dict(), self._next_message_id(place.id), **extra)
        return self.push({"message": message})

    def press(self, user: TgUser, sent: Sent, payload: str) -> dict[str, Any]:
        """``user`` taps the button of ``sent`` whose callback data is ``payload``."""
        assert payload in sent.payloads(), (payload, sent.payloads())
        query_id = str(next(self._query_ids))
        self.callbacks[query_id] = False
        return self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "chat_instance": f"ci{sent.chat_id}",
                    "message": sent.data,
                    "data": payload,
                }
            }
        )

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._new_update.set()
        return update

    def migrate(self, group: TgChat, new_id: int, by: TgUser) -> TgChat:
        """``by`` upgrades ``group`` to a supergroup: it gets ``new_id``, and the service
        messages ``migrate_to_chat_id`` (in the old group) and ``migrate_from_chat_id`` (in the
        new one) are sent, as Telegram does."""
        supergroup = TgChat(new_id, "supergroup", group.title)
        self.chats[new_id] = supergroup
        self.migrated[group.id] = new_id
        old = self._message(
            group, by.to_dict(), self._next_message_id(group.id), migrate_to_chat_id=new_id
        )
        self.push({"message": old})
        new = self._message(
            supergroup,
            by.to_dict(),
            self._next_message_id(new_id),
            migrate_from_chat_id=group.id,
        )
        self.push({"message": new})
        return supergroup

    def block(self, user: TgUser) -> None:
        self.blocked.add(user.id)

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    async def wait(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds after some API call (or fail after ``timeout``)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    async def reply(self, chat_id: int, after: int, timeout: float = 10.0) -> Sent:
        """The first message to ``chat_id`` beyond the ``after`` already there."""
        await self.wait(lambda: len(self.to(chat_id)) > after, timeout)
        return self.to(chat_id)[after]

    # -- updates -------------------------------------------------------------------------

    async def m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
        return self.updates[:limit]

    async def m_setwebhook(self, params: dict[str, Any]) -> bool:
        secret = str(params.get("secret_token", ""))
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = int(params.get("max_connections", 40) or 40)
        if not 1 <= connections <= 100:
            raise ApiError(400, "Bad Request: max_connections must be 1-100")
        self.webhook = (str(params["url"]), secret)
        self.webhook_connections = connections
        self._new_update.set()
        return True

    async def m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if str(params.get("drop_pending_updates", "")).lower() == "true":
            self.updates.clear()
        return True

    async def _push(self) -> None:
        """Webhook delivery: up to ``max_connections`` updates at once, oldest first, each
        retried until answered 2xx (so with more than one, a later update may overtake)."""
        flying: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                waiting = [u for u in self.updates if u["update_id"] not in flying]
                if self.webhook is None or not waiting or len(flying) >= self.webhook_connections:
                    self._new_update.clear()
                    await self._new_update.wait()
                    continue
                update = waiting[0]
                task = asyncio.create_task(self._post(update, self.webhook))
                flying[update["update_id"]] = task
                self.webhook_peak = max(self.webhook_peak, len(flying))
                task.add_done_callback(self._landed(flying, update["update_id"]))
        finally:
            for task in list(flying.values()):
                task.cancel()

    def _landed(
        self, flying: dict[int, asyncio.Task[None]], key: int
    ) -> Callable[[asyncio.Task[None]], None]:
        def done(_: asyncio.Task[None]) -> None:
            flying.pop(key, None)
            self._new_update.set()

        return done

    async def _post(self, update: dict[str, Any], webhook: tuple[str, str]) -> None:
        assert self._client is not None
        url, secret = webhook
        headers = {SECRET_HEADER: secret} if secret else {}
        try:
            async with self._client.post(url, json=update, headers=headers) as response:
                status = response.status
        except Exception:
            status = 0
        self.webhook_answers.append(status)
        if 200 <= status < 300 and update in self.updates:
            self.updates.remove(update)
        async with self._changed:
            self._changed.notify_all()
        if not 200 <= status < 300:
            await asyncio.sleep(0.1)

    # -- the bot -------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        """``https://api.telegram.org/file/bot<token>/<file_path>``, as ``getFile`` named it."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rpartition("/")[2]
        if file_id not in self.files or len(self.files[file_id]) > MAX_DOWNLOAD:
            return web.Response(status=404)
        self.downloaded.append(file_id)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    async def m_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(self.files[file_id]) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        folder = "photos" if file_id.startswith("photo") else "documents"
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"{folder}/{file_id}",
        }

    def send_photo(self, user: TgUser, data: bytes, caption: str = "") -> dict[str, Any]:
        """``user`` sends a photo in their private chat (three sizes, as Telegram stores it)."""
        place = self.chats[user.id]
        message_id = self._next_message_id(place.id)
        sizes = []
        for n, side in enumerate((90, 320, 800)):
            file_id = f"photo{message_id}-{n}"
            self.files[file_id] = data if side == 800 else data[:10]
            sizes.append(
                {"file_id": file_id, "file_unique_id": f"u{file_id}", "width": side,
                 "height": side, "file_size": len(self.files[file_id])}
            )  # fmt: skip
        extra: dict[str, Any] = {"photo": sizes, "caption": caption or None}
        message = self._message(place, user.to_dict(), message_id, **extra)
        return self.push({"message": message})

    def send_document(
        self,
        user: TgUser,
        data: bytes,
        name: str | None,
        mime: str | None,
        *,
        caption: str = "",
        chat: TgChat | None = None,
        size: int | None = None,
        tell_size: bool = True,
    ) -> dict[str, Any]:
        """``user`` sends ``data`` as a file (a ``document``) in ``chat``, their private chat
        by default. The message tells ``size`` as its ``file_size`` (the real size unless
        given), or none without ``tell_size`` (the field is optional in the Bot API)."""
        place = chat or self.chats[user.id]
        if place.type == "private":
            self.started.add(user.id)
            self.blocked.discard(user.id)
        message_id = self._next_message_id(place.id)
        file_id = f"doc{place.id}-{message_id}"
        self.files[file_id] = data
        document: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}"}
        if name is not None:
            document["file_name"] = name
        if mime is not None:
            document["mime_type"] = mime
        if tell_size:
            document["file_size"] = len(data) if size is None else size
        extra: dict[str, Any] = {"document": document, "caption": caption or None}
        message = self._message(place, user.to_dict(), message_id, **extra)
        return self.push({"message": message})

    async def m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Branch Bot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def m_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = _json(params.get("commands"))
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description must be 1-256 characters")
        scope = _json(params.get("scope")) or {"type": "default"}
        key = scope["type"]
        if key == "chat":
            chat = int(scope["chat_id"])
            if chat not in self.chats or (chat > 0 and chat not in self.started):
                raise ApiError(400, "Bad Request: chat not found")
            key = f"chat:{chat}"
        self.commands[(key, str(params.get("language_code", "")))] = commands
        return True

    async def m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query = str(params.get("callback_query_id", ""))
        if self.callbacks.get(query, True):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callbacks[query] = True
        return True

    async def m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = str(params.get("text", ""))
        text = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._deliver(params, text, raw, photo=False)

    async def m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, bytes) or not photo:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        raw = str(params.get("caption", ""))
        text = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if utf16(text) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        return self._deliver(params, text, raw, photo=True)

    async def m_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        if not isinstance(document, bytes) or not document:
            raise ApiError(400, "Bad Request: there is no document in the request")
        if len(document) > 50 * 1024 * 1024:
            raise ApiError(413, "Request Entity Too Large")
        raw = str(params.get("caption", ""))
        text = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if utf16(text) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        name = str(params.get("document.filename") or "document")
        return self._deliver(params, text, raw, photo=False, document=(name, document))

    async def m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        target = next(
            (s for s in self.sent if s.chat_id == chat_id and s.message_id == message_id), None
        )
        if target is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if target.photo or target.document is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw = str(params.get("text", ""))
        text = parse_html(raw) if params.get("parse_mode") == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _json(params.get("reply_markup")) or {}
        buttons = self._buttons(markup)
        if text == target.text and buttons == target.buttons:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._check_limits(self.chats[chat_id])
        target.text, target.raw, target.buttons = text, raw, buttons
        target.data = {**target.data, "text": text, "edit_date": int(time.time())}
        target.data.pop("reply_markup", None)
        if markup:
            target.data["reply_markup"] = markup
        self.edits += 1
        return target.data

    @staticmethod
    def _buttons(markup: dict[str, Any]) -> list[list[dict[str, Any]]]:
        buttons: list[list[dict[str, Any]]] = markup.get("inline_keyboard", [])
        for row in buttons:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return buttons

    def _deliver(
        self,
        params: dict[str, Any],
        text: str,
        raw: str,
        photo: bool,
        document: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self.migrated[chat_id],
            )
        if chat_id in self.kicked:
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.type == "private":
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        markup = _json(params.get("reply_markup")) or {}
        buttons = self._buttons(markup)
        thread = params.get("message_thread_id")
        thread = int(thread) if thread not in (None, "") else None
        if thread is not None and not chat.forum:
            raise ApiError(400, "Bad Request: message thread not found")
        reply = _json(params.get("reply_parameters")) or {}
        self._check_limits(chat)
        message_id = self._next_message_id(chat_id)
        extra: dict[str, Any] = {"reply_markup": markup or None}
        if photo:
            extra["photo"] = [
                {"file_id": f"p{message_id}", "file_unique_id": f"u{message_id}",
                 "width": 100, "height": 100}
            ]  # fmt: skip
            extra["caption"] = text or None
        elif document is not None:
            extra["document"] = {
                "file_id": f"d{message_id}",
                "file_unique_id": f"u{message_id}",
                "file_name": document[0],
                "file_size": len(document[1]),
            }
            extra["caption"] = text or None
        else:
            extra["text"] = text
        if thread is not None:
            extra["message_thread_id"] = thread
            extra["is_topic_message"] = True
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Branch Bot", "username": self.username}
        data = self._message(chat, bot, message_id, **extra)
        self.sent.append(
            Sent(
                chat_id,
                message_id,
                text,
                raw,
                thread,
                buttons,
                reply.get("message_id"),
                photo,
                time.monotonic(),
                data,
                document,
            )
        )
        return data

    def _check_limits(self, chat: TgChat) -> None:
        now = time.monotonic()
        if chat.id in self.flood:
            raise ApiError(
                429,
                f"Too Many Requests: retry after {self.flood[chat.id]}",
                self.flood.pop(chat.id),
            )
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= GLOBAL_PER_SECOND:
            raise ApiError(429, "Too Many Requests: retry after 1", 1)
        last = self._last_to_chat.get(chat.id)
        if last is not None and now - last < CHAT_GAP - JITTER:
            raise ApiError(429, "Too Many Requests: retry after 1", 1)
        if chat.type != "private":
            window = self._group.setdefault(chat.id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= GROUP_PER_MINUTE:
                wait = math.ceil(window[0] + 60.0 - now)
                raise ApiError(429, f"Too Many Requests: retry after {wait}", wait)
            window.append(now)
        self._global.append(now)
        self._last_to_chat[chat.id] = now


def _json(value: Any) -> Any:
    """Form values that are objects arrive as JSON strings; JSON bodies carry them as is."""
    if isinstance(value, str | bytes) and value:
        return json.loads(value)
    return value


@asynccontextmanager
async def running_fake() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def telegram_config(
    database_url: str, fake: FakeTelegram, *, webhook: bool = False, **overrides: Any
) -> dict[str, Any]:
    telegram: dict[str, Any] = {"token": fake.token, "api_url": fake.url, "poll_timeout": 2}
    options: dict[str, Any] = {
        "database_url": database_url,
        "admins": ["telegram:1"],
        "playground": False,
        "default_locale": "en",
        "telegram": telegram,
    }
    if webhook:
        port = free_port()
        options["http"] = {"host": "127.0.0.1", "port": port}
        telegram["mode"] = "webhook"
        telegram["webhook_url"] = f"http://127.0.0.1:{port}/telegram/hook"
    options.update(overrides)
    return options


@asynccontextmanager
async def telegram_bot(
    database_url: str, fake: FakeTelegram, *, webhook: bool = False, **overrides: Any
) -> AsyncIterator[BranchBot]:
    """A bot whose only platform is Telegram, pointed at ``fake``."""
    config = configure(None, **telegram_config(database_url, fake, webhook=webhook, **overrides))
    await migrated(database_url)
    bot = BranchBot(config, serve_http=webhook)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


# -- driving a private chat ------------------------------------------------------------


async def said(
    bot: BranchBot, fake: FakeTelegram, user: TgUser, text: str, **options: object
) -> str:
    before = len(fake.to(user.id))
    fake.say(user, text, **options)  # type: ignore[arg-type]
    await fake.wait(lambda: len(fake.to(user.id)) > before)
    await bot.idle()
    return fake.to(user.id)[-1].text


async def pressed(bot: BranchBot, fake: FakeTelegram, user: TgUser, label: str) -> str:
    for sent in reversed(fake.to(user.id)):
        for row in sent.buttons:
            for button in row:
                if label in button["text"]:
                    seen = (fake.edits, len(fake.to(user.id)))
                    fake.press(user, sent, button["callback_data"])
                    await fake.wait(lambda s=seen: (fake.edits, len(fake.to(user.id))) != s)
                    await bot.idle()
                    return fake.to(user.id)[-1].text
    raise AssertionError(f"no {label!r} for {user.first_name}")
