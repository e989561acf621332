"""The Chinese catalog keeps the glossary's words and punctuation (shared/GLOSSARY.md).

The rules are written out here, not read from the glossary file, so the test runs wherever the
repository does. They apply to every zh_Hans message, so they also guard messages added later.
Code spans, link targets and placeholders are commands, URLs and values, where half-width
punctuation belongs; everything else is Chinese text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from adapters.memory import MemoryAdapter
from tests.support.chat import BotFactory, ask, code_in

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "bot" / "locales" / "zh_Hans" / "LC_MESSAGES" / "branchbot.po"

FORBIDDEN = {
    "机构": "组织 (organisation)",
    "分馆": "支部 (branch)",
    "分部": "支部 (branch)",
    "房间": "支部群 (branch room) or 群聊",
    "会员": "成员 (member)",
    "用户": "成员 (member)",
    "秘书": "书记 (secretary)",
    "超管": "管理员 (admin)",
    "口令": "邀请码 (invite code)",
    "单聊": "私聊 (direct chat)",
    "公告": "通知 (notice)",
    "已读": "已收到 (received)",
    "汇总": "摘要 (digest)",
    "评价": "民主评议 (appraisal)",
    "案件": "来信 (letter)",
    "微课(?!堂)": "微课堂 (micro-lesson)",
    "课程": "微课堂 (micro-lesson)",
    "连续答题": "连续天数 (streak)",
    "抢答": "群答题 (a group round, as /quiz group calls it)",
}
"""The glossary's "not" column: the word never used (a pattern), and the one to use instead;
plus shortenings of a glossary word, which would make two words for one thing."""

CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
ASCII_PUNCTUATION = r"[,;:?!()]"
FULL_WIDTH = "，。：；！？（）「」、"
ASCII_IN_CHINESE = re.compile(
    rf"{CJK}\s*{ASCII_PUNCTUATION}|{ASCII_PUNCTUATION}\s*{CJK}|{CJK}\.(?!\.)"
)
"""Half-width punctuation touching Chinese; a full stop only after it ("1. 选项" is a list)."""
SPACE_NEXT_TO_FULL_WIDTH = re.compile(rf"[ \t][{FULL_WIDTH}]|[{FULL_WIDTH}][ \t]")
"""Full-width punctuation carries its own spacing: no space before it, none after it but a
line break."""
LATIN_PLACEHOLDER = re.compile(r"<[^<>\s]*[A-Za-z][^<>]*>")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
VALUE = re.compile(r"\{\w*\}")


def translations() -> list[tuple[str, str]]:
    """(message id, translation) for every zh_Hans message, each plural form on its own."""
    with CATALOG.open("rb") as file:
        catalog = read_po(file)
    found = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else message.string
        found.extend((msgid, string) for string in strings if string)
    return found


def prose(text: str) -> str:
    """The Chinese text of a message: code spans, link targets and values taken out."""
    text = CODE_SPAN.sub("`…`", text)
    text = LINK.sub(r"\1", text)
    return VALUE.sub("…", text)


MESSAGES = translations()
IDS = [msgid[:50] for msgid, _ in MESSAGES]


@pytest.mark.parametrize(("msgid", "text"), MESSAGES, ids=IDS)
def test_the_glossary_words(msgid: str, text: str) -> None:
    used = {word: instead for word, instead in FORBIDDEN.items() if re.search(word, text)}
    assert not used, f"{text!r}: use {used}"


@pytest.mark.parametrize(("msgid", "text"), MESSAGES, ids=IDS)
def test_full_width_punctuation_inside_chinese(msgid: str, text: str) -> None:
    found = ASCII_IN_CHINESE.findall(prose(text))
    assert not found, f"{text!r}: half-width punctuation in Chinese text: {found}"


@pytest.mark.parametrize(("msgid", "text"), MESSAGES, ids=IDS)
def test_no_space_next_to_full_width_punctuation(msgid: str, text: str) -> None:
    found = SPACE_NEXT_TO_FULL_WIDTH.findall(prose(text))
    assert not found, f"{text!r}: a space next to full-width punctuation: {found}"


@pytest.mark.parametrize(("msgid", "text"), MESSAGES, ids=IDS)
def test_placeholders_in_usage_are_translated(msgid: str, text: str) -> None:
    found = LATIN_PLACEHOLDER.findall(text)
    assert not found, f"{text!r}: untranslated placeholders {found}"


PLACEHOLDER = r"(?:\*\*|__?)?\{(?!time\})\w+\}(?:\*\*|__?)?"
SPACED_PLACEHOLDER = re.compile(
    rf"{CJK}[ \t]+{PLACEHOLDER}|(?<![^}}]/)(?<!^/){PLACEHOLDER}[ \t]+{CJK}"
)
"""A space between Chinese and a value. A value may be a Chinese name ("你现在是{branch}的书记了"),
where a space would split the sentence, so none is ever put there, whatever the value holds.
Spaces stay around Latin words and numbers written in the template itself, around code spans
and commands (``/{command} 这个命令``), and before a clock time (``每天 {time}``), which is set
apart as in a date (``2026年12月3日 09:00``)."""


def spacing(text: str) -> str:
    """The message with code spans and link targets taken out, values kept."""
    return LINK.sub(r"\1", CODE_SPAN.sub("`…`", text))


@pytest.mark.parametrize(("msgid", "text"), MESSAGES, ids=IDS)
def test_no_space_between_chinese_and_a_value(msgid: str, text: str) -> None:
    found = SPACED_PLACEHOLDER.findall(spacing(text))
    assert not found, f"{text!r}: a space between Chinese and a value: {found}"


def test_the_rules_find_what_they_are_for() -> None:
    """Each rule catches the mistakes it was written for (from issue 11)."""
    assert ASCII_IN_CHINESE.search(prose("2 名成员, 1 名书记"))
    assert ASCII_IN_CHINESE.search(prose("请用 (仅限私聊)"))
    assert ASCII_IN_CHINESE.search(prose("已发送."))
    assert not ASCII_IN_CHINESE.search(
        prose("发送 `/join <邀请码>`：09:00, 10:00 见 [链接](https://x.org/?a=1)")
    )
    assert SPACE_NEXT_TO_FULL_WIDTH.search(prose("`/me` — 查看 （仅限私聊）"))
    assert SPACE_NEXT_TO_FULL_WIDTH.search(prose("已导入： 3 道题"))
    assert not SPACE_NEXT_TO_FULL_WIDTH.search(prose("已导入：3 道题。\n下一行"))
    assert SPACED_PLACEHOLDER.search(spacing("你现在是 {branch} 的书记了"))
    assert SPACED_PLACEHOLDER.search(spacing("已创建支部 **{name}**。"))
    assert SPACED_PLACEHOLDER.search(spacing("{name} 的问题"))
    assert not SPACED_PLACEHOLDER.search(
        spacing("我不认识 /{command} 这个命令：发送 `/bind {branch}` 每天 {time}，共 3 个")
    )
    assert SPACED_PLACEHOLDER.search(spacing("第{number}/{total} 题"))
    assert LATIN_PLACEHOLDER.search("发送 `/join <code>`")
    assert not LATIN_PLACEHOLDER.search("`cron <分 时 日 月 周>`")


# -- lists and hints built in code ---------------------------------------------------------

SOURCES = [*sorted((ROOT / "bot").rglob("*.py")), *sorted((ROOT / "dialogs").rglob("*.py"))]
LITERAL_SEPARATOR = re.compile(
    r"""["'][,;]\s+["']\s*\)?\.join\("""
    r"""|literal\(\s*["'][,;]\s+["']"""
    r"""|Markup\.join\([^)]*,\s*["'][,;]\s+["']"""
    r"""|literal\(\s*["']\s+["']\s*\)"""
)
"""An ASCII comma (or semicolon) and a space as a list separator, or a bare space glued
between two translated pieces (Chinese wants none after ： or before （), in Python source."""


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_lists_are_joined_with_the_translated_separator(path: Path) -> None:
    """``", ".join`` puts an ASCII comma into Chinese text: a list shown to people is joined
    with the catalog's separator (``Translator.listing``), which is 、 in Chinese."""
    source = path.read_text(encoding="utf-8")
    found = [
        f"line {source.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for match in LITERAL_SEPARATOR.finditer(source)
        if not _for_logs(source, match.start())
    ]
    assert not found, found


