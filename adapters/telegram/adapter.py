"""Telegram through python-telegram-bot's ``Bot``: long polling or webhook in, Bot API out.

We drive polling ourselves with ``bot.get_updates`` rather than PTB's ``Application``/``Updater``:
the core already owns dispatch, concurrency and persistence, and owning the loop lets us move
the offset on only after the core has committed every update of a batch. Telegram forgets
updates below the offset we send, so a restart neither re-processes confirmed updates nor misses
unconfirmed ones; anything redelivered after a crash is dropped by the core's event-id check.

In webhook mode the updates arrive on branchbot's own HTTP server (``routes()``) and are
answered 200 only once committed, so Telegram retries anything we did not take in.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from adapters.telegram.render import MAX_TEXT
from adapters.telegram.sending import Sender, retry_seconds
from adapters.telegram.updates import Download, download_of, to_incoming
from bot.events import Attachment, Incoming
from bot.messages import (
    Address,
    Capabilities,
    EngineStopped,
    EventHandler,
    Outgoing,
    SentRef,
)

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
MAX_UPDATE_BODY = 1024 * 1024
WEBHOOK_CONNECTIONS = 1
"""Telegram POSTs up to ``max_connections`` updates at once (40 unless told). Two messages of
one person sent in parallel could reach the core in either order, so we take one at a time:
each POST is answered as soon as its event is committed, a few milliseconds."""

CAPABILITIES = Capabilities(
    buttons=True,
    edits=True,
    images=True,
    threads=True,
    can_open_dm=False,
    max_text_length=MAX_TEXT,
    messages_per_second=25.0,
    chat_interval=1.0,
    group_messages_per_minute=20,
    topic_separator="/",
)
"""Telegram allows about 30 messages a second overall; we plan for 25 so that network jitter
never bunches more than 30 into one second on Telegram's side."""


@dataclass(frozen=True, slots=True)
class CommandMenu:
    """One "/" menu: the commands shown in ``scope`` to people whose app speaks ``language``.

    ``scope`` is ``private``, ``groups`` (every group member), ``group_admins`` (what
    secretaries, usually the group's administrators, need) or a numeric user id (that person's
    private chat: the organisation's admins). ``language`` ``None`` is the default menu.
    """

    scope: str
    language: str | None
    commands: tuple[tuple[str, str], ...]


def default_secret(token: str) -> str:
    """A webhook secret derived from the token, stable across restarts (``[A-Za-z0-9_-]``)."""
    return hashlib.sha256(b"branchbot-webhook:" + token.encode()).hexdigest()


def _scope(scope: str) -> BotCommandScope:
    if scope == "private":
        return BotCommandScopeAllPrivateChats()
    if scope == "groups":
        return BotCommandScopeAllGroupChats()
    if scope == "group_admins":
        return BotCommandScopeAllChatAdministrators()
    return BotCommandScopeChat(int(scope))


