"""What goes out, and the contract every adapter implements.

An adapter receives updates and hands ``Incoming`` events to the core; it sends ``Outgoing``
messages to an ``Address`` and reports what happened through its return value or one of the
``DeliveryError`` subclasses below. The core degrades by ``Capabilities``, never by platform name.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from bot.events import Incoming
from bot.markup import Markup

MAX_PAYLOAD_BYTES = 64
"""Telegram's ``callback_data`` limit; every choice payload must fit in it."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. With ``url`` it opens that link instead of sending ``payload`` back (Telegram's
    "open a chat with me" button); such a button carries no payload."""

    label: str
    payload: str
    url: str = ""

    def __post_init__(self) -> None:
        if self.url:
            if self.payload:
                raise ValueError("a link button carries no payload")
            return
        if not self.payload or len(self.payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"choice payload must be 1..{MAX_PAYLOAD_BYTES} bytes: {self.payload!r}"
            )


@dataclass(frozen=True, slots=True)
class Image:
    mime: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Document:
    """A file sent as a file (not shown inline like an ``Image``): its name is what the reader
    saves it as."""

    name: str
    mime: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: Markup
    choices: tuple[tuple[Choice, ...], ...] = ()
    image: Image | None = None
    document: Document | None = None
    """At most one of ``image`` and ``document``: a message carries one piece of media."""
    reply_to: str | None = None
    edit: str | None = None
    """The platform's id of an earlier message of ours that this one replaces (a dialog moving
    its question on after a button press). Only set where the platform has ``edits``."""
    thread: str | None = None
    """Post inside this thread (its root message's platform id) where the platform has threads."""
    answer_at: tuple[str, ...] = ()
    """The ``/start`` payload of the place, in a direct chat, where this message is answered
    (``survey_3``: that survey; ``notice_42``: that notice's "received"): a group that cannot
    take answers links every reader there (``bot.delivery.answer_elsewhere``). A digest of
    several messages has each one's, in order (``bot.delivery.fold``)."""
    numbered: tuple[Choice, ...] = ()
    """Choices already written into ``text`` as numbered lines (no buttons): an adapter may let
    people answer them some other way, such as a reaction. Set by delivery, never stored."""
    ephemeral: bool = False
    """The outbox keeps no text of this message once delivered (``ctx.reply(ephemeral=True)``,
    docs/privacy.md): an adapter that keeps a history (the web chat) must not keep it either.
    Set by delivery, never stored."""

    def __post_init__(self) -> None:
        if self.image is not None and self.document is not None:
            raise ValueError("a message carries an image or a document, not both")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text.to_json()}
        if self.choices:
            data["choices"] = [
                [[c.label, c.payload, c.url] if c.url else [c.label, c.payload] for c in row]
                for row in self.choices
            ]
        if self.image is not None:
            data["image"] = [self.image.mime, base64.b64encode(self.image.data).decode()]
        if self.document is not None:
            document = self.document
            data["document"] = [
                document.name,
                document.mime,
                base64.b64encode(document.data).decode(),
            ]
        if self.reply_to:
            data["reply_to"] = self.reply_to
        if self.edit:
            data["edit"] = self.edit
        if self.thread:
            data["thread"] = self.thread
        if self.answer_at:
            data["answer_at"] = list(self.answer_at)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outgoing:
        image, document = data.get("image"), data.get("document")
        return cls(
            text=Markup.from_json(data["text"]),
            choices=tuple(tuple(Choice(*item) for item in row) for row in data.get("choices", ())),
            image=Image(image[0], base64.b64decode(image[1])) if image else None,
            document=(
                Document(document[0], document[1], base64.b64decode(document[2]))
                if document
                else None
            ),
            reply_to=data.get("reply_to"),
            edit=data.get("edit"),
            thread=data.get("thread"),
            answer_at=tuple(data.get("answer_at", ())),
        )


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: a chat on a platform, and for direct chats the person in it."""

    platform: str
    chat_id: str
    direct: bool = False
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    buttons: bool = True
    link_buttons: bool = False
    """Without ``buttons``, the platform can still show buttons that open a URL (DingTalk's
    action cards, Feishu's cards): a send-only robot that cannot take answers can still offer
    "Open the web chat". ``degrade`` keeps only such link choices in ``Outgoing.choices``."""
    edits: bool = False
    images: bool = True
    documents: bool = True
    """Files sent as files (``Outgoing.document``); where not, delivery names the file instead."""
    threads: bool = False
    native_polls: bool = False
    can_open_dm: bool = True
    read_receipts: bool = False
    max_text_length: int = 4096
    messages_per_second: float | None = None
    """Overall send budget of the bot account; ``None`` is no limit."""
    chat_interval: float = 0.0
    """Seconds between two messages to the same chat."""
    group_messages_per_minute: int | None = None
    deep_link: str | None = None
    """A link that opens a direct chat with the bot and sends ``/start <payload>``; ``{payload}``
    marks where the payload goes (Telegram's ``https://t.me/<bot>?start={payload}``). Read it
    through ``deep_link_for``."""
    topic_separator: str | None = None
    """Chat ids may name a topic inside a chat as ``<chat><separator><topic>`` (Telegram forum
    topics: ``"-100123/42"``). Rate limits belong to the chat, so delivery counts every topic
    of a chat against the chat's one budget."""

    def deep_link_for(self, payload: str) -> str | None:
        """The link that opens a direct chat with the bot and sends ``/start <payload>`` there
        (an invite code, a lesson); ``None`` where the platform has no such links."""
        return self.deep_link.replace("{payload}", payload) if self.deep_link else None


WEB_CHAT = "web"
"""The web direct chat's platform name (``adapters/webchat``)."""


def web_chat_link(capabilities: Callable[[str], Capabilities], payload: str) -> str | None:
    """The link into the web direct chat at ``payload`` (``/start <payload>``: a quiz, a
    survey, an acknowledgement, an invite), the same for everyone who reads it: the session
    says who is reading, and a first visit leads to joining. ``None`` where the web chat is
    off. Group robots that cannot hear answers put it under their messages."""
    return capabilities(WEB_CHAT).deep_link_for(payload)


@dataclass(frozen=True, slots=True)
class SentRef:
    """What the platform calls the message it accepted (used for replies, edits, receipts)."""

    message_id: str
    parts: int = 1
    """How many platform messages the send produced (a long text cut into several, a photo and
    the rest of its text): delivery counts each against the rate limits."""


class DeliveryError(Exception):
    """A send did not go through. Subclasses tell the delivery worker what to do next."""


@dataclass
class RetryLater(DeliveryError):
    """Rate limited (429, ``M_LIMIT_EXCEEDED``): try this row again after ``seconds``.

    ``whole_account`` pauses every chat of the adapter, not just this one.
    """

    seconds: float
    whole_account: bool = False

    def __str__(self) -> str:
        return f"retry after {self.seconds:g}s"


class TransientError(DeliveryError):
    """Network failure, timeout, 5xx: retried with back-off, never dropped."""


class Refusal(Enum):
    """Why a destination refuses us for good, as the adapter classifies it: reports word each
    reason for their readers, so no one downstream reads a platform's error text."""

    BLOCKED = "blocked"
    """The person blocked the bot or closed their account."""
    GONE = "gone"
    """The chat or the account no longer exists (or never did)."""
    FORBIDDEN = "forbidden"
    """The bot was removed from the chat, or may not write there."""
    REFUSED = "refused"
    """The platform refused this message (its content, its size), not the destination."""

    @classmethod
    def of(cls, stored: str | None) -> Refusal | None:
        """The reason in an ``Unreachable`` as delivery stores it (``"blocked: …"``); ``None``
        for any other error text."""
        word, colon, _detail = (stored or "").partition(": ")
        return next((r for r in cls if r.value == word), None) if colon else None


class Unreachable(DeliveryError):
    """The destination refuses us for good (blocked, kicked, no such chat), for ``reason``.
    ``detail`` is the platform's own words, for the log; the stored text is
    ``"<reason>: <detail>"`` (``str``), which ``Refusal.of`` reads back."""

    def __init__(self, detail: str, reason: Refusal = Refusal.REFUSED) -> None:
        super().__init__(detail, reason)
        self.detail = detail
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass
class ChatMoved(DeliveryError):
    """The chat lives on under a new id (a Telegram group upgraded to a supergroup): delivery
    moves the room binding and everything queued for ``old`` to ``new`` and sends there."""

    old: str
    new: str

    def __str__(self) -> str:
        return f"chat {self.old} is now {self.new}"


class EngineStopped(RuntimeError):
    """Raised by the ``EventHandler`` for an event offered while the bot shuts down: it was not
    taken in, so the adapter must not confirm it to its platform (it comes again later)."""


EventHandler = Callable[[Incoming], Awaitable["Accepted"]]


@dataclass(frozen=True, slots=True)
class Accepted:
    """The core's answer to an adapter once an event is durably taken in."""

    duplicate: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Adapter(Protocol):
    name: str
    capabilities: Capabilities

    async def start(self, handle: EventHandler) -> None: ...

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        """Send one message; ``message_id`` is the outbox row's id, an idempotency key."""
        ...

    async def stop(self) -> None: ...
