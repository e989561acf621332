"""A message no send can get through (the adapter raises something that is not transient) is
given up after a bounded number of tries, across restarts too, and never holds up the messages
behind it: in its chat, in a broadcast, whose report still comes, and in a merged message, which
is unfolded so that only the bad row fails and the rows merged with it are delivered. A message
the platform refuses with a transient error (a 500, a 429) every time while it serves the other
chats is given up the same way; a real outage, where every chat fails, loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select, text

from adapters.memory import MemoryAdapter
from bot import delivery
from bot.app import BranchBot
from bot.delivery import FOLD_SEPARATOR
from bot.markup import Markup
from bot.messages import (
    Address,
    Capabilities,
    Outgoing,
    RetryLater,
    SentRef,
    TransientError,
    Unreachable,
)
from store.broadcast_tables import Broadcast
from store.clock import ManualClock
from store.models import OutboxRow
from store.runtime import Outbox
from tests.support.broadcasts import broadcast, finished, organisation
from tests.support.chat import BotFactory, ask, settle
from tests.support.outbox import POISON, encode_error, queue


def poisoned(
    calls: list[str], error: Callable[[], Exception], tried: asyncio.Event | None = None
) -> MemoryAdapter:
    """A memory adapter whose every send of a text containing ``POISON`` raises ``error()``;
    ``tried`` is set at the second such send."""

    def fail(address: Address, message: Outgoing) -> Exception | None:
        if POISON in message.text.plain():
            calls.append(address.chat_id)
            if tried is not None and len(calls) == 2:
                tried.set()
            return error()
        return None

    return MemoryAdapter(fail=fail)


async def stored(bot: BranchBot, row_id: int) -> OutboxRow:
    async with bot.db.session() as session:
        row = await session.get(OutboxRow, row_id)
        assert row is not None
        return row


def failed_metric(bot: BranchBot, error: str) -> float | None:
    return bot.metrics.registry.get_sample_value(
        "branchbot_messages_failed_total", {"platform": "memory", "error": error}
    )


async def test_a_poisoned_row_fails_after_its_attempts_and_the_chat_moves_on(
    make_bot: BotFactory,
) -> None:
    calls: list[str] = []
    bot, adapter = await make_bot(poisoned(calls, encode_error), delivery={"max_attempts": 3})
    poison, *behind = await queue(bot, [f"{POISON} first", "second", "third"])
    await settle(bot)
    assert [s.message.text.plain() for s in adapter.sent] == ["second", "third"]
    assert calls == ["dm-mei"] * 3
    row = await stored(bot, poison)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.error is not None and row.error.startswith("UnicodeEncodeError")
    assert [(await stored(bot, i)).status for i in behind] == ["sent", "sent"]
    assert failed_metric(bot, "UnicodeEncodeError") == 1
    assert (
        bot.metrics.registry.get_sample_value(
            "branchbot_messages_total", {"platform": "memory", "outcome": "failed"}
        )
        == 1
    )


async def test_the_attempts_survive_a_restart(make_bot: BotFactory) -> None:
    calls: list[str] = []
    tried = asyncio.Event()
    bot, _ = await make_bot(poisoned(calls, encode_error, tried), delivery={"max_attempts": 3})
    poison, behind = await queue(bot, [f"{POISON} first", "second"])
    async with asyncio.timeout(10):
        await tried.wait()
    await bot.stop()
    row = await stored(bot, poison)
    assert (row.status, row.attempts) == ("pending", 2), "the tries so far are stored"

    bot, adapter = await make_bot(poisoned(calls, encode_error), delivery={"max_attempts": 3})
    await settle(bot)
    assert len(calls) == 3, "the restart went on counting instead of starting again"
    assert (await stored(bot, poison)).status == "failed"
    assert (await stored(bot, behind)).status == "sent"
    assert [s.message.text.plain() for s in adapter.sent] == ["second"]
    assert failed_metric(bot, "UnicodeEncodeError") == 1


async def test_an_error_text_the_store_cannot_hold_is_stored_safely(
    make_bot: BotFactory,
) -> None:
    calls: list[str] = []
    nasty = poisoned(calls, lambda: ValueError("bad \ud800 and \x00 inside"))
    bot, _ = await make_bot(nasty, delivery={"max_attempts": 1})
    poison, behind = await queue(bot, [POISON, "after"])
    await settle(bot)
    row = await stored(bot, poison)
    assert row.status == "failed" and row.error == "ValueError: bad \\ud800 and \\x00 inside"
    assert (await stored(bot, behind)).status == "sent"


async def test_transient_errors_are_retried_and_not_counted(make_bot: BotFactory) -> None:
    failures = [TransientError("callback answered 502"), ConnectionResetError("reset")]

    def flaky(address: Address, message: Outgoing) -> Exception | None:
        return failures.pop(0) if failures else None

    bot, adapter = await make_bot(MemoryAdapter(fail=flaky), delivery={"max_attempts": 1})
    (row_id,) = await queue(bot, ["hello"])
    await settle(bot, timeout=20)
    assert [s.message.text.plain() for s in adapter.sent] == ["hello"]
    row = await stored(bot, row_id)
    assert (row.status, row.attempts) == ("sent", 3)


@pytest.fixture
def short_fold_horizon(monkeypatch: pytest.MonkeyPatch) -> Capabilities:
    """A room that is slow for the fold but not for the test: with a horizon of one second, 600
    messages a minute is a budget of 10, so thirty queued notices are merged, while the
    notices sent one by one after an unfold still go out at once."""
    monkeypatch.setattr(delivery, "FOLD_HORIZON", 1.0)
    return Capabilities(group_messages_per_minute=600)


@dataclass
class HeldRoom(MemoryAdapter):
    """A memory adapter whose sends to the room wait while ``open`` is clear, and whose send of
    a message ``hang`` picks never ends (the bot is killed before it goes out)."""

    open: asyncio.Event = field(default_factory=asyncio.Event)
    hang: Callable[[str], bool] | None = None
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        if address.chat_id == "room":
            await self.open.wait()
            if self.hang is not None and self.hang(message.text.plain()):
                self.hanging.set()
                await asyncio.Event().wait()
        return await super().send(address, message, message_id)


def held_room(
    calls: list[str], capabilities: Capabilities, hang: Callable[[str], bool] | None = None
) -> HeldRoom:
    adapter = HeldRoom(
        fail=poisoned(calls, encode_error).fail, capabilities=capabilities, hang=hang
    )
    adapter.open.set()
    return adapter


NOTICES = [f"{POISON} notice {i}" if i == 10 else f"notice {i}" for i in range(29)]
ROOM: tuple[str, bool, None] = ("room", False, None)


async def fold_with_a_broadcast(bot: BranchBot, adapter: HeldRoom) -> asyncio.Task[int]:
    """Thirty foldable notices queued at once for the room: 29 plain ones (the eleventh
    poisoned) and a broadcast's, behind a message held at the room's door. Returns the task
    that waits for the broadcast's report."""
    await organisation(bot, adapter)
    adapter.sent.clear()
    adapter.open.clear()
    await queue(bot, ["opener"], chat="room")
    await queue(bot, NOTICES, chat="room", foldable=True)
    report = asyncio.create_task(broadcast(bot))
    await adapter.wait_for(4)  # "Sending N1 to 4 recipients", and the notice in three chats
    queued = bot.deliveries["memory"]._queues[ROOM]
    assert len(queued) == 1 + 29 + 1, "the room's notice was queued with the direct chats'"
    adapter.open.set()
    return report


