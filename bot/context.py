"""The ``Context`` a handler or dialog answers through: who is speaking, the store, replies."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import LearningConfig
from bot.events import Incoming
from bot.i18n import Plural, Translator, translator
from bot.identity import Principal
from bot.markup import Markup
from bot.messages import Address, Capabilities, Choice, Image, Outgoing
from store.repos import Repositories

if TYPE_CHECKING:
    from bot.commands import Router
    from bot.conversation import Dialog


class ConversationHost(Protocol):
    """What the engine offers a context to start and stop conversations."""

    async def start_dialog(
        self, ctx: Context, dialog: type[Dialog], arguments: dict[str, Any]
    ) -> None: ...

    def cancel_dialogs(self, ctx: Context) -> list[str]: ...

    def in_room(self, ctx: Context, slot: str) -> bool: ...

    async def step_room(
        self, ctx: Context, slot: str, action: Callable[[Dialog], Awaitable[None]]
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class Settings:
    """The part of the configuration dialogs read."""

    default_locale: str = "zh_Hans"
    invite_days: int = 7
    link_minutes: int = 15
    timezone: str = "Asia/Shanghai"
    learning: LearningConfig = field(default_factory=LearningConfig)
    admins: frozenset[str] = frozenset()
    """The config's admin accounts: ``/link`` says when the other account is one."""


@dataclass(slots=True)
class Queued:
    address: Address
    message: Outgoing
    locale: str
    """The reader's language, for what delivery adds (the hint under numbered choices)."""


@dataclass
class Context:
    event: Incoming
    who: Principal
    store: Repositories
    settings: Settings
    capabilities: Capabilities
    host: ConversationHost
    commands: Router
    conversation: Dialog | None = None
    next_version: int = 1
    outbox: list[Queued] = field(default_factory=list)
    people_changed: bool = False

    @property
    def translator(self) -> Translator:
        return translator(self.who.locale, self.settings.default_locale)

    def t(self, message: str | Plural, /, count: int | None = None, **values: object) -> Markup:
        """Translate ``message`` into the speaker's language and fill in ``values`` safely."""
        return self.translator(message, count, **values)

    def text(self, message: str) -> str:
        """The speaker's translation of a short label (role names, usage placeholders)."""
        return self.translator.text(message)

    @property
    def here(self) -> Address:
        chat = self.event.chat
        return Address(
            self.event.platform, chat.id, chat.direct, self.event.sender.id if chat.direct else None
        )

    def direct_address(self) -> Address:
        """The speaker's direct chat, even when they wrote in a group."""
        if self.event.chat.direct:
            return self.here
        chat = self.who.direct_chats.get(self.event.platform, "")
        return Address(self.event.platform, chat, True, self.event.sender.id)

    def reply(
        self,
        message: str | Plural | Markup,
        /,
        *,
        choices: list[list[Choice]] | None = None,
        image: Image | None = None,
        count: int | None = None,
        **values: object,
    ) -> None:
        """Answer where the event came from (in its thread, if it was written in one). A ``str``
        is a catalog message, translated here."""
        self.send_to(
            self.here,
            message,
            choices=choices,
            image=image,
            count=count,
            thread=self.event.thread,
            **values,
        )

    def update(
        self,
        message: str | Plural | Markup,
        /,
        *,
        choices: list[list[Choice]] | None = None,
        count: int | None = None,
        **values: object,
    ) -> None:
        """Answer a button press by rewriting the message that carried the button, where the
        platform can edit messages; elsewhere (or for typed answers) as a new message."""
        self.send_to(
            self.here,
            message,
            choices=choices,
            image=None,
            count=count,
            thread=self.event.thread,
            **values,
        )
        if self.capabilities.edits and self.event.choice is not None and self.event.reply_to:
            queued = self.outbox[-1]
            queued.message = dataclasses.replace(queued.message, edit=self.event.reply_to)

    def reply_direct(self, message: str | Plural | Markup, /, **values: Any) -> None:
        self.send_to(self.direct_address(), message, **values)

    def send_to(
        self,
        address: Address,
        message: str | Plural | Markup,
        /,
        *,
        choices: list[list[Choice]] | None = None,
        image: Image | None = None,
        count: int | None = None,
        thread: str | None = None,
        **values: object,
    ) -> None:
        text = message if isinstance(message, Markup) else self.t(message, count, **values)
        rows = tuple(tuple(self._tag(choice) for choice in row) for row in choices or ())
        if rows and self.conversation is not None:
            self.conversation.data["_choices"] = [
                c.payload for row in choices or () for c in row if not c.url
            ]
            self.conversation.showed_choices = True
        self.outbox.append(
            Queued(address, Outgoing(text, rows, image, thread=thread), self.translator.locale)
        )

    def _tag(self, choice: Choice) -> Choice:
        """Bind a conversation's button to its step, so a press on an old step is recognised."""
        if self.conversation is None or choice.url:
            return choice
        slot = "" if self.conversation.slot == "main" else self.conversation.slot
        return Choice(choice.label, f"{self.next_version}|{slot}|{choice.payload}")

    async def start(self, dialog: type[Dialog], **arguments: Any) -> None:
        """Start ``dialog`` for the speaker in this chat (replacing one in the same slot)."""
        await self.host.start_dialog(self, dialog, arguments)

    def cancel(self) -> list[str]:
        """End the speaker's conversations in this chat; returns the names of those ended."""
        return self.host.cancel_dialogs(self)

    def in_room(self, slot: str) -> bool:
        """Whether a room-wide conversation runs in ``slot`` of this group chat, counting
        those started earlier in the same batch (not yet committed)."""
        return self.host.in_room(self, slot)

    async def step_room(self, slot: str, action: Callable[[Dialog], Awaitable[None]]) -> bool:
        """Let a command act on this group chat's room-wide conversation in ``slot`` (stop a
        round, say); ``False`` when none runs."""
        return await self.host.step_room(self, slot, action)

    def mark_people_changed(self) -> None:
        """Roles, branches or languages changed: cached identities are reloaded after commit."""
        self.people_changed = True
