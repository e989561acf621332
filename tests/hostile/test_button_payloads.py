"""Made-up button presses in a room: versions and slots no conversation can have are answered
as old buttons, never with an error."""

from __future__ import annotations

import pytest

from tests.support.chat import BotFactory, ask, code_in, settle


@pytest.mark.parametrize(
    "payload", ["99999999999|x|a", "2147483648||en", "0||en", "5|" + "s" * 40 + "|en"]
)
async def test_a_forged_press_in_a_room_is_an_old_button(
    make_bot: BotFactory, payload: str
) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add Lib")
    code = code_in(await ask(bot, adapter, "boss", "/invite Lib secretary"))
    await ask(bot, adapter, "sam", f"/join {code}")
    await ask(bot, adapter, "sam", "/lang", chat="room")  # someone's question is open here
    before = len(adapter.sent)
    await adapter.say("mei", choice=payload, chat="room")
    await settle(bot)
    told = [(s.address.user_id, s.message.text.plain()) for s in adapter.sent[before:]]
    assert told == [("mei", "That question has already ended; nothing was changed.")]
    assert adapter.sent[-1].address.direct
