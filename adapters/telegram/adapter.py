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
import html
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
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
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from adapters.telegram.render import MAX_CAPTION, MAX_TEXT, size, split_html
from adapters.telegram.updates import split_chat_key, to_incoming
from bot.events import Incoming
from bot.messages import (
    Address,
    Capabilities,
    EventHandler,
    Outgoing,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
MAX_UPDATE_BODY = 1024 * 1024

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
)
"""Telegram allows about 30 messages a second overall; we plan for 25 so that network jitter
never bunches more than 30 into one second on Telegram's side."""

_UNREACHABLE = (
    "chat not found",
    "user not found",
    "bot was kicked",
    "bot is not a member",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
    "peer_id_invalid",
)


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


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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
        self._progress: dict[str, int] = {}
        """Outbox row id → parts already sent, so a retried long message does not repeat them."""

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
            except RetryAfter as error:
                await asyncio.sleep(_seconds(error))
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
            if updates:
                self.offset = updates[-1].update_id + 1

    async def _take(self, updates: Sequence[Update]) -> None:
        """Hand a batch to the core in order and wait until all of it is committed."""
        events = [event for update in updates if (event := self._event(update)) is not None]
        handle = self.handle
        if events and handle is not None:
            await asyncio.gather(*(handle(event) for event in events))

    def _event(self, update: Update) -> Incoming | None:
        try:
            event = to_incoming(self.name, update, self.username)
        except Exception:
            log.exception("telegram: dropped update %s that could not be read", update.update_id)
            return None
        if update.callback_query is not None:
            task = asyncio.create_task(self._answer(update.callback_query.id))
            self._answers.add(task)
            task.add_done_callback(self._answers.discard)
        return event

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
        await self._take([update])
        return web.Response(status=200)

    # -- out -----------------------------------------------------------------------------

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        try:
            chat_id, thread = split_chat_key(address.chat_id or address.user_id or "")
        except ValueError:
            raise Unreachable(f"not a Telegram chat: {address.chat_id!r}") from None
        parts = split_html(message.text)
        keyboard = (
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(c.label, url=c.url)
                        if c.url
                        else InlineKeyboardButton(c.label, callback_data=c.payload)
                        for c in row
                    ]
                    for row in message.choices
                ]
            )
            if message.choices
            else None
        )
        reply = (
            ReplyParameters(int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to and message.reply_to.isdecimal()
            else None
        )
        done = self._progress.get(message_id, 0)
        sent: Message | None = None
        try:
            if message.edit and message.edit.isdecimal() and not message.image and len(parts) == 1:
                edited = await self._edit(chat_id, int(message.edit), parts[0], keyboard)
                if edited is not None:
                    return edited
            if message.image is not None and done == 0:
                caption = parts.pop(0) if parts and size(parts[0]) <= MAX_CAPTION else None
                sent = await self.bot.send_photo(
                    chat_id,
                    message.image.data,
                    caption=caption,
                    parse_mode=ParseMode.HTML if caption else None,
                    reply_markup=None if parts else keyboard,
                    message_thread_id=thread,
                    reply_parameters=reply,
                )
                reply = None
                done = self._progress[message_id] = 1
            offset = 1 if message.image is not None else 0
            for index, part in enumerate(parts):
                if index + offset < done:
                    continue
                if index + offset > 0:
                    await asyncio.sleep(self.capabilities.chat_interval)
                sent = await self._send_text(
                    chat_id,
                    part,
                    keyboard if index == len(parts) - 1 else None,
                    thread,
                    reply if index == 0 else None,
                )
                done = self._progress[message_id] = index + offset + 1
        except RetryAfter as error:
            # 1/s per private chat is kept by the limiter, so a 429 there means the whole
            # account's budget; in a group it is most likely the group's 20 a minute.
            raise RetryLater(_seconds(error), whole_account=chat_id > 0) from error
        except (Forbidden, ChatMigrated) as error:
            self._progress.pop(message_id, None)
            raise Unreachable(str(error)) from error
        except BadRequest as error:
            self._progress.pop(message_id, None)
            if any(phrase in error.message.lower() for phrase in _UNREACHABLE):
                raise Unreachable(error.message) from error
            log.error("telegram: Telegram refused outbox row %s: %s", message_id, error)
            raise Unreachable(f"refused: {error.message}") from error
        except (NetworkError, InvalidToken, Conflict) as error:
            raise TransientError(str(error)) from error
        self._progress.pop(message_id, None)
        if sent is None:
            raise Unreachable("nothing to send: empty text and no image")
        return SentRef(str(sent.message_id))

    async def _edit(
        self, chat_id: int, target: int, text: str, keyboard: InlineKeyboardMarkup | None
    ) -> SentRef | None:
        """Rewrite our earlier message; ``None`` when it cannot be, so a new one is sent."""
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=target,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
            )
        except BadRequest as error:
            reason = error.message.lower()
            if "not modified" in reason:  # a second press on the same button: already shown
                return SentRef(str(target))
            if "not found" in reason or "can't be edited" in reason:
                return None
            raise
        return SentRef(str(target))

    async def _send_text(
        self,
        chat_id: int,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
        thread: int | None,
        reply: ReplyParameters | None,
    ) -> Message:
        try:
            return await self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                message_thread_id=thread,
                reply_parameters=reply,
            )
        except BadRequest as error:
            if "can't parse entities" not in error.message.lower():
                raise
            log.error("telegram: HTML refused (%s); sending as plain text", error)
            return await self.bot.send_message(
                chat_id,
                html.unescape(_TAG.sub("", text)),
                reply_markup=keyboard,
                message_thread_id=thread,
                reply_parameters=reply,
            )