class TelegramAdapter:
    """The ``telegram`` adapter. ``webhook_url`` set: webhook mode; otherwise long polling."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 30,
        menus: Sequence[CommandMenu] = (),
        name: str = "telegram",
    ) -> None:
        self.name = name
        self.capabilities = CAPABILITIES
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret or default_secret(token)
        self.poll_timeout = poll_timeout
        self.menus = tuple(menus)
        base = api_url.rstrip("/")
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(connection_pool_size=32),
        )
        self.username = ""
        self.handle: EventHandler | None = None
        self.offset: int | None = None
        self._poller: asyncio.Task[None] | None = None
        self._answers: set[asyncio.Task[None]] = set()
        self.sender = Sender(self.bot, CAPABILITIES.chat_interval)

    @property
    def webhook_path(self) -> str:
        """Where Telegram POSTs updates on our server: the path of ``webhook_url``."""
        return urlsplit(self.webhook_url or "").path or "/telegram"

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.webhook_path, self.receive)]

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, handle: EventHandler) -> None:
        """``getMe``, the "/" menus, then ``setWebhook`` or the polling loop."""
        await self.bot.initialize()
        self.username = self.bot.username
        self.capabilities = dataclasses.replace(
            CAPABILITIES, deep_link=f"https://t.me/{self.username}?start={{payload}}"
        )
        for menu in self.menus:
            try:
                await self.bot.set_my_commands(
                    [BotCommand(name, description) for name, description in menu.commands],
                    scope=_scope(menu.scope),
                    language_code=menu.language,
                )
            except TelegramError as error:  # an admin who never opened a chat with the bot
                log.warning(
                    "telegram: menu for %s/%s not set: %s", menu.scope, menu.language, error
                )
        self.handle = handle
        if self.webhook_url:
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
                max_connections=WEBHOOK_CONNECTIONS,
            )
            log.info("telegram: @%s receives updates at %s", self.username, self.webhook_url)
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram:poll")
            log.info("telegram: @%s is polling", self.username)

    async def stop(self) -> None:
        self.handle = None
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
            await self._confirm()
        if self._answers:
            await asyncio.gather(*self._answers, return_exceptions=True)
        await self.bot.shutdown()

    async def _confirm(self) -> None:
        """Tell Telegram which updates we took in, so a restart does not fetch them again."""
        if self.offset is None:
            return
        try:
            await self.bot.get_updates(offset=self.offset, limit=1, timeout=0)
        except TelegramError as error:
            log.warning("telegram: could not confirm updates on stop: %s", error)

    # -- in ------------------------------------------------------------------------------

    async def _poll(self) -> None:
        delay = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset,
                    timeout=self.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
                await self._take(updates)
            except asyncio.CancelledError:
                raise
            except EngineStopped:
                log.info("telegram: stopping; updates not taken in are left to the next start")
                return
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
                continue
            except (Conflict, InvalidToken) as error:
                log.error("telegram: polling refused: %s", error)
                await asyncio.sleep(30.0)
                continue
            except Exception as error:
                log.warning("telegram: polling failed, retrying in %gs: %s", delay, error)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
                continue
            delay = 1.0

    async def _take(self, updates: Sequence[Update]) -> None:
        """Hand a batch to the core and wait until it is committed; then move the offset on.

        The offset moves past every update before the first one the core did not take (whose
        error is raised), so that one and the rest come again; the core drops the repeats.
        """
        if not updates:
            return
        handle = self.handle
        if handle is None:
            raise EngineStopped("telegram: not started, or stopping")
        events = await asyncio.gather(*(self._event(update) for update in updates))
        taken = list(zip(updates, events, strict=True))
        results = await asyncio.gather(
            *(handle(event) for _, event in taken if event is not None), return_exceptions=True
        )
        errors = iter(results)
        for update, event in taken:
            result = next(errors) if event is not None else None
            if isinstance(result, BaseException):
                self.offset = update.update_id
                raise result
        self.offset = updates[-1].update_id + 1

    async def _event(self, update: Update) -> Incoming | None:
        try:
            event = to_incoming(self.name, update, self.username)
        except Exception:
            log.exception("telegram: dropped update %s that could not be read", update.update_id)
            return None
        download = download_of(update.message)
        if event is not None and download is not None:
            event = await self._with_download(event, download)
        if update.callback_query is not None:
            task = asyncio.create_task(self._answer(update.callback_query.id))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)
        return event

    async def _with_download(self, event: Incoming, download: Download) -> Incoming | None:
        """The event with the photo's or document's bytes (the core never talks to a platform).
        One over its limit (``MAX_IMAGE`` for a photo, ``MAX_FILE`` for a document: as the
        message, then ``getFile``, then the bytes say), or one that cannot be fetched now, is
        left out: the caption still goes in, and without one the event is dropped with a log
        line."""
        kept = event if event.text.strip() else None
        if _over(download, download.size):
            return kept
        try:
            file = await self.bot.get_file(download.file_id)
            if _over(download, file.file_size):
                return kept
            data = bytes(await file.download_as_bytearray())
        except BadRequest as error:
            # "file is too big": over the 20 MB a bot may download, whatever the message said.
            log.info("telegram: could not fetch %s: %s", download.name, error)
            return kept
        except TelegramError as error:
            log.warning("telegram: could not fetch %s: %s", download.name, error)
            return kept
        if _over(download, len(data)):
            return kept
        return dataclasses.replace(event, attachment=Attachment(download.name, download.mime, data))

    async def _answer(self, query_id: str) -> None:
        """Every press is answered at once, whatever comes of it: no spinning button."""
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as error:
            log.info("telegram: answerCallbackQuery failed: %s", error)

    async def receive(self, request: web.Request) -> web.Response:
        """Webhook mode: one update per POST, checked against the secret header."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self.webhook_secret.encode()
        ):
            return web.Response(status=401)
        if self.handle is None:
            return web.Response(status=503)
        if request.content_length is not None and request.content_length > MAX_UPDATE_BODY:
            return web.Response(status=413)
        try:
            data: Any = await request.json()
            update = Update.de_json(data, self.bot)
        except Exception as error:
            log.warning("telegram: dropped a malformed webhook update: %s", error)
            return web.Response(status=200)
        try:
            await self._take([update])
        except EngineStopped:
            return web.Response(status=503)  # Telegram sends it again
        return web.Response(status=200)

    # -- out -----------------------------------------------------------------------------

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        """One outbox row (``sending.Sender`` has the details)."""
        return await self.sender.send(address, message, message_id)


def _over(download: Download, size: int | None) -> bool:
    """Whether ``size`` (when known) is over the download's limit; said in the log if so."""
    if size is None or size <= download.limit:
        return False
    log.info("telegram: %s of %d bytes is over the download limit", download.name, size)
    return True
