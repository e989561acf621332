"""An event that holds the engine's batch longer than its budget is logged (what handled it,
the platform, the time; never what was written) and counted on /metrics."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.commands import Rest, Router
from bot.context import Context
from tests.support.chat import BotFactory, ask


def slow_router(seconds: float) -> Router:
    router = Router()

    @router.command("slow", summary="sleeps", args=[Rest("words", "words")])
    async def slow(ctx: Context, words: str) -> None:
        await asyncio.sleep(seconds)
        ctx.reply("done")

    return router


async def test_an_event_over_its_budget_is_logged_and_counted(
    make_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot, adapter = await make_bot(event_budget_seconds=0.05)
    bot.engine.router.include(slow_router(0.15))

    def slow_events() -> float:
        value = bot.metrics.registry.get_sample_value(
            "branchbot_slow_events_total", {"platform": "memory"}
        )
        return value or 0.0

    caplog.set_level(logging.WARNING, logger="bot.pipeline")
    await ask(bot, adapter, "mei", "/help")
    assert slow_events() == 0.0
    assert await ask(bot, adapter, "mei", "/slow my secret words") == "done"
    assert slow_events() == 1.0
    (record,) = [r for r in caplog.records if "slow event" in r.getMessage()]
    logged = record.getMessage()
    assert "/slow on memory took 0." in logged and "budget 0.050 s" in logged
    assert "secret" not in logged
