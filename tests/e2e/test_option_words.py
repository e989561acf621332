"""Option words of commands in the reader's language: typed, shown in usage and advice, and
shown in ``/help`` only where that person may use them."""

from __future__ import annotations

from tests.support.chat import code_in
from tests.support.webhook import Lab


async def chinese_library(lab: Lab) -> None:
    """Branch 图书馆 made by an admin who reads Chinese; the bot is told only Chinese words."""
    await lab.say("boss", "/lang 中文")
    created = await lab.say("boss", "/branch add 图书馆")
    assert "/invite 图书馆 书记" in created and "secretary" not in created


async def test_chinese_option_words_are_taken(lab: Lab) -> None:
    await chinese_library(lab)
    invite = await lab.say("boss", "/invite 图书馆 书记")
    assert "书记" in invite and "用法" not in invite
    assert "secretary" in await lab.say("sam", f"/join {code_in(invite)}")
    mei = code_in(await lab.say("sam", "/invite 图书馆 成员"))
    await lab.say("mei", f"/join {mei}")
    await lab.say("mei", "/lang zh")
    for period in ("本周", "本月", "全部", "month"):
        assert "用法" not in await lab.say("mei", f"/rank {period}")
    assert "English" in await lab.say("mei", "/lang 英文")
    assert "中文" in await lab.say("mei", "/lang 汉语")
    assert "English" in await lab.say("mei", "/lang 英语")


async def test_usage_and_advice_use_the_readers_words(lab: Lab) -> None:
    await chinese_library(lab)
    assert "/invite [<支部>] [成员|书记]" in await lab.say("boss", "/invite 图书馆 校长")
    sam = code_in(await lab.say("boss", "/invite 图书馆 书记"))
    await lab.say("sam", f"/join {sam}")
    await lab.say("sam", "/lang zh")
    refused = await lab.say("sam", "/invite 图书馆 书记")
    assert "/invite 图书馆 成员" in refused and "member" not in refused
    mei = code_in(await lab.say("sam", "/invite 图书馆"))
    await lab.say("mei", f"/join {mei}")
    await lab.say("mei", "/lang zh")
    assert "/rank [本周|本月|全部]" in await lab.say("mei", "/rank 昨天")
    assert "/lang [中文|英文]" in await lab.say("mei", "/lang 法语")


async def test_help_shows_a_secretary_only_the_invites_they_may_make(lab: Lab) -> None:
    await lab.say("boss", "/branch add Library")
    sam = code_in(await lab.say("boss", "/invite Library secretary"))
    await lab.say("sam", f"/join {sam}")
    secretary = await lab.say("sam", "/help")
    assert "/invite [<branch>] —" in secretary and "secretary]" not in secretary
    assert "/invite [<branch>] [member|secretary]" in await lab.say("boss", "/help")
    assert "as member" in await lab.say("sam", "/invite Library member")
