"""A message no send can get through (the adapter raises something that is not transient) is
given up after a bounded number of tries, across restarts too, and never holds up the messages
behind it: in its chat, in a folded batch, in a broadcast, whose report still comes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from bot.markup import Markup
from bot.messages import Address, Capabilities, Outgoing, TransientError
from store.models import OutboxRow
from store.repos import Repositories
from store.runtime import PendingMessage
from tests.broadcast.conftest import broadcast, organisation
from tests.conftest import BotFactory, settle
from tests.helpers import ask

POISON = "poison"


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


def encode_error() -> Exception:
    """What the webhook channel raised for a lone surrogate in a display name."""
    return UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


async def queue(
    bot: BranchBot, texts: list[str], chat: str = "dm-mei", foldable: bool = False
) -> list[int]:
    """Put messages for ``chat`` into the outbox and hand them to delivery, as the engine does."""
    direct = chat.startswith("dm-")
    user = chat.removeprefix("dm-") if direct else None
    rows: list[dict[str, Any]] = [
        {
            "platform": "memory",
            "chat_id": chat,
            "direct": direct,
            "user_id": user,
            "payload": {**Outgoing(Markup.literal(text)).to_json(), "fold": foldable},
        }
        for text in texts
    ]
    async with bot.db.session() as session:
        ids = await Repositories(session).outbox.add_many(rows)
    bot.deliveries["memory"].enqueue(
        [
            PendingMessage(i, "memory", chat, direct, user, r["payload"], 0)
            for i, r in zip(ids, rows, strict=True)
        ]
    )
    return ids


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


async def test_rows_folded_into_a_failed_head_fail_with_it(make_bot: BotFactory) -> None:
    calls: list[str] = []
    robot = poisoned(calls, encode_error)
    robot.capabilities = Capabilities(group_messages_per_minute=20)
    bot, adapter = await make_bot(robot, delivery={"max_attempts": 2})
    ids = await queue(bot, [f"{POISON} {i}" for i in range(30)], chat="room", foldable=True)
    (after,) = await queue(bot, ["not foldable"], chat="room")
    await settle(bot)
    assert len(calls) == 2, "the thirty rows were tried as one merged message"
    async with bot.db.session() as session:
        statuses = set(await session.scalars(select(OutboxRow.status).where(OutboxRow.id.in_(ids))))
    assert statuses == {"failed"}
    assert (await stored(bot, after)).status == "sent"
    assert [s.message.text.plain() for s in adapter.sent] == ["not foldable"]


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
