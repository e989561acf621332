"""Admins move members between branches and take them out; every piece of advice a person
gets names a command that exists for them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from store.models import Member, Secretary
from tests.support.chat import code_in
from tests.support.lab_onboarding import organisation
from tests.support.webhook import Lab


@pytest.fixture
async def lab(lab: Lab) -> Lab:
    await organisation(lab)  # Main Library: secretary sam, member mei
    await lab.say("boss", "/branch add Science Wing")
    return lab


async def test_move_by_name_and_by_account(lab: Lab) -> None:
    told = await lab.ask("boss", "/member move mei Science Wing")
    admin = "\n".join(m["text"] for m in told if m["chat"]["id"] == "dm-boss")
    member = "\n".join(m["text"] for m in told if m["chat"]["id"] == "dm-mei")
    assert "Moved Mei (webhook:lab:mei) to Science Wing." in admin
    assert "An admin moved you to Science Wing." in member
    assert "Branch: Science Wing" in await lab.say("mei", "/me")
    assert "already a member of Science Wing" in await lab.say(
        "boss", "/member move webhook:lab:mei science   wing"
    )
    assert "Moved Mei" in await lab.say("boss", "/member move webhook:lab:mei Main Library")
    assert "There is no branch called “Nowhere”" in await lab.say(
        "boss", "/member move mei Nowhere"
    )
    assert "I know nobody called “nobody”" in await lab.say(
        "boss", "/member move nobody Main Library"
    )
    assert "Only admins" in await lab.say("sam", "/member move mei Science Wing")


async def test_a_name_several_people_share_asks_for_the_account(lab: Lab) -> None:
    code = code_in(await lab.say("sam", "/invite Main Library"))
    await lab.say("mei2", f"/join {code}", name="Mei")
    answer = await lab.say("boss", "/member move Mei Science Wing")
    assert "Several people are called “Mei”" in answer
    assert "webhook:lab:mei " in answer + " " and "webhook:lab:mei2" in answer
    async with lab.bot.db.session() as session:
        moved = await session.scalar(
            select(func.count()).select_from(Member).where(Member.branch_id.is_not(None))
        )
    assert moved == 3  # nobody changed branch


async def test_remove_keeps_the_person_and_lets_them_rejoin(lab: Lab) -> None:
    told = await lab.ask("boss", "/member remove webhook:lab:sam")
    admin = "\n".join(m["text"] for m in told if m["chat"]["id"] == "dm-boss")
    assert "Sam (webhook:lab:sam) is no longer in a branch and holds no secretary role" in admin
    assert any("/join <code>" in m["text"] for m in told if m["chat"]["id"] == "dm-sam")
    me = await lab.say("sam", "/me")
    assert "Branch: none yet" in me and "secretary" not in me.split("Branch")[0]
    assert "Only branch secretaries" in await lab.say("sam", "/invite Main Library")
    async with lab.bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Secretary)) == 0
    assert "not a member of any branch" in await lab.say("boss", "/member remove sam")
    code = code_in(await lab.say("boss", "/invite Main Library"))
    assert "Welcome to Main Library" in await lab.say("sam", f"/join {code}")


async def test_help_lists_the_member_commands_for_admins_only(lab: Lab) -> None:
    admin = await lab.say("boss", "/help")
    assert "/member move <who> <branch>" in admin and "/member remove <who>" in admin
    assert "/member" not in await lab.say("sam", "/help")


async def test_advice_names_a_command_the_person_has(lab: Lab) -> None:
    me = await lab.say("boss", "/me")
    assert "ask your secretary" not in me.lower() and "/invite <branch>" in me
    assert "/join <code>" in await lab.say("guest", "/me")
    other = code_in(await lab.say("boss", "/invite Science Wing"))
    answer = await lab.say("mei", f"/join {other}")
    assert "/member move" in answer and "ask an admin" not in answer and "Science" not in answer
    await lab.say("boss", f"/join {code_in(await lab.say('boss', '/invite Main Library'))}")
    answer = await lab.say("boss", f"/join {other}")
    assert "/member move webhook:lab:boss Science Wing" in answer


async def test_invite_expiry_names_its_time_zone(lab: Lab) -> None:
    answer = await lab.say("boss", "/invite Science Wing")
    assert re.search(r"valid until 20\d\d-\d\d-\d\d \d\d:\d\d \(China Time\):", answer)
    await lab.say("boss", "/lang zh")
    answer = await lab.say("boss", "/invite Science Wing")
    # Chinese replies write dates as Chinese does and name the zone in full-width brackets
    assert re.search(r"有效期至20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d（中国时间）：", answer)


async def test_member_move_usage_is_in_the_readers_words(lab: Lab) -> None:
    await lab.say("boss", "/lang zh")
    answer = await lab.say("boss", "/member move Mei")
    assert "用法" in answer and "<who>" not in answer and "<branch>" not in answer, answer
