"""The core's event pipeline: dedup, identity, routing, conversations and group commit.

Events are queued and handled in batches by one task. Within a batch, events run one after the
other against one session, so a person's messages are handled in the order they arrived and a
later event sees what an earlier one wrote; then the whole batch (new conversation states, the
outbox rows, the ids of the events taken in) is committed in one transaction with a few
``executemany`` statements. Only after that commit are the futures answered and the replies
handed to delivery. Throughput comes from batching round trips, not from running handlers
concurrently: a handler is a few dozen microseconds of Python, a commit is milliseconds.

If a batch fails, it is rolled back and its events are retried one by one, so one bad event
cannot take others down; the one that still fails is recorded as seen and its sender gets an
apology rather than a silent drop or an endless redelivery loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.commands import Router
from bot.context import Context, ConversationHost, Queued, Settings
from bot.conversation import ROOM, Dialog, DialogRegistry
from bot.events import Chat, Incoming, Sender
from bot.i18n import _
from bot.identity import Principal
from bot.messages import Accepted, Capabilities, EngineStopped
from bot.metrics import Metrics
from store.clock import now
from store.db import Database
from store.people import Person
from store.repos import Repositories
from store.runtime import ConversationKey, PendingMessage, StoredConversation

log = logging.getLogger(__name__)

ChatKey = tuple[str, str, str]
"""(platform, chat id, user id): the conversations of one person in one chat, by slot."""


class _LRU(OrderedDict[Any, Any]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class _Work:
    event: Incoming
    future: asyncio.Future[Accepted] | None
    timeout_version: int | None = None
    slot: str = "main"
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class _Batch:
    store: Repositories
    people: dict[tuple[str, str], Person | None] = field(default_factory=dict)
    conversations: dict[ChatKey, dict[str, StoredConversation]] = field(default_factory=dict)
    changed: set[ChatKey] = field(default_factory=set)
    removed: set[ConversationKey] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)
    seen_set: set[tuple[str, str]] = field(default_factory=set)
    outbox: list[Queued] = field(default_factory=list)
    answers: list[tuple[_Work, Accepted]] = field(default_factory=list)
    people_changed: bool = False
    rooms: dict[tuple[str, str], str | None] = field(default_factory=dict)
    """(platform, chat id) → the room's language, for the group chats of this batch."""
    rooms_changed: bool = False
    step: str = ""
    """The dialog the event being handled was fed to, for the slow-event log."""


