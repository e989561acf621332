"""Replies say only what holds and use one word for one thing (from the zh review)."""

from __future__ import annotations

from tests.support.chat import BotFactory, ask, code_in
from tests.support.learning import with_bank


async def test_a_move_mentions_secretary_roles_only_for_a_secretary(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    await ask(bot, adapter, "boss", "/branch add 图书馆")
    await ask(bot, adapter, "boss", "/branch add 科学馆")
    for user, role in (("sam", "secretary"), ("mei", "member")):
        code = code_in(await ask(bot, adapter, "boss", f"/invite 图书馆 {role}"))
        await ask(bot, adapter, user, f"/join {code}")
    plain = await ask(bot, adapter, "boss", "/member move mei 科学馆")
    assert "调到**科学馆**" in plain or "调到科学馆。" in plain, plain
    assert "书记身份" not in plain, plain
    secretary = await ask(bot, adapter, "boss", "/member move sam 科学馆")
    assert "书记身份不变" in secretary, secretary


async def test_the_level_placeholder_is_one_word(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    await with_bank(bot)
    help_text = await ask(bot, adapter, "boss", "/help")
    levels = await ask(bot, adapter, "boss", "/levels")
    assert "/level <关卡号>" in help_text, help_text
    assert "/level <关卡号>" in levels, levels
