"""The ``Context`` a handler or dialog answers through: who is speaking, the store, replies."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

from bot.events import Incoming
from bot.figures import Figures, Problems
from bot.i18n import Plural, Translator, _, translator
from bot.identity import Principal
from bot.markup import Markup
from bot.messages import (
    Address,
    Capabilities,
    Choice,
    Document,
    Image,
    Outgoing,
    web_chat_link,
)
from store.clock import Clock
from store.repos import Repositories

if TYPE_CHECKING:
    from bot.conversation import Dialog

S = TypeVar("S", bound=BaseModel)


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

    async def step_own(
        self, ctx: Context, slot: str, action: Callable[[Dialog], Awaitable[None]]
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class Settings:
    """The part of the configuration dialogs read."""

    default_locale: str = "zh_Hans"
    invite_days: int = 7
    link_minutes: int = 15
    timezone: str = "Asia/Shanghai"
    admins: frozenset[str] = frozenset()
    """The config's admin accounts: ``/link`` says when the other account is one."""
    sections: Mapping[type[BaseModel], BaseModel] = field(default_factory=dict)
    """Each feature's config section, by its model."""
    figures: tuple[Figures, ...] = ()
    """Every feature's figures for the monthly branch report, in the features' order."""
    problems: tuple[Problems, ...] = ()
    """Every feature's problem lookup (``bot/figures.py``)."""
    rectifying: bool = False
    """Some feature makes problems into rectification tasks: offer ``RECTIFY`` buttons."""
    web_address: Callable[[], str] = lambda: "http://127.0.0.1:8080"
    days_off: frozenset[date] = frozenset()
    """The organisation's own days off (``bot.workdays.WorkCalendar``)."""
    data_dir: Path = Path()
    """Where features keep files beside the database (the SQLite file's directory, or the
    working directory with PostgreSQL)."""
    """Where people reach the bot's HTTP server: ``http.public_url``, or the address it
    listens on (known once it has started), for the links a feature sends."""

    def section(self, kind: type[S]) -> S:
        """A feature's config section (``ctx.settings.section(ItsModel)``); a section no
        config mentions has its model's defaults."""
        value = self.sections.get(kind)
        if value is None:
            return kind()
        assert isinstance(value, kind)
        return value


@dataclass(slots=True)
class Queued:
    address: Address
    message: Outgoing
    locale: str
    """The reader's language, for what delivery adds (the hint under numbered choices)."""
    ephemeral: bool = False
    """Its stored text is erased once delivered (``Context.reply``)."""
    vanish: bool = False
    """Its row loses its text, chat and person once delivered (``Context.send_to``)."""
    tag: str | None = None
    """What the feature calls this message, for a platform reply to it (``Outbox.tag_of``)."""


