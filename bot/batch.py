"""One batch of events: everything they read and write until their single commit.

The batch loads what its events will read in a few queries (``load``), hands each event's
context the conversations of its chat (it is the ``ConversationHost``: dialogs start, step,
end and time out here), collects the new conversation states, outbox rows and seen event ids,
writes them in a few ``executemany`` statements (``save``) and, once committed, tells the
caches the new truth (``learn``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.caches import Account, Caches, ChatKey, Room
from bot.commands import Router
from bot.context import Context, Queued, Settings
from bot.conversation import ROOM, Dialog, DialogRegistry
from bot.events import Chat, Incoming
from bot.i18n import _
from bot.identity import Principal
from bot.messages import Accepted, Capabilities
from bot.outbox import Row, enqueue, payload
from bot.principals import Principals
from store.people import Person
from store.repos import Repositories
from store.runtime import ConversationKey, PendingMessage, StoredConversation

log = logging.getLogger(__name__)


@dataclass
class Work:
    """A queued event (or a conversation's deadline) and who waits for its commit."""

    event: Incoming
    future: asyncio.Future[Accepted] | None
    timeout_version: int | None = None
    """For a deadline: the version of the conversation it belongs to."""
    slot: str = "main"
    queued_at: float = field(default_factory=time.perf_counter)

    @property
    def key(self) -> ConversationKey:
        e = self.event
        return (e.platform, e.chat.id, e.sender.id, self.slot)


@dataclass(frozen=True, slots=True)
class Shared:
    """What every batch works with: made once by the engine."""

    router: Router
    dialogs: DialogRegistry
    settings: Settings
    capabilities: Callable[[str], Capabilities]
    caches: Caches
    principals: Principals
    timeouts_queued: set[ConversationKey] = field(default_factory=set)
    """Deadlines queued and not yet handled, so a slow tick does not queue one twice."""

    def slots(self) -> list[str]:
        return sorted({cls.slot for cls in self.dialogs.classes()} | {"main"})


@dataclass
class Batch:
    store: Repositories
    shared: Shared
    people: dict[Account, Person | None] = field(default_factory=dict)
    conversations: dict[ChatKey, dict[str, StoredConversation]] = field(default_factory=dict)
    changed: set[ChatKey] = field(default_factory=set)
    removed: set[ConversationKey] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)
    seen_set: set[tuple[str, str]] = field(default_factory=set)
    unrecorded: set[tuple[str, str]] = field(default_factory=set)
    """Events taken in whose ids are kept in memory only (``Context.leave_no_trace``)."""
    outbox: list[Queued] = field(default_factory=list)
    answers: list[tuple[Work, Accepted]] = field(default_factory=list)
    people_changed: bool = False
    rooms: dict[Room, str | None] = field(default_factory=dict)
    """(platform, chat id) → the room's language, for the group chats of this batch."""
    rooms_changed: bool = False
    step: str = ""
    """The dialog the event being handled was fed to, for the slow-event log."""

    # -- load, save, learn ---------------------------------------------------------------

    async def load(self, work: list[Work]) -> None:
        """Everything the batch will read about its events, in a few queries at most."""
        caches = self.shared.caches
        fresh = [
            (w.event.platform, w.event.event_id)
            for w in work
            if w.timeout_version is None and (w.event.platform, w.event.event_id) not in caches.seen
        ]
        self.seen_set.update(await self.store.seen.existing(fresh))

        accounts = {(w.event.platform, w.event.sender.id) for w in work}
        missing = [a for a in accounts if a not in caches.people]
        found = await self.store.people.resolve(missing)
        for account in missing:
            caches.people.remember(account, found.get(account))
        self.people = {a: caches.people[a] for a in accounts}

        rooms = {(w.event.platform, w.event.chat.id) for w in work if not w.event.chat.direct}
        unknown = [room for room in rooms if room not in caches.room_locales]
        if unknown:
            for room, locale in (await self.store.rooms.locales(unknown)).items():
                caches.room_locales.remember(room, locale)
        self.rooms = {room: caches.room_locales[room] for room in rooms}

        keys = {(w.event.platform, w.event.chat.id, w.event.sender.id) for w in work}
        keys |= {(w.event.platform, w.event.chat.id, ROOM) for w in work if not w.event.chat.direct}
        absent = [k for k in keys if k not in caches.conversations]
        if absent:
            stored = await self.store.conversations.load(
                [(*k, slot) for k in absent for slot in self.shared.slots()]
            )
            for chat_key in absent:
                caches.conversations.remember(
                    chat_key, {key[3]: conv for key, conv in stored.items() if key[:3] == chat_key}
                )

    async def save(self) -> list[PendingMessage]:
        """Write what the batch changed (before the commit); returns its outbox rows, for
        delivery once committed."""
        store = self.store
        await store.flush()
        if self.unrecorded:
            await store.seen.add_many([key for key in self.seen if key not in self.unrecorded])
        elif self.seen:
            await store.seen.add_many(self.seen)
        saves = {
            (*chat_key, slot): conv
            for chat_key in self.changed
            for slot, conv in self.conversations[chat_key].items()
        }
        removed = [key for key in self.removed if key not in saves]
        await store.conversations.delete_many(removed)
        await store.conversations.save_many(saves)
        return await enqueue(
            store,
            [
                Row(
                    q.address,
                    payload(q.message, q.locale, ephemeral=q.ephemeral, vanish=q.vanish, tag=q.tag),
                )
                for q in self.outbox
            ],
        )

    def learn(self) -> None:
        """After the commit: the caches learn the new truth."""
        caches = self.shared.caches
        for key in self.seen:
            caches.seen.remember(key, None)
        for chat_key in self.changed | {k[:3] for k in self.removed}:
            if chat_key in self.conversations:
                caches.conversations.remember(chat_key, self.conversations[chat_key])
            else:
                caches.conversations.pop(chat_key, None)
        if self.people_changed:
            caches.people.clear()
        if self.rooms_changed:
            caches.room_locales.clear()

    # -- what an event's context reads ---------------------------------------------------

    async def person(self, account: Account) -> Person | None:
        """From the batch's prefetch; re-read when an earlier event changed people."""
        if account not in self.people:
            self.people.update(await self.store.people.resolve([account]))
            self.people.setdefault(account, None)
        return self.people[account]

    async def context(self, event: Incoming, who: Principal) -> Context:
        room_locale = None
        if not event.chat.direct:
            room = (event.platform, event.chat.id)
            if room not in self.rooms:
                self.rooms.update(await self.store.rooms.locales([room]))
            room_locale = self.rooms[room]
        shared = self.shared
        return Context(
            event,
            who,
            self.store,
            shared.settings,
            shared.capabilities(event.platform),
            self,
            shared.router.buttons.keys(),
            room_locale=room_locale,
            platforms=shared.capabilities,
        )

    def collect(self, ctx: Context) -> None:
        """Take in what an event's handler produced."""
        self.outbox.extend(ctx.outbox)
        if ctx.no_trace:
            self.unrecorded.add((ctx.event.platform, ctx.event.event_id))
        if ctx.people_changed:
            self.people_changed = True
            self.people.clear()
        self.note_room_changes()

    def note_room_changes(self) -> None:
        """A binding or a branch language changed: later events of the batch read rooms
        again, and the cache forgets them after the commit."""
        if self.store.take_room_changes():
            self.rooms_changed = True
            self.rooms.clear()

    # -- conversations -------------------------------------------------------------------

    def conversations_of(self, chat_key: ChatKey) -> dict[str, StoredConversation]:
        if chat_key not in self.conversations:
            cached = self.shared.caches.conversations.get(chat_key)
            self.conversations[chat_key] = dict(cached or {})
        return self.conversations[chat_key]

    def takes_files(self, stored: StoredConversation) -> bool:
        """Whether the conversation waits for a file in its current step."""
        cls = self.shared.dialogs.get(stored.dialog)
        return cls is not None and cls.takes_files(stored.state)

    async def feed(
        self,
        ctx: Context,
        slot: str,
        action: Callable[[Dialog], Any],
        owner: ChatKey | None = None,
    ) -> None:
        """Feed one event to the conversation ``owner`` (the speaker's, or the room's) holds."""
        chat_key = owner or chat_of(ctx)
        stored = self.conversations_of(chat_key)[slot]
        dialogs = self.shared.dialogs
        model = dialogs.rehydrate(stored.dialog, stored.state, dict(stored.data))
        if model is None:
            log.warning(
                "dropping conversation of unknown dialog %s/%s", stored.dialog, stored.state
            )
            ctx.reply(_("That conversation can no longer continue; please start it again."))
            self.remove(chat_key, slot)
            return
        self.step = stored.dialog
        ctx.conversation, ctx.next_version = model, stored.version + 1
        state, offered = model.state, stored.choices
        try:
            outcome = action(model)
            if inspect.isawaitable(outcome):
                await outcome
        finally:
            dialogs.release(model)
            ctx.conversation = None
        # Numbered answers stay valid while the step is asked again, never on a later step.
        if offered is not None and model.choices is None and model.state == state:
            model.choices = offered
        # A room-wide step many people answer keeps its version (its buttons stay valid for
        # everyone) until it shows new buttons.
        moved = not model.room or model.showed_choices
        version = stored.version + 1 if moved else stored.version
        self.keep(chat_key, model, version, stored.direct)

    def keep(self, chat_key: ChatKey, model: Dialog, version: int, direct: bool) -> None:
        active = self.conversations_of(chat_key)
        if model.finished:
            if model.slot in active:
                self.remove(chat_key, model.slot)
            return
        deadline = None
        if model.deadline_in:
            deadline = self.store.clock.now() + timedelta(seconds=model.deadline_in)
        active[model.slot] = StoredConversation(
            model.name, model.state, model.data, version, deadline, model.choices, direct
        )
        self.changed.add(chat_key)
        self.removed.discard((*chat_key, model.slot))

    def remove(self, chat_key: ChatKey, slot: str) -> None:
        self.conversations_of(chat_key).pop(slot, None)
        self.changed.add(chat_key)
        self.removed.add((*chat_key, slot))

    async def timeout(self, item: Work) -> None:
        """A conversation's deadline passed: it times out unless it moved on since."""
        key = item.key
        self.shared.timeouts_queued.discard(key)
        event = item.event
        stored = self.conversations_of(key[:3]).get(item.slot)
        if (
            stored is None
            or stored.version != item.timeout_version
            or (stored.deadline is not None and stored.deadline > self.store.clock.now())
        ):
            return
        event = Incoming(
            event.platform,
            event.event_id,
            Chat(event.chat.id, stored.direct),
            event.sender,
        )
        person = await self.person((event.platform, event.sender.id))
        ctx = await self.context(event, self.shared.principals.of(event, person))
        await self.feed(ctx, item.slot, lambda m: m.on_timeout(ctx))
        self.collect(ctx)

    # -- the ConversationHost a context sees ---------------------------------------------

    async def start_dialog(
        self, ctx: Context, dialog: type[Dialog], arguments: dict[str, Any]
    ) -> None:
        chat_key = chat_of(ctx)
        if dialog.room and not ctx.event.chat.direct:
            chat_key = (ctx.event.platform, ctx.event.chat.id, ROOM)
        previous = self.conversations_of(chat_key).get(dialog.slot)
        # A fresh conversation starts at a random version, so buttons left over from an
        # earlier conversation in this slot can never match the new one's steps.
        version = (previous.version + 1) if previous else secrets.randbelow(10**6) * 1000 + 1
        dialogs = self.shared.dialogs
        model = dialogs.create(dialog)
        outer, outer_version = ctx.conversation, ctx.next_version
        ctx.conversation, ctx.next_version = model, version
        try:
            await model.begin(ctx, **arguments)
        finally:
            dialogs.release(model)
            ctx.conversation, ctx.next_version = outer, outer_version
        self.keep(chat_key, model, version, ctx.event.chat.direct)

    def cancel_dialogs(self, ctx: Context) -> list[str]:
        chat_key = chat_of(ctx)
        active = self.conversations_of(chat_key)
        names = [conv.dialog for conv in active.values()]
        for slot in list(active):
            self.remove(chat_key, slot)
        return names

    def in_room(self, ctx: Context, slot: str) -> bool:
        if ctx.event.chat.direct:
            return False
        return slot in self.conversations_of((ctx.event.platform, ctx.event.chat.id, ROOM))

    async def step_room(
        self, ctx: Context, slot: str, action: Callable[[Dialog], Awaitable[None]]
    ) -> bool:
        if not self.in_room(ctx, slot):
            return False
        await self.feed(ctx, slot, action, (ctx.event.platform, ctx.event.chat.id, ROOM))
        return True

    async def step_own(
        self, ctx: Context, slot: str, action: Callable[[Dialog], Awaitable[None]]
    ) -> bool:
        if slot not in self.conversations_of(chat_of(ctx)):
            return False
        await self.feed(ctx, slot, action)
        return True


def chat_of(ctx: Context) -> ChatKey:
    """The speaker's own conversations in the chat of ``ctx``."""
    return (ctx.event.platform, ctx.event.chat.id, ctx.event.sender.id)
