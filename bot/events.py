"""What comes in: one platform-neutral event per update an adapter receives."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

MAX_ID = 255
"""Ids are keys in the store (``String(255)`` columns): a longer one would make PostgreSQL
raise on every redelivery, so the event is refused instead."""
MAX_LABEL = 255
"""Names and titles are shown, not matched: a longer one is cut (the store keeps 128/255)."""


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


def _check_id(where: str, value: str | None) -> None:
    if value is not None and (problem := id_problem(value)) is not None:
        raise InvalidText(f"{where} {problem}")


def _set_clean(record: object, name: str, limit: int | None = None) -> None:
    """Replace a frozen field by its cleaned (and cut) value, only when that changes it."""
    value: str | None = getattr(record, name)
    if value is None:
        return
    cleaned = clean_text(value)
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[:limit]
    if cleaned is not value:
        object.__setattr__(record, name, cleaned)


@dataclass(frozen=True, slots=True)
class Chat:
    """Where a message was said. ``direct`` chats are one person and the bot."""

    id: str
    direct: bool
    title: str = ""

    def __post_init__(self) -> None:
        _check_id("chat.id", self.id)
        _set_clean(self, "title", MAX_LABEL)


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    name: str = ""

    def __post_init__(self) -> None:
        _check_id("sender.id", self.id)
        _set_clean(self, "name", MAX_LABEL)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file someone sent (a question bank, say). Adapters fetch the bytes before handing the
    event in, so the core never talks to a platform."""

    name: str
    mime: str
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _set_clean(self, "name", MAX_LABEL)
        _set_clean(self, "mime", MAX_LABEL)


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
    received_at: float = field(default_factory=time.time)
    attachment: Attachment | None = None
    moved_to: str | None = None
    """The platform says this chat now has the id ``moved_to`` (a Telegram group upgraded to a
    supergroup). Such an event carries nothing else: the core moves the room binding."""

    def __post_init__(self) -> None:
        """The last line of the edge: whatever an adapter built, no id reaches the store that it
        cannot hold, and no text that cannot be stored or encoded again. Adapters check first
        to give their own reasons; this costs about a microsecond per event."""
        _check_id("id", self.event_id)
        _check_id("choice", self.choice)
        _check_id("reply_to", self.reply_to)
        _check_id("thread", self.thread)
        _check_id("moved_to", self.moved_to)
        _set_clean(self, "text")
        if self.args:
            args = tuple(clean_text(arg) for arg in self.args)
            if args != self.args:
                object.__setattr__(self, "args", args)
        _set_clean(self, "command")

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
