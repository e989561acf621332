"""Delivery: one worker per adapter takes outbox rows in order and sends them within limits.

Each chat has its own FIFO, so messages to one chat keep their order while a slow or
rate-limited chat never holds up the others. A ``RetryLater`` pauses exactly the chat (or the
whole account) for as long as the platform asked; a transient error (``TransientError``, a
network ``OSError``) backs off and retries without limit while the platform may be down: the
row loses nothing by waiting. A row that keeps failing transiently while the platform serves
other chats (more sends to them succeeded than failed since the row's previous failure) is
refused for what it is (a receiver answering 500 or 429 to one body), not for an outage: those
failures count as its attempts, like any other error's, and its rate limits pause only its own
chat. With no other traffic to tell, a row failing transiently for ``transient_give_up``
seconds and at least ``max_attempts`` tries is given up. Any other exception is the row's own
problem (a message the adapter cannot encode, an adapter bug): the row gets ``max_attempts``
tries, counted in the store so a restart does not reset them, and is then marked ``failed`` (a
dead letter), so no row can hold up the rows behind it. ``Unreachable`` ends a row without
sending it, and marks the direct chat or room with the reason until a later message gets
through. ``ChatMoved`` (the platform gave the chat a new id) moves the room binding and the
chat's queued rows to the new id, and they are sent there.
Outcomes are written back in batches. A crash before an outcome is written means the row is
sent again on start: adapters pass the row id on as an idempotency key where their platform
has one. A merge of queued rows (``fold``) is written before the merged message is sent: the
absorbed rows become ``folded`` into the first, so a crash can only send the first again. A
merged message that fails with an error that is not transient (or a transient one that counts),
or is refused (``Unreachable``: a platform refuses content that way too), is unfolded: a merge
failing says nothing about which of its rows is bad, so the head gets its own message back, the
absorbed rows are pending again, and all of them go one by one, never merged again, so only a
bad row uses up its attempts (or is refused) and the others are delivered.
An ephemeral row (``bot.outbox.payload``) loses its text with its outcome, whatever it is: the
flush that records it replaces the payload with an erased marker in the same transaction; a
vanishing row loses its chat, person and platform id there as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from prometheus_client import Counter

from bot.i18n import Translator, _, translator
from bot.markup import Markup
from bot.messages import (
    WEB_CHAT,
    Adapter,
    Address,
    Capabilities,
    ChatMoved,
    Outgoing,
    RetryLater,
    TransientError,
    Unreachable,
)
from bot.metrics import Metrics
from store.db import Database
from store.reachability import Destination
from store.repos import Repositories
from store.runtime import EPHEMERAL, VANISH, PendingMessage, erased

log = logging.getLogger(__name__)

ChatId = tuple[str, bool, str | None]

FOLD_HORIZON = 60.0
"""Seconds of a chat's send budget that queued foldable messages may take before they are
merged into one message instead of trickling out."""
FOLD_SEPARATOR = "\n\n— — —\n\n"
ORIGINAL = "original"
"""The key of a merged payload that keeps the head row's own payload: the merge is stored over
it, and undoing the merge after a failure (even after a restart) needs it back."""
LIMITER_PRUNE_EVERY = 60.0
"""Seconds between sweeps of the limiter's per-chat maps: no window is longer than a minute,
so an entry a sweep finds expired can only have been idle, and dropping it changes nothing."""
TRANSIENT = (TransientError, OSError)
"""Errors that say the platform or the network is down, not that the row is bad (``OSError``
covers timeouts and connection errors an adapter did not wrap)."""
ERROR_TEXT_LENGTH = 500


class Blame(Enum):
    """What a transient failure of a row says about the row, once the platform has shown it
    is up (see ``Delivery._judge``)."""

    COUNT = "count"
    """It uses up one of the row's attempts."""
    GIVE_UP = "give up"
    """The row is given up at once."""


def retry_delay(failures: int) -> float:
    """The wait before a row that failed transiently ``failures`` times is tried again: it grows
    with each failure up to five minutes, jittered so that rows failing together spread out."""
    return min(300.0, 2.0 ** min(failures, 8)) * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class TransientFailure:
    """The adapter's counters when a row last failed transiently: at its next failure the
    difference says whether the platform served other chats in between (only the row's own
    chat is held while it fails, so any send that succeeded meanwhile went elsewhere)."""

    served: int
    troubled: int
    since: float
    """When the row first failed transiently since the start (``Clock.monotonic`` seconds)."""


