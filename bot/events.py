"""What comes in: one platform-neutral event per update an adapter receives."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

MAX_ID = 255
"""Ids are keys in the store (``String(255)`` columns): a longer one would make PostgreSQL
raise on every redelivery, so the event is refused instead."""
MAX_IMAGE = 10 * 1024 * 1024
"""Bytes of an image sent *as an image* (a Telegram photo, a Matrix ``m.image``) that an adapter
fetches at most: a phone photo is 1-5 MB, and nothing that takes images wants more (the
mailbox keeps 5 MB unless told). A larger one is not downloaded, and its event keeps only its
caption (without one, nothing is left to take in)."""
MAX_FILE = 20 * 1024 * 1024
"""Bytes of a file sent *as a file* (a Telegram document, a Matrix ``m.file``), of any type,
that an adapter fetches at most, with the same rule as ``MAX_IMAGE`` past it. Files are kept
(a Telegram file id or an ``mxc://`` URL is only lent), and minutes or a scanned PDF are larger
than a photo; 20 MiB is what Telegram's Bot API lets a bot download at all (``getFile``), so
Matrix takes the same and a file is accepted or not whatever platform it came by. A feature
that takes files checks their type and its own, smaller limit itself. The webhook protocol's
``file`` stays within its 64 KiB body, well under this."""
MAX_LABEL = 255
"""Names and titles are cut to this; the store keeps as much (``store.models.MAX_DISPLAY_NAME``,
room titles ``String(255)``), so a name an admin types is the name stored."""


class InvalidText(ValueError):
    """An id no store can hold (NUL, a lone surrogate, too long); the message says which."""


def clean_text(text: str) -> str:
    """``text`` as valid Unicode without NUL: lone surrogates (a JavaScript bridge that cut an
    emoji in half) become U+FFFD, NUL is dropped. Shown text is repaired rather than refused so
    a person is still answered; neither SQLite (UTF-8) nor PostgreSQL (no NUL) can then raise,
    and nothing rendered from it fails to encode. ASCII without NUL, the usual case, costs one
    scan and returns ``text`` itself."""
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "") if "\x00" in text else text


def id_problem(value: str, limit: int = MAX_ID) -> str | None:
    """Why ``value`` cannot be an id, or ``None``. Ids are matched exactly (dedup, chats,
    accounts), so a repaired id would be a different one: such an id is refused, not cleaned."""
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if "\x00" in value:
        return "contains NUL"
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            return "contains a lone surrogate"
    return None


def _plain(value: str) -> bool:
    """ASCII without NUL: valid as it is. The one check an ordinary event pays per field."""
    return value.isascii() and "\x00" not in value


def _check_id(where: str, value: str) -> None:
    if len(value) <= MAX_ID and value.isascii() and "\x00" not in value:
        return  # the usual id, checked inline: this runs several times for every event
    if (problem := id_problem(value)) is not None:
        raise InvalidText(f"{where} {problem}")


def _cleaned(value: str, limit: int) -> str:
    """``value`` repaired and cut to ``limit``; ``value`` itself when it needs neither."""
    if len(value) <= limit and _plain(value):
        return value
    return clean_text(value)[:limit]


@dataclass(frozen=True, slots=True)
class Chat:
    """Where a message was said. ``direct`` chats are one person and the bot."""

    id: str
    direct: bool
    title: str = ""

    def __post_init__(self) -> None:
        _check_id("chat.id", self.id)
        if (title := _cleaned(self.title, MAX_LABEL)) is not self.title:
            object.__setattr__(self, "title", title)


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    name: str = ""

    def __post_init__(self) -> None:
        _check_id("sender.id", self.id)
        if (name := _cleaned(self.name, MAX_LABEL)) is not self.name:
            object.__setattr__(self, "name", name)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file someone sent (a question bank, say). Adapters fetch the bytes before handing the
    event in, so the core never talks to a platform."""

    name: str
    mime: str
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _cleaned(self.name, MAX_LABEL))
        object.__setattr__(self, "mime", _cleaned(self.mime, MAX_LABEL))


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update, already parsed by its adapter.

    ``platform`` is the adapter's name (``telegram``, ``matrix``, ``webhook:lab``); together with
    ``event_id`` it identifies the update, so a redelivered one is dropped by the core.
    """

    platform: str
    event_id: str
    chat: Chat
    sender: Sender
    text: str = ""
    command: str | None = None
    args: tuple[str, ...] = ()
    choice: str | None = None
    reply_to: str | None = None
    thread: str | None = None
    """The platform's id of the thread the message was written in (Matrix ``m.thread`` root)."""
    replied_to: str | None = None
    """The platform's id of the message this one replies to (a Telegram reply to one of the
    bot's messages, a Matrix reply, or a message in a thread: its root), so a feature can take
    the reply back to what the bot's message was about (``Outbox.tag_of``)."""
    received_at: float = field(default_factory=time.time)
    attachment: Attachment | None = None
    moved_to: str | None = None
    """The platform says this chat now has the id ``moved_to`` (a Telegram group upgraded to a
    supergroup). Such an event carries nothing else: the core moves the room binding."""

    def __post_init__(self) -> None:
        """The last line of the edge: whatever an adapter built, no id reaches the store that it
        cannot hold, and no text that cannot be stored or encoded again. Adapters check first
        to give their own reasons. An ordinary event pays one ASCII scan per field."""
        _check_id("id", self.event_id)
        if self.choice is not None:
            _check_id("choice", self.choice)
        if self.reply_to is not None:
            _check_id("reply_to", self.reply_to)
        if self.thread is not None:
            _check_id("thread", self.thread)
        if self.replied_to is not None:
            _check_id("replied_to", self.replied_to)
        if self.moved_to is not None:
            _check_id("moved_to", self.moved_to)
        if not _plain(self.text):
            object.__setattr__(self, "text", clean_text(self.text))
        if self.args and not _plain("".join(self.args)):
            cleaned = (clean_text(arg) for arg in self.args)
            object.__setattr__(self, "args", tuple(arg for arg in cleaned if arg))
        if self.command is not None and not _plain(self.command):
            object.__setattr__(self, "command", clean_text(self.command))

    @property
    def identity(self) -> str:
        """The platform-qualified id of the sender, as admins are written in the config."""
        return f"{self.platform}:{self.sender.id}"


_COMMAND = re.compile(
    r"^/(?P<name>[A-Za-z][A-Za-z0-9_]{0,31})(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+|$)"
)


def parse_command(text: str, bot_username: str | None = None) -> tuple[str, tuple[str, ...]] | None:
    """Split ``/cmd@bot arg1 arg2`` into ``("cmd", ("arg1", "arg2"))``.

    A command addressed to another bot (``/help@otherbot``) is not ours and yields ``None``.
    """
    stripped = text.strip()
    match = _COMMAND.match(stripped)
    if match is None:
        return None
    addressed = match.group("bot")
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    rest = stripped[match.end() :]
    return match.group("name").lower(), tuple(rest.split())