def room_texts(adapter: MemoryAdapter) -> list[str]:
    return [s.message.text.plain() for s in adapter.sent if s.address.chat_id == "room"]


async def outcomes(bot: BranchBot) -> dict[str, tuple[str, int]]:
    """Status and attempts of the room's notices, by text."""
    async with bot.db.session() as session:
        rows = await session.scalars(select(OutboxRow).where(OutboxRow.chat_id == "room"))
        return {
            Markup.from_json(row.payload["text"]).plain(): (row.status, row.attempts)
            for row in rows
        }


def assert_unfolded_and_delivered(sent: list[str], stored: dict[str, tuple[str, int]]) -> None:
    innocent = [text for text in NOTICES if POISON not in text]
    assert sent[:-1] == innocent, "each notice alone, in order, without the poisoned one"
    assert "Hello all" in sent[-1] and FOLD_SEPARATOR not in sent[-1]
    assert stored[NOTICES[10]] == ("failed", 3)
    assert {stored[text][0] for text in innocent} == {"sent"}
    assert {s for text, (s, _) in stored.items() if "Hello all" in text} == {"sent"}


def report_in(adapter: MemoryAdapter, number: int) -> str:
    return next(
        s.message.text.plain()
        for s in adapter.sent
        if s.address.chat_id == "dm-sam" and f"N{number} sent:" in s.message.text.plain()
    )