def _for_logs(source: str, position: int) -> bool:
    """Log lines and exception messages are English for operators, never shown to members."""
    start = source.rfind("\n", 0, source.rfind("\n", 0, position))
    lines = source[start + 1 : source.find("\n", position)]
    return "log." in lines or "raise " in lines


async def test_chinese_lists_and_help_in_chat(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans")
    await ask(bot, adapter, "boss", "/branch add 图书馆")
    code = code_in(await ask(bot, adapter, "boss", "/invite 图书馆 secretary"))
    await ask(bot, adapter, "sam", f"/join {code}")
    listing = await ask(bot, adapter, "boss", "/branches")
    assert "1名成员、1名书记、0个支部群" in listing, listing
    help_text = await ask(bot, adapter, "boss", "/help")
    assert "（仅限私聊）" in help_text and " （" not in help_text, help_text
    start = await ask(bot, adapter, "guest", "/start")
    assert "<code>" not in start and "<邀请码>" in start, start


async def test_a_lesson_link_for_a_non_member_uses_the_glossary(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot(MemoryAdapter(), default_locale="zh_Hans")
    answer = await ask(bot, adapter, "guest", "/start lesson_1")
    assert "支部" in answer and "书记" in answer, answer
    assert "分馆" not in answer and "秘书" not in answer, answer
