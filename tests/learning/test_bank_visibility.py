"""Who sees which questions, at the store: the picks of a branch's member, of a member without
a branch and of a member who moved on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from store.banks import load
from store.db import Database
from store.learning import Learning
from store.learning_tables import Question, QuestionBank
from store.repos import Repositories

BANKS = Path(__file__).parent / "banks"


async def test_a_moved_member_stops_meeting_the_old_branchs_questions(db: Database) -> None:
    day = date(2026, 12, 1)
    async with db.session() as session:
        store = Repositories(session)
        first = await store.branches.add("First")
        second = await store.branches.add("Second")
        assert first is not None and second is not None
        await store.get(Learning).import_bank(load(BANKS / "library.yaml"))
        await store.get(Learning).import_bank(load(BANKS / "good.csv"), first.id)
        rows = await session.execute(
            select(Question.id, QuestionBank.branch_id).join(
                QuestionBank, QuestionBank.id == Question.bank_id
            )
        )
        owner: dict[int, int | None] = {q: branch for q, branch in rows}
        organisation = {q for q, branch in owner.items() if branch is None}
        everyone = set(owner)
        assert len(organisation) == 4 and len(everyone) == 7
        assert set(await store.get(Learning).sample(None, 50)) == organisation
        assert set(await store.get(Learning).sample(second.id, 50)) == organisation
        assert set(await store.get(Learning).sample(first.id, 50)) == everyone
        member = await store.people.ensure("t", "mei", "Mei")
        await store.people.set_branch(member, first.id)
        branch_question = next(q for q, branch in owner.items() if branch == first.id)
        (card,) = await store.get(Learning).cards(member, [branch_question])
        store.get(Learning).record_answer(member, first.id, card, "a:1", "quiz", False, 1, day)
        tomorrow = day + timedelta(days=1)
        picked = await store.get(Learning).daily_pick(member, first.id, tomorrow, 20)
        assert picked[0] == branch_question and set(picked) == everyone
        await store.people.set_branch(member, second.id)
        picked = await store.get(Learning).daily_pick(member, second.id, tomorrow, 20)
        assert set(picked) == organisation
        assert set(await store.get(Learning).daily_pick(member, None, tomorrow, 20)) == organisation
