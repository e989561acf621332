"""Telegram updates as ``Incoming`` events.

Event ids are ``<chat>:<message id>`` for messages and ``cb:<query id>`` for button presses:
both are stable across redeliveries (a restart, a webhook retry), so the core drops a repeat,
and unlike ``update_id`` they never restart after a week without updates.

A message in a forum topic gets the chat id ``<chat>/<topic>``: the topic is the room, so
answers, conversations and room bindings stay in the topic they came from.

A group upgraded to a supergroup gets a new chat id; Telegram says so with a service message
``migrate_to_chat_id`` in the old group, which becomes an event with ``moved_to`` set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Chat as TgChat
from telegram import MaybeInaccessibleMessage, Message, Update

from bot.events import (
    MAX_FILE,
    MAX_IMAGE,
    Chat,
    Incoming,
    Sender,
    clean_text,
    id_problem,
    parse_command,
)

log = logging.getLogger(__name__)

PRIVATE = TgChat.PRIVATE


def chat_key(chat_id: int, thread_id: int | None) -> str:
    return f"{chat_id}/{thread_id}" if thread_id else str(chat_id)


def split_chat_key(key: str) -> tuple[int, int | None]:
    """``"-100123/42"`` → ``(-100123, 42)``; a plain chat id has no topic."""
    chat, _, thread = key.partition("/")
    return int(chat), int(thread) if thread else None


def _place(message: MaybeInaccessibleMessage) -> Chat:
    thread = None
    if isinstance(message, Message) and message.is_topic_message:
        thread = message.message_thread_id
    chat = message.chat
    return Chat(chat_key(chat.id, thread), chat.type == PRIVATE, chat.title or "")


def to_incoming(platform: str, update: Update, bot_username: str) -> Incoming | None:
    """The event for ``update``, or ``None`` for what the bot does not act on (joins,
    stickers, other bots, commands addressed to another bot, edits)."""
    if update.callback_query is not None:
        query = update.callback_query
        if query.message is None or not query.data or query.from_user.is_bot:
            return None
        if id_problem(query.data) is not None:
            return None  # no button of ours carries it (a payload is matched exactly)
        return Incoming(
            platform=platform,
            event_id=f"cb:{query.id}",
            chat=_place(query.message),
            sender=Sender(str(query.from_user.id), query.from_user.full_name),
            choice=query.data,
            reply_to=str(query.message.message_id),
        )
    message = update.message
    if message is not None and message.migrate_to_chat_id:
        place = _place(message)
        who = message.from_user
        return Incoming(
            platform=platform,
            event_id=f"{place.id}:{message.message_id}",
            chat=place,
            sender=Sender(str(who.id), who.full_name) if who else Sender(""),
            moved_to=str(message.migrate_to_chat_id),
        )
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = clean_text(message.text or message.caption or "")
    if not text.strip() and download_of(message) is None:
        return None
    command = parse_command(text, bot_username)
    if command is None and parse_command(text) is not None:
        return None  # /cmd@another_bot
    place = _place(message)
    return Incoming(
        platform=platform,
        event_id=f"{place.id}:{message.message_id}",
        chat=place,
        sender=Sender(str(message.from_user.id), message.from_user.full_name),
        text=text,
        command=command[0] if command else None,
        args=command[1] if command else (),
        reply_to=str(message.message_id),
        replied_to=_replied_to(message, bot_username),
    )


@dataclass(frozen=True, slots=True)
class Download:
    """The file a message carries, to fetch before the event is handed in: a photo (its
    largest size) or a document of any type, and the most bytes fetched of it."""

    file_id: str
    size: int | None
    name: str
    mime: str
    limit: int


def download_of(message: Message | None) -> Download | None:
    """The photo or the document (any file, images too) a message in a private chat carries;
    ``None`` when it has none. Files in groups are people talking to each other: never
    fetched. A photo is held to ``MAX_IMAGE`` as before, a document to ``MAX_FILE``, the most
    a bot may download with ``getFile``."""
    if message is None or message.chat.type != PRIVATE:
        return None
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        name = f"photo-{message.message_id}.jpg"
        return Download(largest.file_id, largest.file_size, name, "image/jpeg", MAX_IMAGE)
    document = message.document
    if document is not None:
        mime = document.mime_type or "application/octet-stream"
        kind = "image" if mime.startswith("image/") else "file"
        name = document.file_name or f"{kind}-{message.message_id}"
        return Download(document.file_id, document.file_size, name, mime, MAX_FILE)
    return None


def _replied_to(message: Message, bot_username: str) -> str | None:
    """The id of the bot's own message this one replies to (a reply to anyone else's is not
    an answer to anything the bot sent). In a forum topic Telegram marks every message as a
    reply to the topic's first message; that is not a reply either."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    if (replied.from_user.username or "").lower() != bot_username.lower():
        return None
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return str(replied.message_id)
