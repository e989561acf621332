"""What comes in: one platform-neutral event per update an adapter receives."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Chat:
    """Where a message was said. ``direct`` chats are one person and the bot."""

    id: str
    direct: bool
    title: str = ""


@dataclass(frozen=True, slots=True)
class Sender:
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file someone sent (a question bank, say). Adapters fetch the bytes before handing the
    event in, so the core never talks to a platform."""

    name: str
    mime: str
    data: bytes = field(repr=False)


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