async def test_a_poisoned_notice_in_a_merge_fails_alone_and_the_others_are_delivered(
    make_bot: BotFactory, short_fold_horizon: Capabilities
) -> None:
    calls: list[str] = []
    adapter = held_room(calls, short_fold_horizon)
    bot, _ = await make_bot(adapter, delivery={"max_attempts": 3})
    report = await fold_with_a_broadcast(bot, adapter)
    async with asyncio.timeout(20):
        number = await report
    sent = room_texts(adapter)
    assert sent[0] == "opener"
    assert_unfolded_and_delivered(sent[1:], await outcomes(bot))
    assert len(calls) == 1 + 3, "tried once merged, then alone until given up"
    assert f"N{number} sent: 4 delivered, 0 unreachable." in report_in(adapter, number)
    assert failed_metric(bot, "UnicodeEncodeError") == 1


@pytest.mark.parametrize("crash", ["merged", "unfolded"])
async def test_a_restart_after_the_merge_or_the_unfold_still_delivers_the_others(
    make_bot: BotFactory, short_fold_horizon: Capabilities, crash: str
) -> None:
    """Killed with the merge written and not sent, or with the unfold written and the head
    not yet sent again: the restarted bot sends what is left, each row alone."""
    calls: list[str] = []

    def merged(text: str) -> bool:
        return FOLD_SEPARATOR in text

    def head_alone(text: str) -> bool:
        return text == NOTICES[0]

    hang = merged if crash == "merged" else head_alone
    adapter = held_room(calls, short_fold_horizon, hang)
    bot, _ = await make_bot(adapter, delivery={"max_attempts": 3})
    report = await fold_with_a_broadcast(bot, adapter)
    async with asyncio.timeout(10):
        await adapter.hanging.wait()
    report.cancel()
    for task in list(bot.deliveries["memory"]._tasks):  # a kill of the send in flight
        task.cancel()
    await bot.stop()
    stored = await outcomes(bot)
    if crash == "merged":
        assert stored[NOTICES[1]][0] == "folded" and calls == []
    else:
        assert stored[NOTICES[1]][0] == "pending" and len(calls) == 1
    assert room_texts(adapter) == ["opener"]

    restarted = held_room(calls, short_fold_horizon)
    bot, _ = await make_bot(restarted, delivery={"max_attempts": 3})
    async with bot.db.session() as session:
        number = await session.scalar(select(func.max(Broadcast.id)))
    assert number is not None
    await finished(bot, number, timeout=20)
    assert_unfolded_and_delivered(room_texts(restarted), await outcomes(bot))
    assert len(calls) == 1 + 3
    assert f"N{number} sent: 4 delivered, 0 unreachable." in report_in(restarted, number)


