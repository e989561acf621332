"""Sending one outbox row to Telegram: an edit, a photo or a file, one or more text parts.

A row is one ``Outgoing``, but may become several Telegram messages (a photo whose caption is
the first part of the text, then the rest; a long text in parts a second apart). When a later
part fails with a 429 or a network error, the row is retried; ``Progress`` remembers what of it
is already out, so the retry sends only the rest, never the caption or a part a second time.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from adapters.telegram.render import MAX_CAPTION, size, split_html
from adapters.telegram.updates import chat_key, split_chat_key
from bot.messages import (
    Address,
    ChatMoved,
    Outgoing,
    Refusal,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")

_GONE = ("chat not found", "user not found", "peer_id_invalid")
"""Bad Request answers that mean the chat or the person is not there (any more)."""
_FORBIDDEN = (
    "bot was kicked",
    "bot is not a member",
    "not enough rights",
    "have no rights",
    "chat_write_forbidden",
)
"""Bad Request answers that mean the bot may not write in the chat."""
_BLOCKED = ("blocked", "deactivated")
"""Forbidden answers that are the person's doing: they blocked the bot or closed the account
(any other Forbidden is the bot not being allowed there: kicked, never started)."""
_NOT_EDITABLE = ("not found", "can't be edited", "there is no text in the message")
"""Edit refusals answered with a new message: the message is gone, too old, or a photo (whose
caption ``editMessageText`` cannot touch)."""


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(slots=True)
class Progress:
    """What of one outbox row Telegram already has, kept between attempts."""

    done: int = 0
    """Messages sent: the photo (if any) counts as the first."""
    captioned: bool = False
    """The photo carried the text's first part as its caption: that part is not sent again."""


def keyboard(message: Outgoing) -> InlineKeyboardMarkup | None:
    if not message.choices:
        return None
    return InlineKeyboardMarkup(
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


@dataclass
class Sender:
    """Sends rows through ``bot``, one message per ``chat_interval`` within a row."""

    bot: Bot
    chat_interval: float
    progress: dict[str, Progress] = field(default_factory=dict)
    """Outbox row id → what of it is out, while it is being retried."""

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        try:
            chat_id, thread = split_chat_key(address.chat_id or address.user_id or "")
        except ValueError:
            raise Unreachable(f"not a Telegram chat: {address.chat_id!r}", Refusal.GONE) from None
        progress = self.progress.setdefault(message_id, Progress())
        try:
            ref = await self._send(chat_id, thread, message, progress)
        except RetryAfter as error:
            # 1/s per private chat is kept by the limiter, so a 429 there means the whole
            # account's budget; in a group it is most likely the group's 20 a minute.
            raise RetryLater(retry_seconds(error), whole_account=chat_id > 0) from error
        except ChatMigrated as error:  # keep the progress: the new chat shows the old history
            new = chat_key(int(error.new_chat_id), thread)
            raise ChatMoved(address.chat_id, new) from error
        except Forbidden as error:
            self.progress.pop(message_id, None)
            blocked = any(phrase in error.message.lower() for phrase in _BLOCKED)
            raise Unreachable(
                str(error), Refusal.BLOCKED if blocked else Refusal.FORBIDDEN
            ) from error
        except BadRequest as error:
            self.progress.pop(message_id, None)
            text = error.message.lower()
            if any(phrase in text for phrase in _GONE):
                raise Unreachable(error.message, Refusal.GONE) from error
            if any(phrase in text for phrase in _FORBIDDEN):
                raise Unreachable(error.message, Refusal.FORBIDDEN) from error
            log.error("telegram: Telegram refused outbox row %s: %s", message_id, error)
            raise Unreachable(error.message, Refusal.REFUSED) from error
        except (NetworkError, InvalidToken, Conflict) as error:
            raise TransientError(str(error)) from error
        self.progress.pop(message_id, None)
        return ref

    async def _send(
        self, chat_id: int, thread: int | None, message: Outgoing, progress: Progress
    ) -> SentRef:
        parts = split_html(message.text)
        buttons = keyboard(message)
        reply = (
            ReplyParameters(int(message.reply_to), allow_sending_without_reply=True)
            if message.reply_to and message.reply_to.isdecimal()
            else None
        )
        media = message.image or message.document
        if message.edit and message.edit.isdecimal() and media is None and len(parts) == 1:
            edited = await self._edit(chat_id, int(message.edit), parts[0], buttons)
            if edited is not None:
                return edited
        sent: Message | None = None
        count = 0
        offset = 1 if media is not None else 0
        if media is not None:
            if progress.done == 0:
                progress.captioned = bool(parts) and size(parts[0]) <= MAX_CAPTION
            caption = parts.pop(0) if progress.captioned else None
            if progress.done == 0:
                sent = await self._send_media(
                    chat_id, message, caption, None if parts else buttons, thread, reply
                )
                progress.done, count = 1, 1
            reply = None
        for index, part in enumerate(parts):
            if index + offset < progress.done:
                continue
            if index + offset > 0:
                await asyncio.sleep(self.chat_interval)
            sent = await self._send_text(
                chat_id,
                part,
                buttons if index == len(parts) - 1 else None,
                thread,
                reply if index == 0 else None,
            )
            progress.done = index + offset + 1
            count += 1
        if sent is None:
            raise Unreachable("nothing to send: empty text and no media", Refusal.REFUSED)
        return SentRef(str(sent.message_id), parts=count)

    async def _send_media(
        self,
        chat_id: int,
        message: Outgoing,
        caption: str | None,
        buttons: InlineKeyboardMarkup | None,
        thread: int | None,
        reply: ReplyParameters | None,
    ) -> Message:
        """The image as a photo, or the document as a file under its own name."""
        mode = ParseMode.HTML if caption else None
        if message.image is not None:
            return await self.bot.send_photo(
                chat_id,
                message.image.data,
                caption=caption,
                parse_mode=mode,
                reply_markup=buttons,
                message_thread_id=thread,
                reply_parameters=reply,
            )
        assert message.document is not None
        return await self.bot.send_document(
            chat_id,
            message.document.data,
            filename=message.document.name,
            caption=caption,
            parse_mode=mode,
            reply_markup=buttons,
            message_thread_id=thread,
            reply_parameters=reply,
        )

    async def _edit(
        self, chat_id: int, target: int, text: str, buttons: InlineKeyboardMarkup | None
    ) -> SentRef | None:
        """Rewrite our earlier message; ``None`` when it cannot be, so a new one is sent."""
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=target,
                parse_mode=ParseMode.HTML,
                reply_markup=buttons,
            )
        except BadRequest as error:
            reason = error.message.lower()
            if "not modified" in reason:  # a second press on the same button: already shown
                return SentRef(str(target))
            if any(phrase in reason for phrase in _NOT_EDITABLE):
                return None
            raise
        return SentRef(str(target))

    async def _send_text(
        self,
        chat_id: int,
        text: str,
        buttons: InlineKeyboardMarkup | None,
        thread: int | None,
        reply: ReplyParameters | None,
    ) -> Message:
        try:
            return await self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=buttons,
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
                reply_markup=buttons,
                message_thread_id=thread,
                reply_parameters=reply,
            )