def error_text(error: BaseException) -> str:
    """An exception as the outbox stores it: bounded, and storable whatever it contains (a
    lone surrogate or a NUL byte in the message would make the outcome's write fail)."""
    text = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LENGTH]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def fold(rows: list[PendingMessage], max_length: int) -> tuple[PendingMessage, list[int]]:
    """Merge leading foldable rows into the first one: its id stays the idempotency key.
    Returns the merged row and the ids of the rows it absorbed."""
    head = rows[0]
    texts = [Markup.from_json(head.payload["text"])]
    choices: list[list[Any]] = list(head.payload.get("choices", []))
    places: list[str] = list(head.payload.get("answer_at", []))
    length = len(texts[0].plain())
    absorbed: list[int] = []
    for row in rows[1:]:
        if not row.payload.get("fold"):
            break
        text = Markup.from_json(row.payload["text"])
        length += len(text.plain()) + len(FOLD_SEPARATOR)
        if length > max_length:
            break
        texts.append(text)
        choices.extend(r for r in row.payload.get("choices", []) if r not in choices)
        places.extend(p for p in row.payload.get("answer_at", []) if p not in places)
        absorbed.append(row.id)
    payload = {
        **head.payload,
        "text": Markup.join(texts, FOLD_SEPARATOR).to_json(),
        ORIGINAL: head.payload.get(ORIGINAL, head.payload),
    }
    if choices:
        payload["choices"] = choices
    if places:  # each merged message's place to answer (``answer_elsewhere``)
        payload["answer_at"] = places
    return replace(head, payload=payload), absorbed


def degrade(message: Outgoing, capabilities: Capabilities, locale: str) -> Outgoing:
    """Fit a message to what the platform can show: buttons become numbered lines."""
    text = message.text
    if message.choices and not capabilities.buttons:
        choices = [choice for row in message.choices for choice in row if not choice.url]
        links = [
            Markup.format("[{label}]({url})", label=c.label, url=c.url)
            for row in message.choices
            for c in row
            if c.url and not capabilities.link_buttons
        ]
        kept = tuple(
            row
            for row in (tuple(c for c in r if c.url) for r in message.choices)
            if row and capabilities.link_buttons
        )
        lines = [
            Markup.format("{number}. {label}", number=i, label=c.label)
            for i, c in enumerate(choices, 1)
        ]
        hint = [translator(locale, locale)(_("Answer with the number."))] if lines else []
        if lines or links:
            text = Markup.join([text, Markup(), *lines, *hint, *links])
        message = dataclasses.replace(message, text=text, choices=kept, numbered=tuple(choices))
    if message.image is not None and not capabilities.images:
        message = dataclasses.replace(message, image=None)
    if message.document is not None and not capabilities.documents:
        note = translator(locale, locale)(
            _("The file {name} cannot be sent here."), name=message.document.name
        )
        text = Markup.join([message.text, note], "\n\n")
        message = dataclasses.replace(message, text=text, document=None)
    return message


@dataclass(frozen=True, slots=True)
class Place:
    """A direct chat people can open with the bot, for the groups that cannot take answers."""

    platform: str
    """The platform's name (``telegram``, ``web``), shown as people know it (``PLACE_NAMES``)."""
    link: str | None = None
    """Opens the direct chat, at the message's place where the message has one."""
    handle: str | None = None
    """Where the platform has no links: the bot's id to write to (Matrix)."""


def answer_elsewhere(
    message: Outgoing,
    capabilities: Capabilities,
    locale: str,
    direct: bool,
    places: Callable[[str | None], Sequence[Place]],
) -> Outgoing:
    """A group that only hears the bot (a group robot: no buttons, no direct chats) cannot
    take answers, so numbered choices there would be a dead end: the message says where to
    answer instead. ``places(payload)`` gives the direct chats the bot has (always the same
    ones, in the same order), each linked at one of ``message.answer_at`` (that survey, that
    notice's "received"): the same link for everyone in the group, since the direct chat knows
    who is reading; a digest of several gets one numbered link per message. Asked only here,
    since every other send returns before it. Link buttons stay; ``degrade`` writes them as
    links (or keeps them, ``link_buttons``)."""
    if direct or capabilities.buttons or capabilities.can_open_dm:
        return message
    links = tuple(row for row in (tuple(c for c in r if c.url) for r in message.choices) if row)
    if not message.answer_at and len(links) == sum(len(row) for row in message.choices):
        return message
    t = translator(locale, locale)
    payloads = message.answer_at or (None,)
    linked = [places(payload) for payload in payloads]
    if linked[0]:
        lines = [t(_("Nobody can answer in this group. Answer in your direct chat with the bot:"))]
        lines += [
            _place_line(t, [each[i] for each in linked], message.answer_at)
            for i in range(len(linked[0]))
        ]
    else:
        lines = [t(_("Nobody can answer in this group. Ask your secretary where to answer."))]
    text = Markup.join([message.text, Markup(), *lines])
    return dataclasses.replace(message, text=text, choices=links)


