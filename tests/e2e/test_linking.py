"""``/link`` end to end: the second step is a confirmation naming both accounts and the roles
the one member will have; both accounts are told; a run of questions survives the merge."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.messages import Capabilities
from store.learning_tables import AnswerRecord
from store.models import Identity
from tests.support.chat import BotFactory, ask, code_in
from tests.support.lab_learning import answer, buttons, import_bank
from tests.support.lab_onboarding import organisation
from tests.support.webhook import Lab, lab_bot


@pytest.fixture
def lab_options() -> dict[str, Any]:
    return {"learning": {"question_seconds": 30}}


def in_chat(messages: list[dict[str, Any]], chat: str) -> str:
    return "\n".join(m["text"] for m in messages if m["chat"]["id"] == chat)


def press(message: dict[str, Any], label: str) -> str:
    return buttons(message)[label]


async def test_a_strangers_code_shows_who_gains_admin_and_needs_a_press(lab: Lab) -> None:
    await organisation(lab)
    code = code_in(await lab.say("mallory", "/link", name="Mallory"))
    asked = (await lab.ask("boss", f"/link {code}", name="Boss"))[0]
    text = asked["text"]
    assert "Link two accounts?" in text
    assert "This account: Boss (webhook:lab:boss)" in text
    assert "The other account: Mallory (webhook:lab:mallory)" in text
    assert "⚠ Mallory (webhook:lab:mallory) becomes an admin." in text
    assert "one member: admin." in text
    assert set(buttons(asked)) == {"Link", "Cancel"}

    assert "Not linked" in await lab.say("boss", choice=press(asked, "Cancel"))
    assert "admin" not in await lab.say("mallory", "/me")
    assert "already ended" in await lab.say("boss", choice=press(asked, "Link"))
    assert "admin" not in await lab.say("mallory", "/me")


async def test_confirming_merges_and_tells_both_accounts(lab: Lab) -> None:
    await organisation(lab)  # sam: secretary of Main Library; mei: member of it
    code = code_in(await lab.say("sam", "/link", name="Sam"))
    asked = (await lab.ask("sam-phone", f"/link {code}"))[0]
    assert "⚠ This account becomes a secretary of Main Library." in asked["text"]
    assert "one member: member of Main Library, secretary of Main Library." in asked["text"]
    told = await lab.ask("sam-phone", choice=press(asked, "Link"))
    mine, theirs = in_chat(told, "dm-sam-phone"), in_chat(told, "dm-sam")
    assert "this account and Sam (webhook:lab:sam) are one member now" in mine
    assert "Sam-Phone (webhook:lab:sam-phone) is now linked to this account" in theirs
    assert "secretary of Main Library" in theirs
    me = await lab.say("sam-phone", "/me")
    assert "webhook:lab:sam" in me and "webhook:lab:sam-phone" in me
    assert "secretary of Main Library" in me
    assert "not valid" in await lab.say("max", f"/link {code}")


async def test_a_code_replaced_before_the_press_links_nothing(lab: Lab) -> None:
    await organisation(lab)
    first = code_in(await lab.say("mei", "/link"))
    asked = (await lab.ask("mei-phone", f"/link {first}"))[0]
    code_in(await lab.say("mei", "/link"))  # a new code withdraws the first
    assert "no longer valid" in await lab.say("mei-phone", choice=press(asked, "Link"))
    assert "Main Library" not in await lab.say("mei-phone", "/me")


async def test_linking_in_the_middle_of_a_quiz_keeps_the_quiz_going(lab: Lab) -> None:
    await organisation(lab)
    await import_bank(lab)
    first = await lab.ask("mei", "/quiz")
    assert "Question 1/4" in first[-1]["text"]
    # The phone makes the code, so mei's own member (the one running the quiz) is absorbed.
    code = code_in(await lab.say("mei-phone", "/link"))
    asked = (await lab.ask("mei", f"/link {code}"))[0]
    assert "one member now" in in_chat(await lab.ask("mei", choice=press(asked, "Link")), "dm-mei")
    sent = await answer(lab, "mei", first[-1], True)
    text = "\n".join(m["text"] for m in sent)
    assert "went wrong" not in text and "Right!" in text and "Question 2/4" in text
    async with lab.bot.db.session() as session:
        kept = await session.scalar(
            select(Identity.member_id).where(Identity.user_id == "mei-phone")
        )
        owners = list(await session.scalars(select(AnswerRecord.member_id)))
    assert owners == [kept]


async def test_without_buttons_the_confirmation_is_answered_by_number(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(MemoryAdapter(capabilities=Capabilities(buttons=False)))
    code = code_in(await ask(bot, adapter, "mei", "/link"))
    asked = await ask(bot, adapter, "mei-phone", f"/link {code}")
    assert "1. Link" in asked and "2. Cancel" in asked
    assert "one member now" in await ask(bot, adapter, "mei-phone", "1")
    assert "memory:mei-phone" in await ask(bot, adapter, "mei", "/me")


async def test_linking_during_a_group_round_does_not_allow_a_second_answer(
    database_url: str,
) -> None:
    async with lab_bot(database_url, learning={"group_seconds": 60}) as lab:
        await organisation(lab)
        await import_bank(lab)
        await lab.say("sam", "/bind Main Library", chat="room-1")
        posted = (await lab.ask("sam", "/quiz group 1", chat="room-1"))[0]
        keys = list(buttons(posted).values())
        assert "Got your answer" in await lab.say("mei", choice=keys[0], chat="room-1")
        code = code_in(await lab.say("mei-phone", "/link"))
        asked = (await lab.ask("mei", f"/link {code}"))[0]
        await lab.ask("mei", choice=press(asked, "Link"))
        again = await lab.say("mei", choice=keys[1], chat="room-1")
        assert "already answered" in again
        assert "already answered" in await lab.say("mei-phone", choice=keys[1], chat="room-1")
        async with lab.bot.db.session() as session:
            answers = list(await session.scalars(select(AnswerRecord.id)))
        assert len(answers) == 1
