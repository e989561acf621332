"""Display names as long as the edge lets through (``MAX_LABEL``) are kept whole, so an admin
who types the name a person goes by finds them."""

from __future__ import annotations

from sqlalchemy import select

from bot.events import MAX_LABEL
from store.models import MAX_DISPLAY_NAME, Identity, Member
from tests.support.chat import BotFactory, ask


def test_the_store_keeps_every_name_the_edge_lets_through() -> None:
    assert MAX_DISPLAY_NAME == MAX_LABEL
    for column in (Member.__table__.c.display_name, Identity.__table__.c.display_name):
        assert column.type.length == MAX_LABEL


async def test_a_name_longer_than_128_characters_is_found_whole(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    name = " ".join(["Maria"] + ["de la Cruz"] * 22)
    assert 128 < len(name) <= MAX_LABEL
    await ask(bot, adapter, "boss", "/branch add Alpha")
    await ask(bot, adapter, "maria", "/lang en", name=name)
    answer = await ask(bot, adapter, "boss", f"/member move {name} Alpha")
    assert "Moved" in answer and "memory:maria" in answer, answer
    assert "Branch: Alpha" in await ask(bot, adapter, "maria", "/me", name=name)
    async with bot.db.session() as session:
        stored = await session.scalar(select(Member.display_name))
    assert stored == name
