"""Edges found in review: odd numbers, old buttons, failed commits, cancelled flushes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.batch import Batch
from bot.messages import Capabilities, TransientError
from tests.support.chat import BotFactory, ask, settle


@pytest.mark.parametrize("typed", ["²", "1" * 5000, "0", "-1", "3"])
async def test_odd_numbers_are_not_answers_and_crash_nothing(
    make_bot: BotFactory, typed: str
) -> None:
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    assert "2. English" in await ask(bot, adapter, "mei", "/lang")
    answer = await ask(bot, adapter, "mei", typed)
    assert answer == "Please choose 中文 or English."
    # The question is still open and answerable by a proper number.
    assert "English" in await ask(bot, adapter, "mei", "2")


async def test_a_button_from_a_finished_conversation_never_matches_a_new_one(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "mei", "/lang")
    old = adapter.sent[-1].message.choices[0][1].payload
    await ask(bot, adapter, "mei", "/cancel")
    await ask(bot, adapter, "mei", "/lang")
    new = adapter.sent[-1].message.choices[0][1].payload
    assert old != new
    answer = await ask(bot, adapter, "mei", choice=old)
    assert "nothing was changed" in answer
    assert "English" in await ask(bot, adapter, "mei", choice=new)


async def test_a_failed_commit_leaves_no_trace_in_the_caches(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, adapter = await make_bot()
    write = Batch.save
    failures = [RuntimeError("disk full")]

    async def flaky(batch: Any) -> Any:
        if failures:
            raise failures.pop()
        return await write(batch)

    monkeypatch.setattr(Batch, "save", flaky)
    assert "Sorry, something went wrong" in await ask(bot, adapter, "mei", "/lang zh")
    # The language change was rolled back: the next answer is in English again.
    answer = await ask(bot, adapter, "mei", "/me")
    assert answer.isascii(), answer


async def test_a_cancelled_outcome_flush_keeps_the_outcomes(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    delivery = bot.deliveries["memory"]
    await ask(bot, adapter, "mei", "/me")
    delivery._results.append((10**9, "sent", "ref", None, 1))

    @contextlib.asynccontextmanager
    async def cancelled() -> AsyncIterator[Any]:
        raise asyncio.CancelledError
        yield

    real_session = delivery.db.session
    delivery.db.session = cancelled  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await delivery._flush()
    assert delivery._results == [(10**9, "sent", "ref", None, 1)]
    delivery.db.session = real_session  # type: ignore[method-assign]
    await delivery._flush()
    assert delivery._results == []
    await settle(bot)


async def test_names_longer_than_the_columns_are_stored_safely(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    long_name = "名" * 300
    answer = await ask(bot, adapter, "boss", f"/branch add {long_name}")
    assert "at most 64 characters" in answer
    assert "no branches yet" in await ask(bot, adapter, "boss", "/branches")
    answer = await ask(bot, adapter, "mei", "/me", name="M" * 500)
    assert "Sorry, something went wrong" not in answer


class _ClosingAdapter(MemoryAdapter):
    """Sends take a while and fail once the adapter is stopped, like a closed HTTP client."""

    stopped = False

    async def stop(self) -> None:
        self.stopped = True
        await super().stop()

    async def send(self, address: Any, message: Any, message_id: str) -> Any:
        await asyncio.sleep(0.3)
        if self.stopped:
            raise TransientError("connector is closed")
        return await super().send(address, message, message_id)


async def test_a_send_in_flight_at_stop_completes_and_is_not_sent_again(
    make_bot: BotFactory,
) -> None:
    slow = _ClosingAdapter()
    bot, _ = await make_bot(slow)
    await slow.say("mei", "/me")
    await asyncio.sleep(0.1)  # the send has started
    await bot.stop()
    assert len(slow.sent) == 1
    bot, adapter = await make_bot()
    await asyncio.sleep(0.3)
    assert adapter.sent == []
