"""The dialog base: a dialog reads as its diagram (states, transitions, ``on_enter_<state>``,
``@answers``), starts with typed arguments, and carries on after a restart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, configure
from bot.commands import Router, Word
from bot.context import Context
from bot.conversation import Dialog, answers
from bot.feature import Feature
from bot.markup import Markup
from bot.messages import Choice
from tests.support.chat import ask, settle

FALLBACK = "Please answer the question above, or send /cancel to stop."
IDLE = "I only respond to commands; /help lists them."
"""The answer to text when no conversation is active."""


class Order(Dialog["Order.Arguments"]):
    """size --sized--> note; the note ends it."""

    @dataclass(frozen=True, slots=True)
    class Arguments:
        dish: str

    name = "test_order"
    states = ["size", "note"]
    transitions = [{"trigger": "sized", "source": "size", "dest": "note"}]
    entered: list[str] = []
    """Every state entered, by any order (a test reads and clears it)."""

    async def setup(self, ctx: Context, arguments: Order.Arguments) -> None:
        self.data["dish"] = arguments.dish

    async def on_enter_size(self, ctx: Context) -> None:
        self.entered.append("size")
        ctx.reply(
            Markup.literal(f"{self.data['dish']}: which size?"),
            choices=[[Choice("Small", "s"), Choice("Large", "l")]],
        )

    @answers("size")
    async def chose_size(self, ctx: Context, payload: str) -> None:
        self.data["size"] = payload
        await self.fire(ctx, "sized")

    async def on_enter_note(self, ctx: Context) -> None:
        self.entered.append("note")
        ctx.reply(Markup.literal("Any note for the kitchen?"))

    @answers("note", text=True)
    async def typed_note(self, ctx: Context, text: str) -> None:
        ctx.reply(Markup.literal(f"Ordered: {self.data['dish']} {self.data['size']}, {text}"))
        self.finish()

    async def on_timeout(self, ctx: Context) -> None:
        await asyncio.sleep(0)  # a coroutine the engine awaits, like any hook
        ctx.reply(Markup.literal(f"Your {self.data['dish']} order timed out in {self.state}."))
        self.finish()


class Echo(Dialog[None]):
    """One state, so no machine: it answers text until it hears "bye"."""

    name = "test_echo"
    states = ["echoing"]

    async def on_enter_echoing(self, ctx: Context) -> None:
        ctx.reply(Markup.literal("Say something."))

    @answers("echoing", text=True)
    async def heard(self, ctx: Context, text: str) -> None:
        ctx.reply(Markup.literal(f"echo: {text}"))
        if text == "bye":
            self.finish()
        else:
            await self.enter(ctx, "echoing")


router = Router()


@router.command("order", summary="order a dish", args=[Word("dish", "dish")])
async def order(ctx: Context, dish: str) -> None:
    await Order.start(ctx, Order.Arguments(dish))


@router.command("echo", summary="echo what you say")
async def echo(ctx: Context) -> None:
    await Echo.start(ctx)


ORDERS = Feature("test_orders", router, dialogs=(Order, Echo))


async def orders_bot(database_url: str, **overrides: Any) -> tuple[BranchBot, MemoryAdapter]:
    features = (*FEATURES, ORDERS)
    options = {"database_url": database_url, "playground": False, "default_locale": "en"}
    config = configure(None, features=features, **options, **overrides)
    adapter = MemoryAdapter()
    bot = BranchBot(config, features=features, extra_adapters=[adapter], serve_http=False)
    await bot.start()
    return bot, adapter


def button(adapter: MemoryAdapter, label: str) -> str:
    """The payload of the last message's button called ``label``."""
    rows = adapter.sent[-1].message.choices
    return next(c.payload for row in rows for c in row if c.label == label)


async def test_states_ask_on_entry_answers_go_by_state_and_survive_a_restart(
    database_url: str,
) -> None:
    Order.entered.clear()
    bot, adapter = await orders_bot(database_url)
    try:
        assert await ask(bot, adapter, "mei", "/order pizza") == "pizza: which size?"
        assert Order.entered == ["size"], "the initial state's question is asked by its on_enter"
        large = button(adapter, "Large")
    finally:
        await bot.stop()

    bot, adapter = await orders_bot(database_url)  # the stored conversation carries on
    try:
        assert await ask(bot, adapter, "mei", choice=large) == "Any note for the kitchen?"
        assert Order.entered == ["size", "note"], "fire() awaited the next state's on_enter"
        assert await ask(bot, adapter, "mei", "extra cheese") == "Ordered: pizza l, extra cheese"
        assert await ask(bot, adapter, "mei", "hello") == IDLE
    finally:
        await bot.stop()


async def test_a_typed_number_answers_a_choice_and_a_state_without_one_falls_back(
    database_url: str,
) -> None:
    bot, adapter = await orders_bot(database_url)
    try:
        await ask(bot, adapter, "mei", "/order soup")
        assert await ask(bot, adapter, "mei", "small please") == FALLBACK, "no text answer here"
        assert await ask(bot, adapter, "mei", "1") == "Any note for the kitchen?"
        model = Order({"dish": "soup", "size": "s"}, "note")
        replies: list[str] = []

        class Replies:
            def reply(self, message: str, **values: object) -> None:
                replies.append(message)

        await model.on_choice(Replies(), "s")  # type: ignore[arg-type]
        assert replies == [FALLBACK] and not model.finished
    finally:
        await bot.stop()


async def test_the_timeout_hook_is_awaited(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Order, "timeout", 0.5)
    bot, adapter = await orders_bot(database_url)
    try:
        await ask(bot, adapter, "mei", "/order tea")
        await adapter.wait_for(2, timeout=5)
        assert adapter.sent[-1].message.text.plain() == "Your tea order timed out in size."
        await settle(bot)
        assert await ask(bot, adapter, "mei", "hello") == IDLE
    finally:
        await bot.stop()


async def test_a_dialog_with_one_state_has_no_machine(database_url: str) -> None:
    assert Echo.machine() is None and Order.machine() is not None
    bot, adapter = await orders_bot(database_url)
    try:
        assert await ask(bot, adapter, "mei", "/echo") == "Say something."
        assert await ask(bot, adapter, "mei", "hi") == "echo: hi\nSay something."
    finally:
        await bot.stop()
    bot, adapter = await orders_bot(database_url)
    try:
        assert await ask(bot, adapter, "mei", "bye") == "echo: bye"
        assert await ask(bot, adapter, "mei", "bye") == IDLE
    finally:
        await bot.stop()


def test_the_machine_calls_no_hook_and_the_diagram_is_checked() -> None:
    machine = Order.machine()
    assert machine is not None
    assert all(not state.on_enter for state in machine.states.values()), (
        "on_enter_<state> coroutines are awaited by the base, never called by transitions"
    )
    with pytest.raises(ValueError, match="no state"):

        class Misnamed(Dialog[None]):
            name = "test_misnamed"
            states = ["asking"]

            @answers("askng", text=True)
            async def typed(self, ctx: Context, text: str) -> None:
                self.finish()


async def test_enter_asks_again_but_moves_only_by_a_transition() -> None:
    model = Order({"dish": "tea"}, "note")
    with pytest.raises(ValueError, match="only by fire"):
        await model.enter(None, "size")  # type: ignore[arg-type]