class Engine:
    def __init__(
        self,
        db: Database,
        router: Router,
        dialogs: DialogRegistry,
        settings: Settings,
        admins: Iterable[str],
        capabilities: Callable[[str], Capabilities],
        deliver: Callable[[list[PendingMessage]], None],
        metrics: Metrics,
        *,
        max_batch: int = 512,
        queue_size: int = 20_000,
        cache_size: int = 200_000,
        event_budget: float = 0.25,
    ) -> None:
        self.db = db
        self.router = router
        self.dialogs = dialogs
        self.settings = settings
        self.admins = frozenset(admins)
        self.capabilities = capabilities
        self.deliver = deliver
        self.metrics = metrics
        self.max_batch = max_batch
        self.event_budget = event_budget
        """Seconds one event may take inside the batch before it is logged as slow."""
        self._queue: asyncio.Queue[_Work] = asyncio.Queue(queue_size)
        self._people: _LRU = _LRU(cache_size)
        self._conversations: _LRU = _LRU(cache_size)
        self._seen: _LRU = _LRU(cache_size)
        self._room_locales: _LRU = _LRU(cache_size)
        self._timeouts_queued: set[ConversationKey] = set()
        self._stored_admins: frozenset[str] = frozenset()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    # -- running -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.refresh_admins()
        self._closing = False
        self._task = asyncio.create_task(self._loop(), name="engine")

    async def refresh_admins(self) -> None:
        """Re-read the admins ``branchbot admin add`` stored (another process may add some)."""
        async with self.db.session() as session:
            self._stored_admins = frozenset(await Repositories(session).people.stored_admins())

    def _is_admin(self, identities: Iterable[str]) -> bool:
        return any(i in self.admins or i in self._stored_admins for i in identities)

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        self._closing = True
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, event: Incoming) -> Accepted:
        """Take one event in; returns once its effects are committed (or it was a duplicate)."""
        if self._closing:
            # Not accepted: a polling adapter leaves it unconfirmed, so it comes again later.
            raise EngineStopped("branchbot is stopping")
        future: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Work(event, future))
        return await future

    async def queue_due_timeouts(self) -> int:
        """Queue a timeout event for every conversation whose deadline passed."""
        async with self.db.session() as session:
            due = await Repositories(session).conversations.due(now())
        queued = 0
        for key, version in due:
            if key in self._timeouts_queued:
                continue
            self._timeouts_queued.add(key)
            platform, chat_id, user_id, slot = key
            event = Incoming(
                platform, f"timeout:{slot}:{version}", Chat(chat_id, False), Sender(user_id)
            )
            await self._queue.put(_Work(event, None, timeout_version=version, slot=slot))
            queued += 1
        return queued

    async def _loop(self) -> None:
        while True:
            work = [await self._queue.get()]
            while len(work) < self.max_batch and not self._queue.empty():
                work.append(self._queue.get_nowait())
            try:
                await self._run(work)
            except Exception:  # pragma: no cover - _run handles its own failures
                log.exception("engine batch crashed")
            finally:
                for _item in work:
                    self._queue.task_done()

    async def _run(self, work: list[_Work]) -> None:
        started = time.perf_counter()
        try:
            async with self.db.session() as session:
                batch = _Batch(Repositories(session))
                await self._prefetch(batch, work)
                clock = time.perf_counter()
                for item in work:
                    batch.step = ""
                    await self._handle(batch, item)
                    # One clock read per event: each event's end is the next one's start.
                    done = time.perf_counter()
                    if done - clock > self.event_budget:
                        self._over_budget(batch, item, done - clock)
                    clock = done
                ids = await self._write(batch)
        except Exception as error:
            self._forget(work)
            if len(work) > 1:
                log.warning("batch of %d failed (%s); retrying one by one", len(work), error)
                for item in work:
                    await self._run([item])
                return
            await self._give_up(work[0], error)
            return
        self._apply(batch, ids)
        finished = time.perf_counter()
        self.metrics.batch_size.observe(len(work))
        self.metrics.commit_seconds.observe(finished - started)
        for item, answer in batch.answers:
            self.metrics.events.labels(
                item.event.platform, "duplicate" if answer.duplicate else "handled"
            ).inc()
            self.metrics.event_seconds.observe(finished - item.queued_at)
            if item.future is not None and not item.future.done():
                item.future.set_result(answer)

    def _over_budget(self, batch: _Batch, item: _Work, seconds: float) -> None:
        """An event held the batch longer than its budget: say what ran (never the text)."""
        event = item.event
        if item.timeout_version is not None:
            handler = f"timeout of {batch.step or item.slot}"
        elif event.command:
            command, _family = self.router.find(event.command, event.args)
            handler = f"/{command.name}" if command is not None else "an unknown command"
        elif batch.step:
            handler = f"the {batch.step} dialog"
        elif event.choice is not None:
            handler = "a button"
        else:
            handler = "a file" if event.attachment is not None else "a message"
        log.warning(
            "slow event: %s on %s took %.3f s (budget %.3f s)",
            handler,
            event.platform,
            seconds,
            self.event_budget,
        )
        self.metrics.slow_events.labels(event.platform).inc()

    def _forget(self, work: list[_Work]) -> None:
        """A rolled-back batch may have touched cached objects: drop them, reload on retry."""
        for item in work:
            event = item.event
            self._people.pop((event.platform, event.sender.id), None)
            self._conversations.pop((event.platform, event.chat.id, event.sender.id), None)
            self._conversations.pop((event.platform, event.chat.id, ROOM), None)

    async def _give_up(self, item: _Work, error: Exception) -> None:
        """An event that fails on its own: record it as seen and apologise, in one commit."""
        log.error(
            "event %s:%s failed",
            item.event.platform,
            item.event.event_id,
            exc_info=(type(error), error, error.__traceback__),
        )
        self.metrics.events.labels(item.event.platform, "failed").inc()
        if item.timeout_version is not None:
            self._timeouts_queued.discard(self._key(item))
        try:
            async with self.db.session() as session:
                batch = _Batch(Repositories(session))
                if item.timeout_version is None:
                    batch.seen.append((item.event.platform, item.event.event_id))
                    people = await batch.store.people.resolve(
                        [(item.event.platform, item.event.sender.id)]
                    )
                    who = self._principal(
                        item.event, people.get((item.event.platform, item.event.sender.id))
                    )
                    ctx = await self._context(batch, item.event, who)
                    ctx.reply(
                        _(
                            "Sorry, something went wrong with that. It has been logged; "
                            "please try again later."
                        )
                    )
                    batch.outbox.extend(ctx.outbox)
                else:
                    batch.removed.add(self._key(item))
                ids = await self._write(batch)
            self._apply(batch, ids)
        except Exception as second:
            log.error("could not record failed event", exc_info=second)
            if item.future is not None and not item.future.done():
                item.future.set_exception(second)
            return
        if item.future is not None and not item.future.done():
            item.future.set_result(Accepted())

    # -- one batch -----------------------------------------------------------------------

    async def _prefetch(self, batch: _Batch, work: list[_Work]) -> None:
        """Everything the batch will read about its events, in three queries at most."""
        fresh = [
            (w.event.platform, w.event.event_id)
            for w in work
            if w.timeout_version is None and (w.event.platform, w.event.event_id) not in self._seen
        ]
        batch.seen_set.update(await batch.store.seen.existing(fresh))

        accounts = {(w.event.platform, w.event.sender.id) for w in work}
        missing = [a for a in accounts if a not in self._people]
        found = await batch.store.people.resolve(missing)
        for account in missing:
            self._people.remember(account, found.get(account))
        batch.people = {a: self._people[a] for a in accounts}

        rooms = {(w.event.platform, w.event.chat.id) for w in work if not w.event.chat.direct}
        unknown = [room for room in rooms if room not in self._room_locales]
        if unknown:
            for room, locale in (await batch.store.rooms.locales(unknown)).items():
                self._room_locales.remember(room, locale)
        batch.rooms = {room: self._room_locales[room] for room in rooms}

        keys = {(w.event.platform, w.event.chat.id, w.event.sender.id) for w in work}
        keys |= {(w.event.platform, w.event.chat.id, ROOM) for w in work if not w.event.chat.direct}
        absent = [k for k in keys if k not in self._conversations]
        if absent:
            stored = await batch.store.conversations.load(
                [(*k, slot) for k in absent for slot in self._slots()]
            )
            for chat_key in absent:
                self._conversations.remember(
                    chat_key, {key[3]: conv for key, conv in stored.items() if key[:3] == chat_key}
                )

    def _slots(self) -> list[str]:
        return sorted({cls.slot for cls in self.dialogs.classes()} | {"main"})

    async def _write(self, batch: _Batch) -> list[int]:
        store = batch.store
        await store.flush()
        if batch.seen:
            await store.seen.add_many(batch.seen)
        saves = {
            (*chat_key, slot): conv
            for chat_key in batch.changed
            for slot, conv in batch.conversations[chat_key].items()
        }
        removed = [key for key in batch.removed if key not in saves]
        await store.conversations.delete_many(removed)
        await store.conversations.save_many(saves)
        return await store.outbox.add_many(
            [
                {
                    "platform": q.address.platform,
                    "chat_id": q.address.chat_id,
                    "direct": q.address.direct,
                    "user_id": q.address.user_id,
                    "payload": {**q.message.to_json(), "locale": q.locale},
                }
                for q in batch.outbox
            ]
        )

    def _apply(self, batch: _Batch, ids: list[int]) -> None:
        """After the commit: caches learn the new truth, delivery gets the new rows."""
        for key in batch.seen:
            self._seen.remember(key, None)
        for chat_key in batch.changed | {k[:3] for k in batch.removed}:
            if chat_key in batch.conversations:
                self._conversations.remember(chat_key, batch.conversations[chat_key])
            else:
                self._conversations.pop(chat_key, None)
        if batch.people_changed:
            self._people.clear()
        if batch.rooms_changed:
            self._room_locales.clear()
        if ids:
            self.deliver(
                [
                    PendingMessage(
                        row_id,
                        q.address.platform,
                        q.address.chat_id,
                        q.address.direct,
                        q.address.user_id,
                        {**q.message.to_json(), "locale": q.locale},
                        0,
                    )
                    for row_id, q in zip(ids, batch.outbox, strict=True)
                ]
            )

    async def _handle(self, batch: _Batch, item: _Work) -> None:
        event = item.event
        if item.timeout_version is not None:
            await self._timeout(batch, item)
            return
        seen_key = (event.platform, event.event_id)
        if seen_key in self._seen or seen_key in batch.seen_set:
            batch.answers.append((item, Accepted(duplicate=True)))
            return
        batch.seen.append(seen_key)
        batch.seen_set.add(seen_key)
        if event.moved_to:
            await batch.store.rooms.move(event.platform, event.chat.id, event.moved_to)
            self._rooms_changed(batch)
            batch.answers.append((item, Accepted()))
            return
        person = await self._person(batch, (event.platform, event.sender.id))
        who = self._principal(event, person)
        ctx = await self._context(batch, event, who)
        if (
            event.chat.direct
            and person is not None
            and (person.direct_chats.get(event.platform) != event.chat.id)
        ):
            await batch.store.people.note_direct_chat(
                event.platform, event.sender.id, event.chat.id
            )
            person.direct_chats[event.platform] = event.chat.id
        await self._dispatch(ctx, batch)
        if event.chat.direct and person is None and ctx.people_changed:
            # Someone new became a member in this very event (/join in a DM): keep the chat,
            # or a platform that cannot open a DM could never write to them first. Only then:
            # a query for every stranger's message cut the core's throughput to a sixth.
            await batch.store.people.note_direct_chat(
                event.platform, event.sender.id, event.chat.id
            )
        self._collect(batch, ctx)
        batch.answers.append((item, Accepted()))

    def _collect(self, batch: _Batch, ctx: Context) -> None:
        batch.outbox.extend(ctx.outbox)
        if ctx.people_changed:
            batch.people_changed = True
            batch.people.clear()
        self._rooms_changed(batch)

    @staticmethod
    def _rooms_changed(batch: _Batch) -> None:
        """A binding or a branch language changed: later events of the batch read rooms
        again, and the cache forgets them after the commit."""
        if batch.store.take_room_changes():
            batch.rooms_changed = True
            batch.rooms.clear()

    async def _context(self, batch: _Batch, event: Incoming, who: Principal) -> Context:
        room_locale = None
        if not event.chat.direct:
            room = (event.platform, event.chat.id)
            if room not in batch.rooms:
                batch.rooms.update(await batch.store.rooms.locales([room]))
            room_locale = batch.rooms[room]
        return Context(
            event,
            who,
            batch.store,
            self.settings,
            self.capabilities(event.platform),
            _Host(self, batch),
            self.router.buttons.keys(),
            room_locale=room_locale,
        )

    async def _person(self, batch: _Batch, account: tuple[str, str]) -> Person | None:
        """From the batch's prefetch; re-read when an earlier event changed people."""
        if account not in batch.people:
            batch.people.update(await batch.store.people.resolve([account]))
            batch.people.setdefault(account, None)
        return batch.people[account]

    def _principal(self, event: Incoming, person: Person | None) -> Principal:
        if person is None:
            return Principal(
                event.platform,
                event.sender.id,
                event.sender.name,
                is_admin=self._is_admin([event.identity]),
                identities=(event.identity,),
            )
        identities = tuple(person.identities) or (event.identity,)
        return Principal(
            event.platform,
            event.sender.id,
            event.sender.name or person.display_name,
            member_id=person.member_id,
            locale=person.locale,
            branch_id=person.branch_id,
            branch_name=person.branch_name,
            secretary_of=dict(person.secretary_of),
            is_admin=self._is_admin(identities),
            identities=identities,
            direct_chats=dict(person.direct_chats),
        )

    # -- conversations -------------------------------------------------------------------

    def _conversations_of(self, batch: _Batch, chat_key: ChatKey) -> dict[str, StoredConversation]:
        if chat_key not in batch.conversations:
            batch.conversations[chat_key] = dict(self._conversations.get(chat_key) or {})
        return batch.conversations[chat_key]

    @staticmethod
    def _chat_key(ctx: Context) -> ChatKey:
        return (ctx.event.platform, ctx.event.chat.id, ctx.event.sender.id)

    @staticmethod
    def _key(item: _Work) -> ConversationKey:
        e = item.event
        return (e.platform, e.chat.id, e.sender.id, item.slot)

    async def _dispatch(self, ctx: Context, batch: _Batch) -> None:
        event = ctx.event
        chat_key = self._chat_key(ctx)
        active = self._conversations_of(batch, chat_key)
        if event.command:
            await self.router.dispatch(ctx, event.command, event.args)
            return
        if event.attachment is not None:
            await self.router.dispatch_file(ctx, event.attachment)
            return
        if event.choice is not None:
            await self._choice(ctx, batch, active, event.choice)
            return
        owner = chat_key
        if not active and not event.chat.direct:
            owner = (event.platform, event.chat.id, ROOM)
            active = self._conversations_of(batch, owner)
        conversation = active.get("main") or next(iter(active.values()), None)
        if conversation is not None:
            slot = "main" if "main" in active else next(iter(active))
            text = event.text.strip()
            options = conversation.data.get("_choices") or []
            if text.isdecimal() and len(text) <= 3 and 1 <= int(text) <= len(options):
                payload = options[int(text) - 1]
                await self._step(ctx, batch, slot, lambda m: m.on_choice(ctx, payload), owner)
            else:
                await self._step(ctx, batch, slot, lambda m: m.on_text(ctx, event.text), owner)
            return
        text = event.text.strip()
        if text.isdecimal() and len(text) <= 3 and await self.router.typed_number(ctx, int(text)):
            return
        if event.chat.direct and text:
            ctx.reply(_("I only respond to commands; /help lists them."))

    async def _choice(
        self, ctx: Context, batch: _Batch, active: dict[str, StoredConversation], raw: str
    ) -> None:
        if await self.router.press(ctx, raw):
            return
        parts = raw.split("|", 2)
        if len(parts) < 3 or not parts[0].isdecimal() or len(parts[0]) > 12:
            self._stale_press(ctx, _("That button is no longer in use."))
            return
        version, slot, payload = int(parts[0]), parts[1] or "main", parts[2]
        conversation = active.get(slot)
        owner = self._chat_key(ctx)
        if conversation is None and not ctx.event.chat.direct:
            owner = (ctx.event.platform, ctx.event.chat.id, ROOM)
            conversation = self._conversations_of(batch, owner).get(slot)
        if (conversation is None or conversation.version != version) and (
            owner_name := await self._owner_name(ctx, batch, slot, version)
        ) is not None:
            if owner_name:
                message = _("This question is {name}'s; nothing was changed.")
            else:
                message = _("This question belongs to someone else here; nothing was changed.")
            self._stale_press(ctx, message, owner_name or None)
            return
        if conversation is None:
            self._stale_press(ctx, _("That question has already ended; nothing was changed."))
            return
        if conversation.version != version:
            self._stale_press(
                ctx, _("That button belongs to an earlier question; nothing was changed.")
            )
            return
        await self._step(ctx, batch, slot, lambda m: m.on_choice(ctx, payload), owner)

    async def _owner_name(self, ctx: Context, batch: _Batch, slot: str, version: int) -> str | None:
        """In a group, the name of the other person whose conversation showed the pressed
        button ("" when they have none on record; ``None`` when it is nobody else's). Only
        stale presses ask, so the query is off the hot path; what this batch changed wins
        over the stored rows."""
        event = ctx.event
        if event.chat.direct or not 0 < version < 2**31:  # what a stored version can be
            return None
        here = (event.platform, event.chat.id)
        owner = next(
            (
                key[2]
                for key, active in batch.conversations.items()
                if key[:2] == here and slot in active and active[slot].version == version
            ),
            None,
        )
        if owner is None:
            owner = await batch.store.conversations.owner(*here, slot, version)
            mine = batch.conversations.get((*here, owner)) if owner is not None else None
            if mine is not None and (slot not in mine or mine[slot].version != version):
                owner = None  # it moved on or ended earlier in this batch
        if owner is None or owner in (ROOM, event.sender.id):
            return None
        person = await self._person(batch, (event.platform, owner))
        return person.display_name if person is not None else ""

    @staticmethod
    def _stale_press(ctx: Context, message: str, name: str | None = None) -> None:
        """Tell whoever pressed an old button; in a group only them (in their direct chat,
        where the platform can reach it), so late presses never clutter the room."""
        if ctx.event.chat.direct:
            ctx.reply(message, name=name)
        elif ctx.capabilities.can_open_dm or ctx.event.platform in ctx.who.direct_chats:
            ctx.reply_direct(message, name=name)

    async def _step(
        self,
        ctx: Context,
        batch: _Batch,
        slot: str,
        action: Callable[[Dialog], Any],
        owner: ChatKey | None = None,
    ) -> None:
        """Feed one event to the conversation ``owner`` (the speaker's, or the room's) holds."""
        chat_key = owner or self._chat_key(ctx)
        active = self._conversations_of(batch, chat_key)
        stored = active[slot]
        model = self.dialogs.rehydrate(stored.dialog, stored.state, dict(stored.data))
        if model is None:
            log.warning(
                "dropping conversation of unknown dialog %s/%s", stored.dialog, stored.state
            )
            ctx.reply(_("That conversation can no longer continue; please start it again."))
            self._remove(batch, chat_key, slot)
            return
        batch.step = stored.dialog
        ctx.conversation, ctx.next_version = model, stored.version + 1
        state, offered = model.state, model.data.pop("_choices", None)
        try:
            outcome = action(model)
            if inspect.isawaitable(outcome):
                await outcome
        finally:
            self.dialogs.release(model)
            ctx.conversation = None
        # Numbered answers stay valid while the step is asked again, never on a later step.
        if offered is not None and "_choices" not in model.data and model.state == state:
            model.data["_choices"] = offered
        # A room-wide step many people answer keeps its version (its buttons stay valid for
        # everyone) until it shows new buttons.
        moved = not model.room or model.showed_choices
        self._keep(batch, chat_key, model, stored.version + 1 if moved else stored.version)

    def _keep(self, batch: _Batch, chat_key: ChatKey, model: Dialog, version: int) -> None:
        active = self._conversations_of(batch, chat_key)
        if model.finished:
            if model.slot in active:
                self._remove(batch, chat_key, model.slot)
            return
        deadline = now() + timedelta(seconds=model.deadline_in) if model.deadline_in else None
        active[model.slot] = StoredConversation(
            model.name, model.state, model.data, version, deadline
        )
        batch.changed.add(chat_key)
        batch.removed.discard((*chat_key, model.slot))

    def _remove(self, batch: _Batch, chat_key: ChatKey, slot: str) -> None:
        self._conversations_of(batch, chat_key).pop(slot, None)
        batch.changed.add(chat_key)
        batch.removed.add((*chat_key, slot))

    async def start_dialog(
        self, batch: _Batch, ctx: Context, dialog: type[Dialog], arguments: dict[str, Any]
    ) -> None:
        chat_key = self._chat_key(ctx)
        if dialog.room and not ctx.event.chat.direct:
            chat_key = (ctx.event.platform, ctx.event.chat.id, ROOM)
        active = self._conversations_of(batch, chat_key)
        previous = active.get(dialog.slot)
        # A fresh conversation starts at a random version, so buttons left over from an
        # earlier conversation in this slot can never match the new one's steps.
        version = (previous.version + 1) if previous else secrets.randbelow(10**6) * 1000 + 1
        model = self.dialogs.create(dialog)
        model.data["_direct"] = ctx.event.chat.direct
        outer, outer_version = ctx.conversation, ctx.next_version
        ctx.conversation, ctx.next_version = model, version
        try:
            await model.begin(ctx, **arguments)
        finally:
            self.dialogs.release(model)
            ctx.conversation, ctx.next_version = outer, outer_version
        self._keep(batch, chat_key, model, version)

    def cancel_dialogs(self, batch: _Batch, ctx: Context) -> list[str]:
        chat_key = self._chat_key(ctx)
        active = self._conversations_of(batch, chat_key)
        names = [conv.dialog for conv in active.values()]
        for slot in list(active):
            self._remove(batch, chat_key, slot)
        return names

    def in_room(self, batch: _Batch, ctx: Context, slot: str) -> bool:
        if ctx.event.chat.direct:
            return False
        owner = (ctx.event.platform, ctx.event.chat.id, ROOM)
        return slot in self._conversations_of(batch, owner)

    async def step_room(
        self,
        batch: _Batch,
        ctx: Context,
        slot: str,
        action: Callable[[Dialog], Awaitable[None]],
    ) -> bool:
        if not self.in_room(batch, ctx, slot):
            return False
        owner = (ctx.event.platform, ctx.event.chat.id, ROOM)
        await self._step(ctx, batch, slot, action, owner)
        return True

    async def _timeout(self, batch: _Batch, item: _Work) -> None:
        key = self._key(item)
        self._timeouts_queued.discard(key)
        event = item.event
        chat_key = key[:3]
        active = self._conversations_of(batch, chat_key)
        stored = active.get(item.slot)
        if (
            stored is None
            or stored.version != item.timeout_version
            or (stored.deadline is not None and stored.deadline > now())
        ):
            return
        event = Incoming(
            event.platform,
            event.event_id,
            Chat(event.chat.id, bool(stored.data.get("_direct"))),
            event.sender,
        )
        who = self._principal(event, await self._person(batch, (event.platform, event.sender.id)))
        ctx = await self._context(batch, event, who)
        await self._step(ctx, batch, item.slot, lambda m: m.on_timeout(ctx))
        self._collect(batch, ctx)


@dataclass(frozen=True, slots=True)
class _Host(ConversationHost):
    """The engine as one batch's contexts see it."""

    engine: Engine
    batch: _Batch

    async def start_dialog(
        self, ctx: Context, dialog: type[Dialog], arguments: dict[str, Any]
    ) -> None:
        await self.engine.start_dialog(self.batch, ctx, dialog, arguments)

    def cancel_dialogs(self, ctx: Context) -> list[str]:
        return self.engine.cancel_dialogs(self.batch, ctx)

    def in_room(self, ctx: Context, slot: str) -> bool:
        return self.engine.in_room(self.batch, ctx, slot)

    async def step_room(
        self, ctx: Context, slot: str, action: Callable[[Dialog], Awaitable[None]]
    ) -> bool:
        return await self.engine.step_room(self.batch, ctx, slot, action)
