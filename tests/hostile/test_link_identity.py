"""``/link`` names every account by its identity (``platform:user_id``, as ``/me`` shows it),
not only by its display name, which anybody can set to anything, such as an admin's name."""

from __future__ import annotations

from tests.support.chat import BotFactory, ask, code_in, settle


async def test_a_borrowed_display_name_does_not_hide_whose_account_it_is(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    code = code_in(await ask(bot, adapter, "eve", "/link", name="Boss"))
    before = len(adapter.sent)
    await adapter.say("boss", f"/link {code}", name="Boss")
    await settle(bot)
    asked = adapter.sent[before].message
    text = asked.text.plain()
    assert "This account: Boss (memory:boss)" in text
    assert "The other account: Boss (memory:eve)" in text
    assert "⚠ Boss (memory:eve) becomes an admin." in text

    link = next(c.payload for row in asked.choices for c in row if c.label == "Link")
    before = len(adapter.sent)
    await adapter.say("boss", choice=link, name="Boss")
    await settle(bot)
    told = {s.address.chat_id: s.message.text.plain() for s in adapter.sent[before:]}
    assert "this account and Boss (memory:eve) are one member now" in told["dm-boss"]
    assert "Boss (memory:boss) is now linked to this account" in told["dm-eve"]


async def test_the_secretary_warning_names_the_other_account(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await ask(bot, adapter, "boss", "/branch add Library")
    sam = code_in(await ask(bot, adapter, "boss", "/invite Library secretary"))
    await ask(bot, adapter, "sam", f"/join {sam}")
    code = code_in(await ask(bot, adapter, "mallory", "/link", name="Sam"))
    asked = await ask(bot, adapter, "sam", f"/link {code}")
    assert "⚠ Sam (memory:mallory) becomes a secretary of Library." in asked