PLACE_NAMES = {"telegram": "Telegram", "matrix": "Matrix", WEB_CHAT: _("Web chat")}


def _place_line(t: Translator, place: Sequence[Place], payloads: Sequence[str]) -> Markup:
    """One platform's line: its link (one per payload, numbered when there are several), or
    where there are no links the bot's id and what to send it."""
    first = place[0]
    name = t.text(PLACE_NAMES.get(first.platform, first.platform))
    if all(p.link for p in place):
        if len(place) == 1:
            shown = Markup.format("[{link}]({link})", link=first.link)
        else:
            shown = Markup.join(
                [Markup.format("[{n}]({link})", n=n, link=p.link) for n, p in enumerate(place, 1)],
                " · ",
            )
        return Markup.format("• ") + t(_("{name}: {links}"), name=name, links=shown)
    if payloads:
        commands = Markup.join(
            [Markup.format("`/start {payload}`", payload=p) for p in payloads], " · "
        )
        return Markup.format("• ") + t(
            _("{name}: write to {handle} and send {commands}"),
            name=name,
            handle=first.handle or "",
            commands=commands,
        )
    return Markup.format("• ") + t(_("{name}: {links}"), name=name, links=first.handle or "")


def _destination(row: PendingMessage) -> Destination:
    """A direct chat is marked on its person's account, a group chat on its room."""
    return (True, row.user_id) if row.direct and row.user_id else (False, row.chat_id)


