"""Every learning mode end to end through the webhook channel: signed HTTP in and out."""

from __future__ import annotations

import asyncio
import base64
import re
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.lab_learning import (
    answer,
    buttons,
    import_bank,
    question_in,
    send_file,
)
from tests.support.lab_onboarding import organisation
from tests.support.webhook import Lab, lab_bot, wait_for_text


@pytest.fixture
def lab_options() -> dict[str, Any]:
    return {"learning": {"question_seconds": 30}}


@pytest.fixture
async def lab(lab: Lab) -> Lab:
    await organisation(lab)
    await import_bank(lab)
    return lab


async def play(lab: Lab, user: str, first: list[dict[str, Any]], right: list[bool]) -> str:
    """Answer a run's questions in turn; returns the text of the last message."""
    message = first[-1]
    for verdict in right:
        sent = await answer(lab, user, message, verdict)
        message = sent[-1]
    return "\n".join(m["text"] for m in sent)


async def test_daily_quiz_points_streak_and_once_a_day(lab: Lab) -> None:
    first = await lab.ask("mei", "/quiz")
    assert "Today's quiz" in first[0]["text"] and "Question 1/4" in first[0]["text"]
    end = await play(lab, "mei", first, [True, True, True, False])
    assert "Done: 3/4" in end and "Streak: 1 day" in end and "+25 points" in end
    assert "Not quite" in end
    me = await lab.say("mei", "/me")
    assert "Points: 55 (55 this week)" in me and "Streak: 1 day" in me and "Levels: ▱" in me
    assert "done today's quiz" in await lab.say("mei", "/quiz")
    assert "direct chat" in await lab.say("mei", "/quiz", chat="room-1")


async def test_a_button_pressed_twice_counts_once(lab: Lab) -> None:
    for _attempt in range(60):  # a challenge starts on a random question: wait for the T/F one
        first = (await lab.ask("mei", "/challenge"))[0]
        if question_in(first).kind == "truefalse":
            break
        await lab.ask("mei", "/cancel")
    else:
        pytest.fail("the true/false question never came first")
    question = question_in(first)
    press = buttons(first)["True" if question.answers == [0] else "False"]
    assert "Right!" in await lab.say("mei", choice=press, event_id="press-1")
    assert await lab.ask("mei", choice=press, event_id="press-1") == []
    assert "earlier question" in await lab.say("mei", choice=press)
    async with lab.bot.db.session() as session:
        count = await session.scalar(text("select count(*) from learning_answers"))
    assert count == 1


async def test_question_timer_counts_as_wrong(database_url: str) -> None:
    async with lab_bot(database_url, learning={"question_seconds": 0.3}) as lab:
        await organisation(lab)
        await import_bank(lab)
        await lab.ask("mei", "/quiz")
        async with asyncio.timeout(15):
            while True:
                lab.receiver.changed.clear()
                if any("Time is up" in m["text"] for m in lab.receiver.messages):
                    break
                await lab.receiver.changed.wait()
        timed_out = next(m for m in lab.receiver.messages if "Time is up" in m["text"])
        assert "Not quite" in timed_out["text"] and "Question 2/4" in timed_out["text"]


async def test_levels_unlock_with_stars(lab: Lab) -> None:
    listing = await lab.say("mei", "/levels")
    assert "1. First steps ☆☆☆" in listing and "2. Rules of the house 🔒" in listing
    assert "still locked" in await lab.say("mei", "/level 2")
    assert "no level 9" in await lab.say("mei", "/level 9")
    end = await play(lab, "mei", await lab.ask("mei", "/level 1"), [True, True])
    assert "2/2 (100%) ★★★" in end and "Level 2 is open" in end and "+30 points" in end
    listing = await lab.say("mei", "/levels")
    assert "1. First steps ★★★" in listing and "Rules of the house ☆☆☆" in listing
    assert "▰▰▰▰▰▱▱▱▱▱ 1/2" in listing
    end = await play(lab, "mei", await lab.ask("mei", "/level 2"), [True, False])
    assert "1/2 (50%)" in end and "Not passed yet" in end


async def test_challenge_until_the_first_miss(lab: Lab) -> None:
    first = await lab.ask("mei", "/challenge")
    assert "Challenge" in first[0]["text"]
    end = await play(lab, "mei", first, [True, True, False])
    assert "Your run: 2" in end and "new personal best" in end
    end = await play(lab, "mei", await lab.ask("mei", "/challenge"), [False])
    assert "Your run: 0" in end and "Your best is 2" in end


async def test_lesson_then_its_quiz_and_a_qr_code(lab: Lab) -> None:
    assert "`opac` Searching the catalogue" in (await lab.ask("mei", "/lessons"))[0]["markdown"]
    shown = (await lab.ask("mei", "/lesson opac"))[0]
    assert "exact phrase" in shown["text"] and "https://example.org/opac" in shown["text"]
    first = await lab.ask("mei", choice=buttons(shown)["Start the quiz"])
    end = await play(lab, "mei", first, [True, True])
    assert "Lesson done: 2/2" in end and "+15 points" in end
    assert "no lesson nope" in await lab.say("mei", "/lesson nope")
    qr = (await lab.ask("sam", "/lesson opac qr", chat="room-1"))[0]
    assert base64.b64decode(qr["image"]["data"]).startswith(b"\x89PNG")
    assert "/lesson opac" in qr["text"]


