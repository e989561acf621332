"""The built-in commands live in the core and features extend them only by declaring hooks on
their own router: a feature outside ``dialogs/`` adds a ``/me`` section and a ``/start``
deep-link prefix, and ``/help`` lists its command, with no core file changed."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.memory import MemoryAdapter
from bot.app import FEATURES, BranchBot, build_dialogs, configure
from bot.commands import Router
from bot.context import Context
from bot.feature import Feature
from bot.markup import Markup
from tests.support.chat import ask, settle

router = Router()


@router.command("wave", summary="wave at someone")
async def wave(ctx: Context) -> None:
    ctx.reply(Markup.literal("👋"))


@router.profile_section
async def waves(ctx: Context) -> list[Markup]:
    return [Markup.literal("Waves: 3")]


@router.start_payload("wave_")
async def wave_link(ctx: Context, rest: str) -> None:
    ctx.reply(Markup.literal(f"waved from a link: {rest}"))


@router.start_payload("wave_big_")
async def big_wave_link(ctx: Context, rest: str) -> None:
    ctx.reply(Markup.literal(f"a big wave: {rest}"))


WAVE = Feature("wave", router)


async def wave_bot(database_url: str, features: tuple[Feature, ...]) -> tuple[BranchBot, Any]:
    options: dict[str, Any] = {
        "database_url": database_url,
        "playground": False,
        "default_locale": "en",
    }
    adapter = MemoryAdapter()
    bot = BranchBot(
        configure(None, features=features, **options),
        features=features,
        extra_adapters=[adapter],
        serve_http=False,
    )
    await bot.start()
    return bot, adapter


async def test_a_feature_adds_a_profile_section_and_a_deep_link_prefix(database_url: str) -> None:
    bot, adapter = await wave_bot(database_url, (*FEATURES, WAVE))
    try:
        me = await ask(bot, adapter, "mei", "/me")
        assert me.startswith("Mei\n") and me.endswith("Waves: 3"), me
        assert await ask(bot, adapter, "mei", "/start wave_hello") == "waved from a link: hello"
        # the longest prefix wins, whatever order the features declared them in
        assert await ask(bot, adapter, "mei", "/start wave_big_x") == "a big wave: x"
        # anything else is an invite code (onboarding's catch-all prefix)
        assert "not a valid invite code" in await ask(bot, adapter, "mei", "/start NOPE2345")
        assert "/wave — wave at someone" in await ask(bot, adapter, "mei", "/help")
    finally:
        await bot.stop()


async def test_the_builtins_work_without_any_feature(database_url: str) -> None:
    bot, adapter = await wave_bot(database_url, (WAVE,))
    try:
        help_text = await ask(bot, adapter, "mei", "/help")
        assert help_text.splitlines() == [
            "Commands you can use",
            "/help — what I can do for you",
            "/cancel — stop what I am asking",
            "/me — your branch, roles and language",
            "/wave — wave at someone",
        ]
        # a payload no feature claims is no invite code here: the greeting
        start = await ask(bot, adapter, "mei", "/start ABCD2345")
        assert start.startswith("Hello Mei! I am the branch assistant."), start
        assert await ask(bot, adapter, "mei", "/cancel") == "There is nothing to stop."
        await settle(bot)
    finally:
        await bot.stop()


def test_the_builtins_come_first_and_features_cannot_take_a_prefix_twice() -> None:
    composed, _registry = build_dialogs((WAVE,))
    assert [c.name for c in composed.commands] == ["help", "start", "cancel", "me", "wave"]
    assert composed.profile_sections == [waves]
    other = Router()
    other.start_payload("wave_")(wave_link)
    with pytest.raises(ValueError, match="wave_"):
        composed.include(other)