@dataclass
class Limiter:
    """Send budget: overall rate, gap per chat, and messages per minute per group chat.

    A send holds its chat from ``start`` to ``finish``, and is counted when it finishes, once
    for every platform message it produced: a text cut into three parts takes three places in
    the group's minute, and the chat's gap runs from the last of them. The topics of a chat
    (``Capabilities.topic_separator``) share the chat's budget, as the platform counts them.
    """

    capabilities: Capabilities
    next_global: float = 0.0
    paused_until: float = 0.0
    chat_ready: dict[ChatId, float] = field(default_factory=dict)
    group_sends: dict[ChatId, deque[float]] = field(default_factory=dict)
    sending: dict[ChatId, int] = field(default_factory=dict)
    next_prune: float = 0.0

    def key(self, chat: ChatId) -> ChatId:
        """The chat whose budget ``chat`` spends: itself, or the chat its topic is in."""
        separator = self.capabilities.topic_separator
        if not separator or separator not in chat[0]:
            return chat
        return (chat[0].partition(separator)[0], chat[1], chat[2])

    def account_wait(self, now: float) -> float:
        """Seconds until the account may send to any chat: while this is positive, looking at
        chats one by one is wasted work (with 10,000 chats queued, most of the CPU)."""
        ready = self.paused_until
        if self.capabilities.messages_per_second:
            ready = max(ready, self.next_global)
        return max(0.0, ready - now)

    def wait(self, chat: ChatId, now: float) -> float:
        """Seconds until ``chat`` may send; 0 means now."""
        key = self.key(chat)
        if self.sending.get(key):  # another topic of the chat is sending: look again soon
            return max(self.capabilities.chat_interval, 0.05)
        ready = max(self.paused_until, self.chat_ready.get(key, 0.0))
        per_minute = self.capabilities.group_messages_per_minute
        if per_minute and not chat[1]:
            window = self.group_sends.get(key)
            if window and len(window) >= per_minute:
                ready = max(ready, window[0] + 60.0)
        if self.capabilities.messages_per_second:
            ready = max(ready, self.next_global)
        return max(0.0, ready - now)

    def start(self, chat: ChatId, now: float) -> None:
        """A send begins: hold its chat and take its first place in the overall rate."""
        key = self.key(chat)
        self.sending[key] = self.sending.get(key, 0) + 1
        rate = self.capabilities.messages_per_second
        if rate:
            self.next_global = max(now, self.next_global) + 1.0 / rate

    def finish(self, chat: ChatId, now: float, parts: int) -> None:
        """The send ended at ``now`` having produced ``parts`` platform messages."""
        key = self.key(chat)
        left = self.sending.get(key, 0) - 1
        if left > 0:
            self.sending[key] = left
        else:
            self.sending.pop(key, None)
        rate = self.capabilities.messages_per_second
        if rate and parts > 1:
            self.next_global = max(now, self.next_global) + (parts - 1) / rate
        if self.capabilities.chat_interval:
            self.chat_ready[key] = max(
                self.chat_ready.get(key, 0.0), now + self.capabilities.chat_interval
            )
        per_minute = self.capabilities.group_messages_per_minute
        if per_minute and not chat[1] and parts:
            window = self.group_sends.setdefault(key, deque())
            window.extend([now] * parts)
            while window and window[0] <= now - 60.0:
                window.popleft()
            while len(window) > per_minute:
                window.popleft()
        if now >= self.next_prune:
            self.prune(now)

    def prune(self, now: float) -> None:
        """Forget chats whose limits have run out: an absent entry means "ready", like an
        expired one, so without this the maps would hold every chat ever sent to. One sweep a
        minute keeps the cost per send constant."""
        self.next_prune = now + LIMITER_PRUNE_EVERY
        for key in [k for k, ready in self.chat_ready.items() if ready <= now]:
            del self.chat_ready[key]
        horizon = now - 60.0
        for key in [k for k, w in self.group_sends.items() if not w or w[-1] <= horizon]:
            del self.group_sends[key]

    def budget(self, chat: ChatId, horizon: float) -> float:
        """How many messages ``chat`` may get within ``horizon`` seconds at most."""
        limits = [float("inf")]
        if self.capabilities.messages_per_second:
            limits.append(horizon * self.capabilities.messages_per_second)
        if self.capabilities.chat_interval:
            limits.append(horizon / self.capabilities.chat_interval)
        if self.capabilities.group_messages_per_minute and not chat[1]:
            limits.append(horizon / 60.0 * self.capabilities.group_messages_per_minute)
        return min(limits)

    def pause(self, chat: ChatId, seconds: float, whole_account: bool, now: float) -> None:
        if whole_account:
            self.paused_until = max(self.paused_until, now + seconds)
        else:
            key = self.key(chat)
            self.chat_ready[key] = max(self.chat_ready.get(key, 0.0), now + seconds)


