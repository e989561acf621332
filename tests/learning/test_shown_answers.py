"""How answers and results are shown: true/false in the reader's words, no podium of zeros."""

from __future__ import annotations

from pathlib import Path

from tests.support.chat import BotFactory, ask, code_in
from tests.support.learning import yes_bank


async def test_a_wrong_true_false_answer_shows_the_translated_answer(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans", learning={"question_seconds": 60})
    await yes_bank(bot, tmp_path)
    assert "1/2" in await ask(bot, adapter, "boss", "/quiz")
    wrong = await ask(bot, adapter, "boss", "错")
    assert "正确答案：对" in wrong, wrong
    assert "True" not in wrong and "False" not in wrong, wrong


async def test_a_group_round_shows_the_translated_answer_and_no_podium_of_zeros(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot, adapter = await make_bot(default_locale="zh_Hans", learning={"group_seconds": 0.5})
    await yes_bank(bot, tmp_path)
    await ask(bot, adapter, "boss", "/branch add Lib")
    await ask(bot, adapter, "boss", "/bind Lib", chat="room")
    code = code_in(await ask(bot, adapter, "boss", "/invite Lib member"))
    await ask(bot, adapter, "mei", f"/join {code}")
    await ask(bot, adapter, "boss", "/quiz group 1", chat="room")
    await ask(bot, adapter, "mei", "2", chat="room")
    before = len(adapter.sent)
    await adapter.wait_for(before + 1, timeout=10)
    result = "\n".join(s.message.text.plain() for s in adapter.sent[before:])
    assert "正确答案：对" in result and "False" not in result, result
    assert "没有人得分" in result and "Mei" not in result, result