async def test_rank_and_stats(lab: Lab) -> None:
    await play(lab, "mei", await lab.ask("mei", "/quiz"), [True, True, True, True])
    ranking = await lab.say("mei", "/rank")
    assert "Leaderboard — this week" in ranking
    assert "1. Mei — 65 points ◀" in ranking and "2. Sam — 0 points" in ranking
    assert "1. Main Library — 50% took part, 100% right" in ranking
    assert "all time" in await lab.say("mei", "/rank all")
    assert "Only branch secretaries" in await lab.say("mei", "/stats learning")
    stats = (await lab.ask("sam", "/stats learning"))[0]
    assert "1. Main Library: 1/2 took part (50%), 100% right" in stats["text"]
    assert base64.b64decode(stats["image"]["data"]).startswith(b"\x89PNG")


async def test_nothing_to_learn_yet(database_url: str) -> None:
    async with lab_bot(database_url) as lab:
        await organisation(lab)
        assert "no questions yet" in await lab.say("mei", "/quiz")
        assert "No levels" in await lab.say("mei", "/levels")
        assert "no lessons" in await lab.say("mei", "/lessons")
        assert "Only members" in await lab.say("guest", "/quiz")


async def test_group_round_scores_the_room_and_posts_a_podium(database_url: str) -> None:
    async with lab_bot(database_url, learning={"group_seconds": 1.5}) as lab:
        await organisation(lab)
        await import_bank(lab)
        assert "not bound" in await lab.say("sam", "/quiz group", chat="room-1")
        await lab.say("sam", "/bind Main Library", chat="room-1")
        assert "Only branch secretaries" in await lab.say("mei", "/quiz group", chat="room-1")
        assert "from 1 to 20" in await lab.say("sam", "/quiz group 99", chat="room-1")
        posted = (await lab.ask("sam", "/quiz group 1", chat="room-1"))[0]
        assert "Group quiz" in posted["text"] and "Question 1/1" in posted["text"]
        assert posted["chat"] == {"id": "room-1", "type": "group"}
        assert "already running" in await lab.say("sam", "/quiz group", chat="room-1")
        assert await lab.ask("max", "just chatting", chat="room-1") == []
        question = question_in(posted)
        keys = buttons(posted)
        if question.kind == "truefalse":
            right_label = "True" if question.answers == [0] else "False"
            wrong_label = "False" if right_label == "True" else "True"
        else:
            shown = {line[3:]: line[0] for line in posted["text"].splitlines() if line[1:3] == ". "}
            right_label = shown[question.options[question.answers[0]]]
            wrong_label = next(label for label in keys if label != right_label)
        ack = await lab.ask("mei", choice=keys[right_label], chat="room-1")
        assert [m["chat"]["type"] for m in ack] == ["direct"] and "Got your answer" in ack[0][
            "text"
        ]
        again = await lab.ask("mei", choice=keys[wrong_label], chat="room-1")
        assert "already answered" in again[0]["text"]
        await lab.ask("sam", choice=keys[wrong_label], chat="room-1")
        podium = await wait_for_text(lab, "Final podium")
        assert "1 right · ❌ 1 wrong" in podium["text"] and "Fastest: Mei" in podium["text"]
        # Only those who scored stand on the podium: Sam answered, wrongly.
        assert "🥇 Mei — " in podium["text"] and "Sam —" not in podium["text"]
        async with lab.bot.db.session() as session:
            modes = list(await session.scalars(text("select mode from learning_answers")))
        assert modes == ["group", "group"]
        points = re.search(r"Points: (\d+)", await lab.say("mei", "/me"))
        assert points and 10 < int(points.group(1)) <= 20  # 10 for right, up to 10 for speed


async def test_a_bank_sent_in_a_dm_is_imported(database_url: str) -> None:
    async with lab_bot(database_url) as lab:
        await organisation(lab)
        refused = await send_file(lab, "mei", "good.csv")
        assert "Only branch secretaries and admins" in refused
        broken = await send_file(lab, "sam", "broken.csv")
        assert "broken.csv has 2 problems" in broken
        assert "broken.csv:2: the answer is missing" in broken
        assert "Nothing was imported" in broken
        assert "no questions yet" in await lab.say("mei", "/quiz")
        partly = await send_file(lab, "sam", "broken.csv", "skip-bad")
        assert "1 new question, 0 updated" in partly
        by_secretary = await send_file(lab, "sam", "library.yaml")
        assert "4 new questions, 0 updated, 0 levels, 0 lessons" in by_secretary
        assert "only admins can import them" in by_secretary
        async with lab.bot.db.session() as session:
            assert await session.scalar(text("select count(*) from learning_levels")) == 0
        done = await send_file(lab, "boss", "library.yaml")
        assert "library-basics** imported".replace("**", "") in done
        # The organisation's bank, not the secretary's branch bank of the same name.
        assert "4 new questions, 0 updated, 2 levels, 1 lesson" in done
        again = await send_file(lab, "boss", "library.yaml")
        assert "0 new questions, 4 updated, 2 levels, 1 lesson" in again
        assert "only admins" not in done
        in_room = await send_file(lab, "sam", "good.csv", chat="room-1")
        assert "in a direct chat" in in_room
        body = lab.event("sam", None)
        body["file"] = {"name": "notes.doc", "data": base64.b64encode(b"hi").decode()}
        status, _answer = await lab.post(body)
        async with asyncio.timeout(10):
            await lab.bot.idle()
        assert status == 200
        assert "don't know what to do with notes.doc" in lab.receiver.messages[-1]["text"]
        body = lab.event("sam", None)
        body["file"] = {"name": "x.csv", "data": "%%%"}
        status, answer = await lab.post(body)
        assert status == 400 and "base64" in answer["error"]