class Delivery:
    def __init__(
        self,
        adapter: Adapter,
        db: Database,
        metrics: Metrics,
        *,
        default_locale: str = "zh_Hans",
        concurrency: int = 16,
        flush_interval: float = 0.02,
        max_attempts: int = 5,
        transient_give_up: float = 86400.0,
    ) -> None:
        self.adapter = adapter
        self.db = db
        self.metrics = metrics
        self.default_locale = default_locale
        self.concurrency = concurrency
        self.flush_interval = flush_interval
        self.max_attempts = max_attempts
        self.transient_give_up = transient_give_up
        self.clock = db.clock
        """How long a row has failed is measured on it (tests move it); the pacing of sends
        (rate limits, back-off) waits on the event loop, so it runs on the real time."""
        self.limiter = Limiter(adapter.capabilities)
        self._queues: dict[ChatId, deque[PendingMessage]] = {}
        self._heap: list[tuple[float, int, ChatId]] = []
        self._counter = itertools.count()
        self._busy: set[ChatId] = set()
        self._known: set[int] = set()
        self._attempts: dict[int, int] = {}
        """Failed tries of a row that count towards ``max_attempts`` (stored with the row)."""
        self._backoff: dict[int, int] = {}
        """Transient failures of a row in a row that did not count (not stored: they only pace
        the retries)."""
        self._served = 0
        """Sends the platform answered (delivered or refused): the sign that it is up."""
        self._troubled = 0
        """Transient failures of all rows."""
        self._transient: dict[int, TransientFailure] = {}
        self._results: list[tuple[int, str, str | None, str | None, int]] = []
        self._tries: list[tuple[int, int, str]] = []
        self._erasures: list[tuple[int, dict[str, Any]]] = []
        self._vanished: list[int] = []
        """Ephemeral rows with an outcome to record: their payloads go with it."""
        self._marked: set[Destination] = set()
        self._marks: list[tuple[Destination, str | None]] = []
        self._folded: dict[int, list[int]] = {}
        self._unsaved_folds: set[int] = set()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        """Asks the flusher to end between flushes: a cancel inside a transaction leaves its
        connection holding the database's write lock (SQLite), which the last flush would
        then wait on and fail."""
        self._gauge = metrics.pending.labels(adapter.name)
        self._sent: dict[str, Counter] = {}
        self.places: Callable[[str | None], Sequence[Place]] = lambda _payload: ()
        """Where people answer what a send-only group cannot take (``answer_elsewhere``)."""

    async def start(self) -> None:
        """Queue every row still pending from before (a crash or a stop), then run."""
        async with self.db.session() as session:
            repositories = Repositories(session)
            self._marked = await repositories.reachability.marked(self.adapter.name)
            self._folded = await repositories.outbox.folded(self.adapter.name)
        after = 0
        while True:
            async with self.db.session() as session:
                rows = await Repositories(session).outbox.pending(self.adapter.name, after)
            if not rows:
                break
            self.enqueue(rows)
            after = rows[-1].id
        self._loop_task = asyncio.create_task(self._run(), name=f"delivery:{self.adapter.name}")
        self._flush_task = asyncio.create_task(
            self._flusher(), name=f"outcomes:{self.adapter.name}"
        )

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._flush_task is not None:
            await self._flush_task
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()

    def enqueue(self, rows: Iterable[PendingMessage]) -> None:
        now = time.monotonic()
        for row in rows:
            if row.id in self._known:
                continue
            self._known.add(row.id)
            if row.attempts:
                self._attempts[row.id] = row.attempts
            chat = (row.chat_id, row.direct, row.user_id)
            queue = self._queues.get(chat)
            if queue is None:
                queue = self._queues[chat] = deque()
                if chat not in self._busy:
                    heapq.heappush(self._heap, (now, next(self._counter), chat))
            queue.append(row)
            self._idle.clear()
        self._gauge.set(len(self._known))
        self._wake.set()

    async def idle(self) -> None:
        """Wait until everything queued has an outcome written (tests and shutdown use it)."""
        await self._idle.wait()

    @property
    def pending(self) -> int:
        return len(self._known)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = time.monotonic()
            while (
                self._heap
                and len(self._tasks) < self.concurrency
                and self._heap[0][0] <= now
                and self.limiter.account_wait(now) <= 0
            ):
                _, _, chat = heapq.heappop(self._heap)
                if chat in self._busy or not self._queues.get(chat):
                    continue
                wait = self.limiter.wait(chat, now)
                if wait > 0:
                    heapq.heappush(self._heap, (now + wait, next(self._counter), chat))
                    continue
                self.limiter.start(chat, now)
                self._busy.add(chat)
                task = asyncio.create_task(self._send(chat))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            timeout = None
            if self._heap and len(self._tasks) < self.concurrency:
                moment = time.monotonic()
                timeout = max(0.0, self._heap[0][0] - moment, self.limiter.account_wait(moment))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _send(self, chat: ChatId) -> None:
        queue = self._queues[chat]
        self._fold(chat, queue)
        row = queue[0]
        delay = 0.0
        parts = 1  # a failed send may still have put something out: count it
        address = Address(self.adapter.name, row.chat_id, row.direct, row.user_id)
        try:
            if row.id in self._unsaved_folds:
                await self._save_fold(row)
            message = degrade(
                answer_elsewhere(
                    Outgoing.from_json(row.payload),
                    self.adapter.capabilities,
                    row.payload.get("locale") or self.default_locale,
                    row.direct,
                    self.places,
                ),
                self.adapter.capabilities,
                row.payload.get("locale") or self.default_locale,
            )
            if row.payload.get(EPHEMERAL):  # an adapter's history must not keep it either
                message = replace(message, ephemeral=True)
            ref = await self.adapter.send(address, message, str(row.id))
        except RetryLater as error:
            parts = 0
            verdict = self._judge(row)
            # Served elsewhere meanwhile: the limit is this chat's, so only it waits.
            whole_account = error.whole_account and verdict is None
            self.limiter.pause(chat, error.seconds, whole_account, time.monotonic())
            self.metrics.retries.labels(self.adapter.name, "rate_limited").inc()
            verdict = self._rate_limited_too_long(row, verdict)
            if verdict is None:
                self._backoff[row.id] = self._backoff.get(row.id, 0) + 1
            else:
                delay = await self._blamed(queue, row, error, verdict)
        except ChatMoved as error:
            parts = 0
            try:
                await self._move(error.old, error.new)
            except Exception:
                log.exception("could not move chat %s to %s; will try again", error.old, error.new)
                delay = 1.0
            else:
                self.limiter.finish(chat, time.monotonic(), parts)
                self._busy.discard(chat)
                self._done(chat, delay)
                return
        except Unreachable as error:
            if ORIGINAL in row.payload:  # a refusal may be of one row's content (HTTP 413, 422)
                delay = await self._unfold(queue, row, error)
            else:
                self._served += 1
                reason = str(error)  # "<Refusal>: <detail>", read back by Refusal.of
                self._finish(queue, row, "unreachable", None, reason, self._tried(row) + 1)
                self._marked.add(_destination(row))
                self._marks.append((_destination(row), reason))
        except TRANSIENT as error:
            log.warning("sending outbox row %d failed: %s", row.id, error)
            # a merge still unsaved failed in the store before it was sent: never the row's
            # fault, and unfolding it would drop the rows merged only in memory
            verdict = None if row.id in self._unsaved_folds else self._judge(row)
            if verdict is None:
                delay = self._back_off(row)
            else:
                delay = await self._blamed(queue, row, error, verdict)
        except Exception as error:
            if ORIGINAL in row.payload:
                delay = await self._unfold(queue, row, error)
            else:
                delay = self._failed(queue, row, error)
        else:
            parts = ref.parts
            self._served += 1
            self._finish(queue, row, "sent", ref.message_id, None, self._tried(row) + 1)
            if _destination(row) in self._marked:
                self._marked.discard(_destination(row))
                self._marks.append((_destination(row), None))
        self.limiter.finish(chat, time.monotonic(), parts)
        self._busy.discard(chat)
        self._done(chat, delay)

    def _tried(self, row: PendingMessage) -> int:
        """Earlier failed tries of ``row``: attempts that counted plus transient ones."""
        return self._attempts.get(row.id, 0) + self._backoff.get(row.id, 0)

    def _back_off(self, row: PendingMessage) -> float:
        """The delay before ``row`` is tried again after a transient failure: it grows with
        each failure in a row, up to five minutes."""
        backoff = self._backoff.get(row.id, 0) + 1
        self._backoff[row.id] = backoff
        self.metrics.retries.labels(self.adapter.name, "error").inc()
        return retry_delay(self._tried(row))

    def _judge(self, row: PendingMessage) -> Blame | None:
        """Record a transient failure of ``row`` and say what it means: ``None`` while the
        platform may be down (the failure does not count); ``Blame.COUNT`` when more sends to
        other chats succeeded than failed since the row's previous failure (the platform is up
        and refuses this row); ``Blame.GIVE_UP`` when no other chat had traffic meanwhile and
        the row has failed for ``transient_give_up`` seconds and ``max_attempts`` tries. A real
        outage fails every chat, so it never counts and loses nothing."""
        now = self.clock.monotonic()
        self._troubled += 1
        previous = self._transient.get(row.id)
        since = previous.since if previous else now
        self._transient[row.id] = TransientFailure(self._served, self._troubled, since)
        if previous is None:
            return None
        served = self._served - previous.served
        others = self._troubled - previous.troubled - 1
        if served > others:
            return Blame.COUNT
        if (
            not served
            and not others
            and now - since >= self.transient_give_up
            and self._tried(row) + 1 >= self.max_attempts
        ):
            return Blame.GIVE_UP
        return None

    def _rate_limited_too_long(self, row: PendingMessage, verdict: Blame | None) -> Blame | None:
        """A 429 says "wait", not "no": a busy group hitting its per-minute limit while other
        chats are served is the normal case and must never use up a row's attempts. Only a
        row the platform has kept rate-limiting for ``transient_give_up`` seconds while serving
        others is given up."""
        if verdict is not Blame.COUNT:
            return verdict
        failing = self._transient.get(row.id)
        if failing is not None and self.clock.monotonic() - failing.since >= self.transient_give_up:
            return Blame.GIVE_UP
        return None

    async def _blamed(
        self, queue: deque[PendingMessage], row: PendingMessage, error: Exception, verdict: Blame
    ) -> float:
        """A transient failure that is the row's own: a merge is taken apart (which of its rows
        is refused is unknown), a row alone uses up an attempt or is given up."""
        if ORIGINAL in row.payload:
            return await self._unfold(queue, row, error)
        return self._failed(queue, row, error, transient=True, give_up=verdict is Blame.GIVE_UP)

    async def _unfold(
        self, queue: deque[PendingMessage], row: PendingMessage, error: Exception
    ) -> float:
        """A merged message failed or was refused: that says nothing about which of its rows
        is bad (or whether the chat refuses them all), so undo the merge (the head gets its
        own message back, the absorbed rows are pending again) and send them one by one,
        marked never to be merged again. The failure counts for none of them. The store is
        changed first, so a restart finds them unfolded too. Returns the delay before the
        chat's next send."""
        head = replace(row, payload={**row.payload[ORIGINAL], "fold": False})
        try:
            async with self.db.session() as session:
                absorbed = await Repositories(session).outbox.unfold(head)
        except Exception:  # the store's trouble, not the rows': try the merge again later
            log.exception("could not undo the merge of outbox row %d; will try again", row.id)
            return self._back_off(row)
        log.warning(
            "merged outbox row %d failed (%s); its %d messages go one by one",
            row.id,
            error_text(error),
            len(absorbed) + 1,
        )
        self._folded.pop(row.id, None)
        self._transient.pop(row.id, None)
        queue.popleft()
        queue.extendleft(reversed([head, *absorbed]))
        for unfolded in absorbed:
            self._known.add(unfolded.id)
            if unfolded.attempts:
                self._attempts[unfolded.id] = unfolded.attempts
        self._gauge.set(len(self._known))
        self.metrics.retries.labels(self.adapter.name, "error").inc()
        return 0.0

    def _failed(
        self,
        queue: deque[PendingMessage],
        row: PendingMessage,
        error: Exception,
        *,
        transient: bool = False,
        give_up: bool = False,
    ) -> float:
        """A send raised an error that is not transient, or a transient one that is the row's
        own: try again, a few times (it may still be a fluke), then give the row up so its
        chat's queue moves on. Returns the delay before the chat's next send."""
        attempts = self._attempts.get(row.id, 0) + 1
        text = error_text(error)
        if attempts < self.max_attempts and not give_up:
            log.log(
                logging.WARNING if transient else logging.ERROR,
                "sending outbox row %d failed %s (attempt %d of %d)",
                row.id,
                "while the platform serves other chats" if transient else "unexpectedly",
                attempts,
                self.max_attempts,
                exc_info=not transient,
            )
            self._attempts[row.id] = attempts
            self._tries.append((row.id, attempts, text))
            self.metrics.retries.labels(self.adapter.name, "error").inc()
            if transient:
                return retry_delay(self._tried(row))
            return min(60.0, 0.5 * 2.0 ** (attempts - 1)) * random.uniform(0.5, 1.0)
        tries = attempts + self._backoff.get(row.id, 0)
        log.error(
            "outbox row %d to %s failed %d times and is given up (status failed): %s",
            row.id,
            "a vanishing row's chat" if row.payload.get(VANISH) else row.chat_id,
            tries,
            text,
            exc_info=error,
        )
        self._finish(queue, row, "failed", None, text, tries)
        self.metrics.failed.labels(self.adapter.name, type(error).__name__).inc()
        return 0.0

    def _done(self, chat: ChatId, delay: float) -> None:
        """The send task of ``chat`` ends: schedule the chat's next row, if any."""
        current = asyncio.current_task()
        if current is not None:
            self._tasks.discard(current)
        queue = self._queues.get(chat)
        if queue:
            ready = time.monotonic() + max(delay, self.limiter.wait(chat, time.monotonic()))
            heapq.heappush(self._heap, (ready, next(self._counter), chat))
        elif queue is not None:
            del self._queues[chat]
        self._wake.set()

    def _fold(self, chat: ChatId, queue: deque[PendingMessage]) -> None:
        """More foldable messages wait for this chat than its budget sends soon: merge them."""
        if len(queue) < 2 or not queue[0].payload.get("fold"):
            return
        if len(queue) <= self.limiter.budget(chat, FOLD_HORIZON):
            return
        merged, absorbed = fold(list(queue), self.adapter.capabilities.max_text_length)
        if not absorbed:
            return
        for _index in range(len(absorbed) + 1):
            queue.popleft()
        queue.appendleft(merged)
        self._folded.setdefault(merged.id, []).extend(absorbed)
        self._unsaved_folds.add(merged.id)
        for row_id in absorbed:
            self._attempts.pop(row_id, None)
            self._backoff.pop(row_id, None)
            self._transient.pop(row_id, None)
        self.metrics.folded.labels(self.adapter.name).inc(len(absorbed))

    async def _save_fold(self, row: PendingMessage) -> None:
        """Write a merge to the store before the merged message goes out: after a crash only
        the head can be in flight, and it carries the absorbed rows with it."""
        try:
            async with self.db.session() as session:
                await Repositories(session).outbox.fold(row.id, row.payload, self._folded[row.id])
        except Exception as error:  # the store's trouble, not the row's: never a dead letter
            raise TransientError(f"could not record the merge: {error!r}") from error
        self._unsaved_folds.discard(row.id)

    async def _move(self, old: str, new: str) -> None:
        """The platform moved chat ``old`` to ``new``: re-key its room and queued rows, in the
        store first (so a restart sends them to ``new``), then here, keeping their order."""
        async with self.db.session() as session:
            repositories = Repositories(session)
            await repositories.rooms.move(self.adapter.name, old, new)
            await repositories.outbox.move(self.adapter.name, old, new)
        log.info("%s: chat %s is now %s; room and queue moved", self.adapter.name, old, new)
        now = time.monotonic()
        for chat in [c for c in self._queues if c[0] == old]:
            rows = [dataclasses.replace(row, chat_id=new) for row in self._queues.pop(chat)]
            target = (new, chat[1], chat[2])
            queue = self._queues.setdefault(target, deque())
            head = [queue.popleft()] if target in self._busy and queue else []  # in flight
            merged = head + sorted([*queue, *rows], key=lambda row: row.id)
            queue.clear()
            queue.extend(merged)
            if target not in self._busy:
                heapq.heappush(self._heap, (now, next(self._counter), target))
        if (False, old) in self._marked:
            self._marked.discard((False, old))
            self._marked.add((False, new))

    def _finish(
        self,
        queue: deque[PendingMessage],
        row: PendingMessage,
        status: str,
        ref: str | None,
        error: str | None,
        attempts: int,
    ) -> None:
        queue.popleft()
        self._results.append((row.id, status, ref, error, attempts))
        if row.payload.get(VANISH):  # ephemeral too: never merged
            self._vanished.append(row.id)  # recorded after its outcome (finish_many)
        elif row.payload.get(EPHEMERAL):  # never merged (``bot.outbox.payload``)
            self._erasures.append((row.id, erased(row.payload)))
        for absorbed in self._folded.pop(row.id, []):
            self._results.append((absorbed, status, ref, error, 0))
        self._attempts.pop(row.id, None)
        self._backoff.pop(row.id, None)
        self._transient.pop(row.id, None)
        self._unsaved_folds.discard(row.id)
        sent = self._sent.get(status)
        if sent is None:  # the labelled child, looked up once per outcome, not per send
            sent = self._sent[status] = self.metrics.sent.labels(self.adapter.name, status)
        sent.inc()

    async def _flusher(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.flush_interval)
            try:
                await self._flush()
            except Exception:
                log.exception("could not record delivery outcomes; will try again")

    async def _flush(self) -> None:
        if not self._results and not self._marks and not self._tries:
            return
        results, self._results = self._results, []
        marks, self._marks = self._marks, []
        tries, self._tries = self._tries, []
        erasures, self._erasures = self._erasures, []
        vanished, self._vanished = self._vanished, []
        try:
            async with self.db.session() as session:
                repositories = Repositories(session)
                await repositories.outbox.tried_many(tries)
                await repositories.outbox.finish_many(results)
                await repositories.outbox.erase_many(erasures)
                await repositories.outbox.vanish_many(vanished)
                await repositories.reachability.set_many(self.adapter.name, marks)
        except BaseException:  # a cancelled flush must not lose outcomes either
            self._results[:0] = results
            self._marks[:0] = marks
            self._tries[:0] = tries
            self._erasures[:0] = erasures
            self._vanished[:0] = vanished
            raise
        for row_id, *_rest in results:
            self._known.discard(row_id)
        self._gauge.set(len(self._known))
        if not self._known:
            self._idle.set()
