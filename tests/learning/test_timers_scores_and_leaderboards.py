"""Edges through the engine and the store: timers across restarts, stale buttons, daily caps,
leaderboards on a seeded data set, idempotent imports."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from store.banks import load
from store.clock import ManualClock
from store.db import Database
from store.learning import Learning
from store.learning_tables import AnswerRecord, Question
from store.models import Member
from store.repos import Repositories
from tests.support.chat import BotFactory, ask, code_in, settle
from tests.support.learning import BANK, with_bank


async def test_question_timer_fires_after_a_restart(make_bot: BotFactory) -> None:
    clock = ManualClock()
    bot, adapter = await make_bot(clock=clock, learning={"question_seconds": 30})
    await with_bank(bot)
    assert "Question 1/4" in await ask(bot, adapter, "boss", "/quiz")
    await bot.stop()
    clock.advance(seconds=31)  # the question's time runs out while the bot is down
    bot, adapter = await make_bot(clock=clock, learning={"question_seconds": 30})
    await adapter.wait_for(1, timeout=10)
    await settle(bot)
    text = adapter.sent[0].message.text.plain()
    assert "Time is up" in text and "Question 2/4" in text
    async with bot.db.session() as session:
        answers = list(await session.scalars(select(AnswerRecord)))
    assert [(a.correct, a.mode) for a in answers] == [(False, "quiz")]


async def test_options_are_shuffled_per_member_and_buttons_carry_no_key(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    people = [f"p{n}" for n in range(6)]
    bot, adapter = await make_bot(admins=[f"memory:{p}" for p in people])
    bank = tmp_path / "one.yaml"
    bank.write_text(
        "questions:\n  - text: Pick F\n    options: [a, b, c, d, e, f]\n    answer: F\n"
    )
    async with bot.db.session() as session:
        await Repositories(session).get(Learning).import_bank(load(bank))
    orders = set()
    for person in people:
        shown = await ask(bot, adapter, person, "/challenge")
        orders.add(tuple(line for line in shown.splitlines() if line[1:3] == ". "))
        payloads = [c.payload.split("|")[-1] for c in adapter.sent[-1].message.choices[0]]
        assert payloads == ["a0", "a1", "a2", "a3", "a4", "a5"]
    assert len(orders) > 1


async def test_a_button_of_a_finished_run_is_answered_politely(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await with_bank(bot)
    await ask(bot, adapter, "boss", "/lesson opac")
    old = adapter.sent[-1].message.choices[0][0].payload
    assert "Stopped" in await ask(bot, adapter, "boss", "/cancel")
    assert "already ended" in await ask(bot, adapter, "boss", choice=old)
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(AnswerRecord)) == 0


async def test_reimport_updates_and_never_duplicates(db: Database, tmp_path: Path) -> None:
    async with db.session() as session:
        first = await Repositories(session).get(Learning).import_bank(load(BANK))
    changed = tmp_path / "library.yaml"
    changed.write_text(BANK.read_text().replace("Dewey groups", "Melvil Dewey groups"))
    async with db.session() as session:
        again = await Repositories(session).get(Learning).import_bank(load(changed))
    assert (first.added, first.updated, again.added, again.updated) == (4, 0, 0, 4)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Question)) == 4
        explanation = await session.scalar(
            select(Question.explanation).where(Question.key == "cat-1")
        )
    assert explanation and explanation.startswith("Melvil")


async def test_daily_caps_stop_farming(db: Database) -> None:
    day = date(2026, 11, 28)
    async with db.session() as session:
        store = Repositories(session)
        member = await store.people.ensure("t", "mei", "Mei")
        awarded = [
            await store.get(Learning).award(member, None, "quiz_correct", 10, 50, day)
            for _ in range(7)
        ]
        next_day = day + timedelta(1)
        tomorrow = await store.get(Learning).award(member, None, "quiz_correct", 10, 50, next_day)
        other = await store.get(Learning).award(member, None, "lesson_finished", 15, 30, day)
        assert awarded == [10, 10, 10, 10, 10, 0, 0] and tomorrow == 10 and other == 15
        assert await store.get(Learning).points_of(member) == 75
        assert await store.get(Learning).points_of(member, day + timedelta(1)) == 10


async def test_awards_kept_back_are_capped_together_when_the_batch_is_written(
    db: Database,
) -> None:
    """Right answers' points wait for the flush; there the day's cap holds across the
    whole batch and against what was stored before, and an exact award sees them first."""
    day = date(2026, 11, 28)
    async with db.session() as session:
        store = Repositories(session)
        mei = await store.people.ensure("t", "mei", "Mei")
        sam = await store.people.ensure("t", "sam", "Sam")
        learning = store.get(Learning)
        assert await learning.award(mei, None, "quiz_correct", 10, 50, day) == 10  # stored
        for _ in range(7):
            learning.award_later(mei, None, "quiz_correct", 10, 50, day)
            learning.award_later(sam, None, "quiz_correct", 10, 50, day)
        learning.award_later(sam, None, "quiz_correct", 10, 50, day + timedelta(1))
        learning.award_later(sam, None, "quiz_correct", 0, 50, day)
        await learning.flush()
        assert await learning.points_of(mei) == 50
        assert await learning.points_of(sam) == 60  # 50 on the day, 10 the next
        learning.award_later(mei, None, "lesson_finished", 20, 30, day)
        assert await learning.award(mei, None, "lesson_finished", 20, 30, day) == 10
    async with db.session() as session:  # nothing more was kept back
        assert await Repositories(session).get(Learning).points_of(mei) == 80


async def test_streak_counts_consecutive_days(db: Database) -> None:
    day = date(2026, 11, 28)
    async with db.session() as session:
        learning = Repositories(session).get(Learning)
        member = await Repositories(session).people.ensure("t", "mei", "Mei")
        for back in (1, 2, 3, 5):
            learning.finish_daily(member, day - timedelta(back), 5)
        assert await learning.streak(member, day) == 3
        learning.finish_daily(member, day - timedelta(1), 5)
        assert await learning.streak(member, day) == 3
        learning.finish_daily(member, day, 4)
        assert await learning.streak(member, day) == 4
        assert await learning.streak(member, day + timedelta(2)) == 0


async def test_leaderboards_on_a_seeded_data_set(db: Database) -> None:
    """A branch of 6 where everyone learns outranks a branch of 40 where half do."""
    day = date(2026, 11, 28)
    async with db.session() as session:
        store = Repositories(session)
        await store.get(Learning).import_bank(load(BANK))
        question = await session.scalar(select(Question.id).where(Question.key == "cat-1"))
        assert question is not None
        (card,) = await store.get(Learning).cards(0, [question])
        small = await store.branches.add("Small")
        big = await store.branches.add("Big")
        assert small and big
        for branch, size, active, right_of_each in ((small, 6, 6, 1), (big, 40, 20, 3)):
            for n in range(size):
                member = await store.people.ensure("t", f"{branch.name}{n}", f"{branch.name} {n}")
                await store.people.set_branch(member, branch.id)
                if n >= active:
                    continue
                for k in range(3):
                    right = k < right_of_each
                    store.get(Learning).record_answer(
                        member, branch.id, card, f"{member}:{k}", "quiz", right, 4, day
                    )
                await store.get(Learning).award(member, branch.id, "quiz_correct", n + 1, 999, day)
        rows = {b.name: b for b in await store.get(Learning).branch_activity(None)}
        assert (rows["Small"].members, rows["Small"].active, rows["Small"].answers) == (6, 6, 18)
        assert rows["Small"].participation == 1.0 and rows["Big"].participation == 0.5
        assert rows["Big"].accuracy == 1.0 and round(rows["Small"].accuracy, 3) == 0.333
        top = await store.get(Learning).branch_points(big.id, None)
        assert [(t.name, t.points) for t in top[:2]] == [("Big 19", 20), ("Big 18", 19)]
        assert len(top) == 40 and top[-1].points == 0
        weak = await store.get(Learning).weakest_categories(datetime(2000, 1, 1, tzinfo=UTC), 3)
        assert [(c.category, c.answers, c.correct) for c in weak[small.id]] == [
            ("catalogue", 18, 6)
        ]
        assert await session.scalar(select(func.count()).select_from(Member)) == 46


async def test_wrong_answers_come_back_first_and_new_questions_keep_coming(db: Database) -> None:
    day = date(2026, 11, 28)
    async with db.session() as session:
        store = Repositories(session)
        await store.get(Learning).import_bank(load(BANK))
        member = await store.people.ensure("t", "mei", "Mei")
        ids = {key: qid for key, qid in await session.execute(select(Question.key, Question.id))}
        cards = {c.id: c for c in await store.get(Learning).cards(member, list(ids.values()))}
        for key, right in (("cat-1", True), ("cat-2", False), ("rules-1", True)):
            card = cards[ids[key]]
            store.get(Learning).record_answer(
                member, None, card, f"a:{key}", "quiz", right, 4 if right else 1, day
            )
        await store.get(Learning).flush()
        store.get(Learning).record_answer(
            member, None, cards[ids["cat-1"]], "a:cat-1", "quiz", False, 1, day
        )
        await store.get(Learning).flush()
        recorded = await session.execute(select(AnswerRecord.attempt, AnswerRecord.correct))
        assert sorted(recorded) == [("a:cat-1", True), ("a:cat-2", False), ("a:rules-1", True)]
        tomorrow = await store.get(Learning).daily_pick(member, None, day + timedelta(1), 4)
        # The wrong answer is due tomorrow; right ones wait 3 days; the new question comes
        # before them.
        assert tomorrow[:2] == [ids["cat-2"], ids["rules-2"]]
        assert set(tomorrow[2:]) == {ids["cat-1"], ids["rules-1"]}
        again = await store.get(Learning).cards(member, [ids["cat-1"]])
        assert again[0].schedule == [1.0, 3.0, 2.5]
        # Three days on, all three are due: the wrong one first, and reviews leave room
        # for the question never seen.
        due = await store.get(Learning).daily_pick(member, None, day + timedelta(3), 4)
        assert due[0] == ids["cat-2"] and due[2] == ids["rules-2"]
        assert set(due) == set(ids.values())
        store.get(Learning).record_answer(
            member, None, again[0], "b:cat-1", "quiz", True, 4, day + timedelta(1)
        )
        later = await store.get(Learning).daily_pick(member, None, day + timedelta(2), 2)
        assert later == [ids["cat-2"], ids["rules-2"]]
        assert (await store.get(Learning).cards(member, [ids["cat-1"]]))[0].schedule == [
            2.0,
            6.0,
            2.5,
        ]


async def test_room_round_takes_typed_numbers_from_members_and_ends_on_its_deadline(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot(learning={"group_seconds": 0.6})
    await with_bank(bot)
    await ask(bot, adapter, "boss", "/branch add Lib")
    code = code_in(await ask(bot, adapter, "boss", "/invite Lib member"))
    await ask(bot, adapter, "mei", f"/join {code}")
    await ask(bot, adapter, "boss", "/bind Lib", chat="room")
    assert "Question 1/1" in await ask(bot, adapter, "boss", "/quiz group 1", chat="room")
    assert await ask(bot, adapter, "mei", "hello all", chat="room") == ""
    ack = await ask(bot, adapter, "mei", "1", chat="room")
    assert "Got your answer" in ack and adapter.sent[-1].address.direct
    assert "already answered" in await ask(bot, adapter, "mei", "2", chat="room")
    async with asyncio.timeout(10):
        while not any("Final podium" in s.message.text.plain() for s in adapter.sent):
            await adapter.wait_for(len(adapter.sent) + 1, timeout=10)
    podium = adapter.sent[-1]
    assert podium.address.chat_id == "room" and "wrong" in podium.message.text.plain()
    assert await ask(bot, adapter, "mei", "1", chat="room") == ""