@dataclass
class Context:
    event: Incoming
    who: Principal
    store: Repositories
    settings: Settings
    capabilities: Capabilities
    host: ConversationHost
    stateless_buttons: AbstractSet[str]
    """The button prefixes the router handles outside any conversation (``Router.button``)."""
    conversation: Dialog | None = None
    next_version: int = 1
    outbox: list[Queued] = field(default_factory=list)
    people_changed: bool = False
    no_trace: bool = False
    """The event's id is not written to ``seen_events`` (``leave_no_trace``)."""

    room_locale: str | None = None
    """In a group chat, the language of its branch (``None``: the organisation's default)."""
    platforms: Callable[[str], Capabilities] | None = None
    """Every platform's capabilities, for links into another platform (``link_to``)."""

    # A message's language is decided by where it goes, never by who caused it: a room speaks
    # its branch's language to everyone in it (timers included), a direct chat its person's.

    @property
    def clock(self) -> Clock:
        """The time handlers read (the store's: tests move it)."""
        return self.store.clock

    @property
    def translator(self) -> Translator:
        """The language of this chat: the room's in a group, the speaker's in their DM."""
        if self.event.chat.direct:
            return self.personal
        return translator(self.room_locale, self.settings.default_locale)

    @property
    def personal(self) -> Translator:
        """The speaker's own language, for what goes to their direct chat (and ``/me``)."""
        return translator(self.who.locale, self.settings.default_locale)

    def translator_for(
        self, address: Address, locale: str | EllipsisType | None = ...
    ) -> Translator:
        """The language of ``address``. This chat and the speaker's DM are known here; any
        other chat needs its reader's ``locale`` given (``None``: they chose none), so a
        message never silently falls back to the language of whoever caused it."""
        if (address.platform, address.chat_id) == (self.event.platform, self.event.chat.id):
            return self.translator
        if address.direct and address.user_id == self.event.sender.id:
            return self.personal
        if isinstance(locale, EllipsisType):
            raise ValueError("a message to another chat needs its reader's language")
        return translator(locale, self.settings.default_locale)

    def t(self, message: str | Plural, /, count: int | None = None, **values: object) -> Markup:
        """Translate ``message`` into this chat's language and fill in ``values`` safely."""
        return self.translator(message, count, **values)

    def text(self, message: str) -> str:
        """This chat's translation of a short label (role names, usage placeholders)."""
        return self.translator.text(message)

    def listing(self, items: Iterable[str]) -> str:
        """``items`` as one list in the speaker's language (``Mei、Sam`` in Chinese)."""
        return self.translator.listing(items)

    def link_to(self, payload: str) -> str | None:
        """The link that opens a direct chat with the bot at ``/start <payload>`` (a QR
        poster's, an invite's): this platform's, or the web chat's where this one has none
        (a group robot, Matrix)."""
        link = self.capabilities.deep_link_for(payload)
        if link is None and self.platforms is not None:
            link = web_chat_link(self.platforms, payload)
        return link

    def members_only(self) -> bool:
        """Whether the speaker is a member; a guest (a first visit from a group's link, a
        poster) is told how to join instead."""
        if self.who.member_id is not None:
            return True
        self.reply(
            _(
                "This is for members. To join your branch, send `/join <code>` with the invite "
                "code your secretary gave you; if you already use the bot elsewhere, send `/link` "
                "there, then `/link <code>` here with the code it gives you. Then open the link "
                "again."
            )
        )
        return False

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
        document: Document | None = None,
        count: int | None = None,
        ephemeral: bool = False,
        vanish: bool = False,
        tag: str | None = None,
        **values: object,
    ) -> None:
        """Answer where the event came from (in its thread, if it was written in one). A ``str``
        is a catalog message, translated here, into this chat's language. ``ephemeral``: the
        outbox keeps no text of it once it is delivered (or given up), for what must not stay
        next to its chat, such as the questions and answers of an anonymous form
        (docs/privacy.md). ``vanish``: the row also loses its chat and person (an
        anonymous writer's replies). ``tag``: see ``send_to``."""
        language, thread = self.translator, self.event.thread
        media = (image, document)
        self._send(self.here, language, message, choices, media, count, values, thread, ephemeral)
        self.outbox[-1].vanish, self.outbox[-1].tag = vanish, tag

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
        language, thread = self.translator, self.event.thread
        self._send(self.here, language, message, choices, (None, None), count, values, thread)
        if self.capabilities.edits and self.event.choice is not None and self.event.reply_to:
            queued = self.outbox[-1]
            queued.message = dataclasses.replace(queued.message, edit=self.event.reply_to)

    def reply_direct(self, message: str | Plural | Markup, /, **values: object) -> None:
        """Tell the speaker privately, in their own language (even when they wrote in a room)."""
        self._send(
            self.direct_address(), self.personal, message, None, (None, None), None, values, None
        )

    def send_to(
        self,
        address: Address,
        message: str | Plural | Markup,
        /,
        *,
        choices: list[list[Choice]] | None = None,
        image: Image | None = None,
        document: Document | None = None,
        count: int | None = None,
        thread: str | None = None,
        locale: str | EllipsisType | None = ...,
        vanish: bool = False,
        tag: str | None = None,
        **values: object,
    ) -> None:
        """Queue ``message`` for ``address``, in the language of that address (``locale``: its
        reader's, required for any chat but this one and the speaker's DM). ``vanish``: the
        outbox row keeps neither text nor chat once delivered; ``tag``: what the feature calls
        it, so that a platform reply to it can be taken back to its subject
        (``Outbox.tag_of``)."""
        language = self.translator_for(address, locale)
        media = (image, document)
        self._send(address, language, message, choices, media, count, values, thread, vanish)
        self.outbox[-1].vanish, self.outbox[-1].tag = vanish, tag

    def _send(
        self,
        address: Address,
        language: Translator,
        message: str | Plural | Markup,
        choices: list[list[Choice]] | None,
        media: tuple[Image | None, Document | None],
        count: int | None,
        values: dict[str, object],
        thread: str | None,
        ephemeral: bool = False,
    ) -> None:
        text = message if isinstance(message, Markup) else language(message, count, **values)
        rows = tuple(tuple(self._tag(choice) for choice in row) for row in choices or ())
        if rows and self.conversation is not None:
            self.conversation.choices = [
                c.payload for row in choices or () for c in row if not c.url
            ]
            self.conversation.showed_choices = True
        self.outbox.append(
            Queued(address, Outgoing(text, rows, *media, thread=thread), language.locale, ephemeral)
        )

    def _tag(self, choice: Choice) -> Choice:
        """Bind a conversation's button to its step, so a press on an old step is recognised.
        A stateless button (a prefix the router handles) stays unbound even when a
        conversation sends it: pressing it must not move that conversation on."""
        prefix, colon, _rest = choice.payload.partition(":")
        if self.conversation is None or choice.url or (colon and prefix in self.stateless_buttons):
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

    async def step(self, slot: str, action: Callable[[Dialog], Awaitable[None]]) -> bool:
        """Let a command or a stateless button act on the speaker's own conversation in
        ``slot`` of this chat (resume a form from the button that started it); ``False``
        when none runs."""
        return await self.host.step_own(self, slot, action)

    def leave_no_trace(self) -> None:
        """Keep this event's id out of the store (``seen_events`` keeps ids for 14 days, and
        a platform's message id can name its chat): for a step whose author must stay unknown
        even to a copy of the database, such as an anonymous letter's writer. The id is still
        remembered in memory against redelivery; only a redelivery after a restart would be
        taken in twice."""
        self.no_trace = True

    def mark_people_changed(self) -> None:
        """Roles, branches or languages changed: cached identities are reloaded after commit."""
        self.people_changed = True