async def test_a_stop_lets_the_outcomes_being_written_finish(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop that cut the flusher off inside its transaction left that connection holding
    SQLite's write lock, and the last flush failed on it with "database is locked" (seen in
    CI): the flush in progress is now finished, then the stop goes on."""
    real = Outbox.finish_many
    inside = asyncio.Event()
    writes: list[str] = []

    async def slow(self: Outbox, results: Any) -> None:
        writes.append("begun")
        await real(self, results)
        inside.set()
        await asyncio.sleep(0.3)
        writes.append("done")

    monkeypatch.setattr(Outbox, "finish_many", slow)
    bot, _ = await make_bot()
    (row,) = await queue(bot, ["hello"])
    async with asyncio.timeout(10):
        await inside.wait()
    await bot.stop()
    assert writes == ["begun", "done"], "one write, finished, not cut off and written again"
    assert (await stored(bot, row)).status == "sent"


async def test_a_merge_of_poisoned_rows_is_unfolded_and_each_fails_alone(
    make_bot: BotFactory, short_fold_horizon: Capabilities
) -> None:
    calls: list[str] = []
    robot = poisoned(calls, encode_error)
    robot.capabilities = short_fold_horizon
    bot, adapter = await make_bot(robot, delivery={"max_attempts": 1})
    ids = await queue(bot, [f"{POISON} {i}" for i in range(30)], chat="room", foldable=True)
    (after,) = await queue(bot, ["not foldable"], chat="room")
    await settle(bot, timeout=20)
    assert len(calls) == 1 + 30, "tried once merged, then each alone"
    async with bot.db.session() as session:
        statuses = set(await session.scalars(select(OutboxRow.status).where(OutboxRow.id.in_(ids))))
    assert statuses == {"failed"}
    assert (await stored(bot, after)).status == "sent"
    assert [s.message.text.plain() for s in adapter.sent] == ["not foldable"]


async def test_a_refused_merge_is_unfolded_and_only_the_refused_row_is_unreachable(
    make_bot: BotFactory, short_fold_horizon: Capabilities
) -> None:
    """A platform refuses content as it refuses a chat (Telegram's "can't parse entities", a
    webhook's 413 or 422): one refused row must not make the merge's others unreachable."""
    calls: list[str] = []
    robot = poisoned(calls, lambda: Unreachable("refused: can't parse entities"))
    robot.capabilities = short_fold_horizon
    bot, adapter = await make_bot(robot)
    texts = [f"{POISON} {i}" if i == 10 else f"notice {i}" for i in range(30)]
    ids = await queue(bot, texts, chat="room", foldable=True)
    await settle(bot, timeout=20)
    assert len(calls) == 1 + 1, "tried once merged, then alone"
    assert [s.message.text.plain() for s in adapter.sent] == texts[:10] + texts[11:]
    statuses = [(await stored(bot, i)).status for i in ids]
    assert statuses == ["sent"] * 10 + ["unreachable"] + ["sent"] * 19


async def test_a_broadcast_with_a_poisoned_recipient_still_reports(make_bot: BotFactory) -> None:
    def fail(address: Address, message: Outgoing) -> Exception | None:
        if address.chat_id == "dm-mei" and "Hello all" in message.text.plain():
            return encode_error()
        return None

    bot, adapter = await make_bot(MemoryAdapter(fail=fail), delivery={"max_attempts": 2})
    await organisation(bot, adapter)
    number = await broadcast(bot)
    report = next(
        s.message.text.plain()
        for s in adapter.sent
        if s.address.chat_id == "dm-sam" and "delivered" in s.message.text.plain()
    )
    assert f"N{number} sent: 3 delivered, 0 unreachable, 1 failed." in report
    assert "Mei (direct chat): the message could not be sent, even after several tries" in report
    received = {s.address.chat_id for s in adapter.sent if "Hello all" in s.message.text.plain()}
    assert received == {"dm-sam", "dm-kai", "room"}
    acks = await ask(bot, adapter, "sam", f"/acks {number}")
    assert "Not yet: Kai, Sam" in acks and "Not reached in their direct chat: Mei" in acks


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transient failures retried after 50 ms instead of seconds to minutes."""
    monkeypatch.setattr(delivery, "retry_delay", lambda failures: 0.05)


TRICKLE = Capabilities(chat_interval=0.02)
"""Fifty messages a second per chat: a hundred queued for another chat are traffic for two
seconds, during which the poisoned row fails several times."""


def refused(calls: list[str], error: Callable[[], Exception]) -> MemoryAdapter:
    robot = poisoned(calls, error)
    robot.capabilities = TRICKLE
    return robot


def texts_to(adapter: MemoryAdapter, chat: str) -> list[str]:
    return [s.message.text.plain() for s in adapter.sent if s.address.chat_id == chat]


async def test_a_row_refused_with_a_5xx_while_others_are_served_fails_and_its_chat_moves_on(
    make_bot: BotFactory, quick_retries: None
) -> None:
    """The probe: a receiver answering 500 only to bodies containing the poison, mei's
    ``/join POISONX`` echoed back, then ``/help``."""
    calls: list[str] = []
    bot, adapter = await make_bot(
        refused(calls, lambda: TransientError("callback answered 500")),
        delivery={"max_attempts": 3},
    )
    others = [f"other {i}" for i in range(100)]
    await queue(bot, others, chat="dm-kai")
    poison, behind = await queue(bot, [f"{POISON}X is not an invite code", "help"])
    await settle(bot, timeout=20)
    row = await stored(bot, poison)
    assert (row.status, row.error) == ("failed", "TransientError: callback answered 500")
    assert row.attempts == len(calls) == 1 + 3, "the first failure has nothing to compare with"
    assert (await stored(bot, behind)).status == "sent"
    assert texts_to(adapter, "dm-mei") == ["help"]
    assert texts_to(adapter, "dm-kai") == others
    assert failed_metric(bot, "TransientError") == 1


async def test_a_row_always_rate_limited_fails_and_stops_pausing_the_account(
    make_bot: BotFactory, quick_retries: None
) -> None:
    """Each 429 comes twelve hours after the one before: past the give-up time of a day."""
    calls: list[str] = []
    clock = ManualClock()

    def limited() -> Exception:
        clock.advance(hours=12)
        return RetryLater(0.05, whole_account=True)

    bot, adapter = await make_bot(
        refused(calls, limited), clock=clock, delivery={"max_attempts": 3}
    )
    others = [f"other {i}" for i in range(100)]
    await queue(bot, others, chat="dm-kai")
    poison, behind = await queue(bot, [POISON, "help"])
    await settle(bot, timeout=20)
    assert (await stored(bot, poison)).status == "failed"
    assert (await stored(bot, behind)).status == "sent"
    assert texts_to(adapter, "dm-kai") == others
    assert failed_metric(bot, "RetryLater") == 1


async def test_a_busy_group_rate_limited_while_others_are_served_loses_nothing(
    make_bot: BotFactory, quick_retries: None
) -> None:
    """Telegram answers a group over its 20 a minute with a 429 for that chat: wait, never
    use up the row's attempts, however many 429s come while other chats are served."""
    limited = [8]

    def rate_limited(address: Address, message: Outgoing) -> Exception | None:
        if address.chat_id != "dm-mei" or limited[0] == 0:
            return None
        limited[0] -= 1
        return RetryLater(0.02, whole_account=False)

    robot = MemoryAdapter(fail=rate_limited)
    robot.capabilities = TRICKLE
    bot, adapter = await make_bot(robot, delivery={"max_attempts": 3})
    others = [f"other {i}" for i in range(100)]
    await queue(bot, others, chat="dm-kai")
    notice, behind = await queue(bot, ["the notice", "help"])
    await settle(bot, timeout=20)
    assert (await stored(bot, notice)).status == "sent"
    assert (await stored(bot, behind)).status == "sent"
    assert texts_to(adapter, "dm-kai") == others
    assert limited == [0], "all eight 429s were answered by waiting"
    assert not failed_metric(bot, "RetryLater")


async def test_a_row_failing_alone_for_the_give_up_time_fails(
    make_bot: BotFactory, quick_retries: None
) -> None:
    """No other chat has traffic to show the platform is up: time and tries decide. Each
    failure comes twelve hours after the one before, so the third is a day after the first:
    the give-up time, and the third try."""
    calls: list[str] = []
    clock = ManualClock()

    def failing() -> Exception:
        clock.advance(hours=12)
        return TransientError("callback answered 500")

    bot, adapter = await make_bot(
        refused(calls, failing), clock=clock, delivery={"max_attempts": 3}
    )
    poison, behind = await queue(bot, [POISON, "help"])
    await settle(bot, timeout=20)
    row = await stored(bot, poison)
    assert row.status == "failed" and row.attempts == len(calls) == 3
    assert (await stored(bot, behind)).status == "sent"
    assert texts_to(adapter, "dm-mei") == ["help"]


@dataclass
class Outage:
    """Every send fails transiently while ``down``, four hours on ``clock`` after the failure
    before; ``enough`` is set once every one of ``chats`` has failed eight times (more than the
    attempts allow, and for more than a day) since ``last`` began."""

    chats: list[str]
    down: bool = True
    calls: list[str] = field(default_factory=list)
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    clock: ManualClock = field(default_factory=ManualClock)

    def fail(self, address: Address, message: Outgoing) -> Exception | None:
        if not self.down:
            return None
        self.clock.advance(hours=4)
        self.calls.append(address.chat_id)
        if min(self.calls.count(chat) for chat in self.chats) >= 8:
            self.enough.set()
        return TransientError("callback answered 503")

    async def last(self) -> None:
        async with asyncio.timeout(10):
            await self.enough.wait()
        self.calls.clear()
        self.enough.clear()


async def test_an_outage_of_every_chat_keeps_every_row_and_sends_them_all_after(
    make_bot: BotFactory, quick_retries: None
) -> None:
    """Every send fails transiently, for longer than the give-up time and more than the
    attempts: nothing is given up, and everything goes out, in order, once the platform is
    back; across a restart too."""
    chats = {chat: [f"{chat} {i}" for i in range(3)] for chat in ("dm-mei", "dm-kai", "room")}
    outage = Outage(list(chats))
    settings = {"max_attempts": 2}
    bot, _ = await make_bot(MemoryAdapter(fail=outage.fail), clock=outage.clock, delivery=settings)
    ids = [i for chat, texts in chats.items() for i in await queue(bot, texts, chat=chat)]
    await outage.last()
    await bot.stop()
    assert {(await stored(bot, i)).status for i in ids} == {"pending"}
    assert failed_metric(bot, "TransientError") is None

    bot, adapter = await make_bot(
        MemoryAdapter(fail=outage.fail), clock=outage.clock, delivery=settings
    )
    await outage.last()
    assert {(await stored(bot, i)).status for i in ids} == {"pending"}
    outage.down = False
    await settle(bot, timeout=20)
    assert {(await stored(bot, i)).status for i in ids} == {"sent"}
    for chat, texts in chats.items():
        assert texts_to(adapter, chat) == texts
    assert failed_metric(bot, "TransientError") is None


async def test_the_transient_attempts_survive_a_restart(
    make_bot: BotFactory, quick_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    three = asyncio.Event()

    def fail(address: Address, message: Outgoing) -> Exception | None:
        if POISON in message.text.plain():
            calls.append(address.chat_id)
            if len(calls) == 3:
                three.set()
                # the "crash" is now: no fourth try before it, however slowly a loaded
                # machine gets to the stop (50 ms retries had time for two more)
                monkeypatch.setattr(delivery, "retry_delay", lambda failures: 3600.0)
            return TransientError("callback answered 500")
        return None

    def robot() -> MemoryAdapter:
        return MemoryAdapter(fail=fail, capabilities=TRICKLE)

    bot, _ = await make_bot(robot(), delivery={"max_attempts": 4})
    await queue(bot, [f"other {i}" for i in range(200)], chat="dm-kai")
    poison, behind = await queue(bot, [POISON, "help"])
    async with asyncio.timeout(10):
        await three.wait()
    await bot.stop()
    row = await stored(bot, poison)
    assert (row.status, row.attempts) == ("pending", 2), "two counted, the first did not"

    monkeypatch.setattr(delivery, "retry_delay", lambda failures: 0.05)
    bot, adapter = await make_bot(robot(), delivery={"max_attempts": 4})
    await settle(bot, timeout=20)
    assert len(calls) == 3 + 1 + 2, "the restart went on counting from two"
    assert (await stored(bot, poison)).status == "failed"
    assert (await stored(bot, behind)).status == "sent"
    assert texts_to(adapter, "dm-mei") == ["help"]
    assert failed_metric(bot, "TransientError") == 1


async def test_a_merge_refused_with_a_5xx_is_unfolded_and_only_the_bad_notice_fails(
    make_bot: BotFactory, quick_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge that keeps getting 500s while other chats are served is taken apart, as for any
    error of its own: only the poisoned notice uses up its tries, the others are delivered."""
    monkeypatch.setattr(delivery, "FOLD_HORIZON", 1.0)
    calls: list[str] = []
    robot = poisoned(calls, lambda: TransientError("callback answered 500"))
    robot.capabilities = Capabilities(group_messages_per_minute=600, chat_interval=0.02)
    bot, adapter = await make_bot(robot, delivery={"max_attempts": 3})
    others = [f"other {i}" for i in range(300)]
    await queue(bot, others, chat="dm-kai")
    ids = await queue(bot, NOTICES, chat="room", foldable=True)
    await settle(bot, timeout=30)
    assert texts_to(adapter, "room") == [text for text in NOTICES if POISON not in text]
    statuses = [(await stored(bot, i)).status for i in ids]
    assert statuses == ["sent"] * 10 + ["failed"] + ["sent"] * 18
    assert len(calls) == 2 + 1 + 3, "merged twice (the second counts), then alone"
    assert texts_to(adapter, "dm-kai") == others
    assert failed_metric(bot, "TransientError") == 1


REFUSE_FOLDS = {
    "sqlite": [
        "CREATE TRIGGER refuse_folds BEFORE UPDATE ON outbox WHEN NEW.status = 'folded' "
        "BEGIN SELECT RAISE(ABORT, 'no merges today'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_folds() RETURNS trigger AS "
        "$$ BEGIN RAISE EXCEPTION 'no merges today'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_folds BEFORE UPDATE ON outbox FOR EACH ROW "
        "WHEN (NEW.status = 'folded') EXECUTE FUNCTION refuse_folds()",
    ],
}
ALLOW_FOLDS = {
    "sqlite": ["DROP TRIGGER refuse_folds"],
    "postgresql": ["DROP TRIGGER refuse_folds ON outbox", "DROP FUNCTION refuse_folds()"],
}


async def run_sql(bot: BranchBot, statements: dict[str, list[str]]) -> None:
    async with bot.db.session() as session:
        for statement in statements[bot.db.engine.dialect.name]:
            await session.execute(text(statement))


async def test_a_merge_the_store_cannot_record_is_not_blamed_on_its_rows(
    make_bot: BotFactory, quick_retries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording a merge fails in the store, again and again, while other chats are served:
    that is the store's trouble, retried without counting; taking apart a merge that exists
    only in memory would lose the rows in it."""
    monkeypatch.setattr(delivery, "FOLD_HORIZON", 1.0)
    robot = MemoryAdapter(
        capabilities=Capabilities(group_messages_per_minute=600, chat_interval=0.02)
    )
    bot, adapter = await make_bot(robot, delivery={"max_attempts": 2})
    await run_sql(bot, REFUSE_FOLDS)
    await queue(bot, [f"other {i}" for i in range(100)], chat="dm-kai")
    notices = [f"notice {i}" for i in range(30)]
    ids = await queue(bot, notices, chat="room", foldable=True)
    await asyncio.sleep(1.0)  # about twenty failed merges, while the other chat is served
    retries = bot.metrics.registry.get_sample_value(
        "branchbot_send_retries_total", {"platform": "memory", "reason": "error"}
    )
    assert retries is not None and retries >= 3
    assert texts_to(adapter, "room") == []
    await run_sql(bot, ALLOW_FOLDS)
    await settle(bot, timeout=20)
    assert "\n".join(texts_to(adapter, "room")).replace(FOLD_SEPARATOR, "\n") == "\n".join(notices)
    assert {(await stored(bot, i)).status for i in ids} == {"sent"}
