"""The appraisal repository on both stores: templates, who may answer (fixed at open),
submitting once and only while open, progress, and the feature's own migration branch."""

from __future__ import annotations

from sqlalchemy import inspect, select, text

from dialogs.appraisal.mixer import Mixer
from dialogs.appraisal.repository import ROUND, Appraisal, Progress, SubmitResult
from dialogs.appraisal.tables import Staged, Submitted, random_id
from store.db import Database
from store.models import Member
from store.repos import Repositories
from tests.support.appraisal_store import (
    Definition,
    appraisal_db,
    branch_with_members,
    open_round,
)
from tests.support.migrations import migrate

APPRAISAL_TABLES = {
    "appraisal_templates",
    "appraisal_rounds",
    "appraisal_round_branches",
    "appraisal_eligible",
    "appraisal_submitted",
    "appraisal_staged",
    "appraisal_staged_grades",
    "appraisal_answers",
    "appraisal_grades",
}


async def test_a_template_imported_again_is_its_next_version(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            first = await appraisal.add_template(Definition("pulse", {"title": "one"}))
            second = await appraisal.add_template(Definition("pulse", {"title": "two"}))
            await appraisal.add_template(Definition("annual", {"title": "year"}))
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            newest = await appraisal.template("pulse")
            assert newest is not None and (newest.id, newest.version) == (second, 2)
            assert newest.definition == {"key": "pulse", "title": "two"}
            older = await appraisal.template_by_id(first)
            assert older is not None and older.definition["title"] == "one"
            assert [(t.key, t.version) for t in await appraisal.templates()] == [
                ("annual", 1),
                ("pulse", 2),
            ]
            assert await appraisal.template("missing") is None


async def test_who_may_answer_is_fixed_when_the_round_opens(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        lib, (ann, bo) = await branch_with_members(db, "Lib", ["Ann", "Bo"])
        other, (cy,) = await branch_with_members(db, "Other", ["Cy"])
        survey = await open_round(db, [lib])
        assert ROUND.format(survey.number) == survey.label == f"R{survey.number}"
        assert survey.branch_ids == (lib,) and survey.is_open(db.clock.now())
        # Dee joins Lib after the opening, Bo moves to Other: neither changes the round.
        _, (dee,) = await branch_with_members(db, "Late", ["Dee"])
        async with db.session() as session:
            repos = Repositories(session)
            await repos.people.set_branch(dee, lib)
            await repos.people.set_branch(bo, other)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.eligibility(survey.number, ann) == lib
            assert await appraisal.eligibility(survey.number, bo) == lib
            assert await appraisal.eligibility(survey.number, dee) is None
            assert await appraisal.eligibility(survey.number, cy) is None
            names = [m.display_name for m in await appraisal.eligible_members(survey.number, lib)]
            assert names == ["Ann", "Bo"]
            late = await appraisal.submit(survey.number, dee, lib, {"q1": 5}, {})
            assert late is SubmitResult.NOT_ELIGIBLE
            wrong_branch = await appraisal.submit(survey.number, bo, other, {"q1": 5}, {})
            assert wrong_branch is SubmitResult.NOT_ELIGIBLE
            assert await appraisal.submit(999, ann, lib, {}, {}) is SubmitResult.NOT_ELIGIBLE


async def test_a_member_submits_once_and_only_while_the_round_is_open(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, clock):
        lib, (ann, bo, cy) = await branch_with_members(db, "Lib", ["Ann", "Bo", "Cy"])
        survey = await open_round(db, [lib], days=2)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            first = await appraisal.submit(survey.number, ann, lib, {"q1": 4}, {bo: "excellent"})
            assert first is SubmitResult.SUBMITTED
            assert await appraisal.has_submitted(survey.number, ann)
            assert not await appraisal.has_submitted(survey.number, bo)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            again = await appraisal.submit(survey.number, ann, lib, {"q1": 1}, {})
            assert again is SubmitResult.ALREADY
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.close(survey.number)
            assert not await appraisal.close(survey.number), "closed already"
            closed = await appraisal.submit(survey.number, bo, lib, {"q1": 3}, {})
            assert closed is SubmitResult.CLOSED
        later = await open_round(db, [lib], days=2)
        clock.advance(days=2)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert [r.number for r in await appraisal.open_rounds()] == []
            past_time = await appraisal.submit(later.number, cy, lib, {"q1": 3}, {})
            assert past_time is SubmitResult.CLOSED
            recent = await appraisal.recent_rounds(5)
            assert [r.number for r in recent] == [later.number, survey.number]
        async with db.session() as session:
            # One participation row and one staged row, and nothing else was written.
            assert len(list(await session.scalars(select(Submitted)))) == 1
            staged = list(await session.scalars(select(Staged)))
            assert [(s.branch_id, s.answers) for s in staged] == [(lib, {"q1": 4})]


async def test_progress_counts_submitted_of_eligible_per_branch(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        lib, (_, _, bo) = await branch_with_members(db, "Lib", ["Cy", "Ann", "Bo"])
        docs, (dee,) = await branch_with_members(db, "Docs", ["Dee"])
        empty, _ = await branch_with_members(db, "Empty", [])
        survey = await open_round(db, [lib, docs, empty])
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            await appraisal.submit(survey.number, bo, lib, {"q1": 2}, {})
            await appraisal.submit(survey.number, dee, docs, {"q1": 2}, {})
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.progress(survey.number) == [
                Progress(lib, 1, 3),
                Progress(docs, 1, 1),
                Progress(empty, 0, 0),
            ]
            waiting = await appraisal.not_submitted(survey.number, lib)
            assert [m.display_name for m in waiting] == ["Ann", "Cy"]
            assert await appraisal.not_submitted(survey.number, docs) == []


async def submit_scores(db: Database, number: int, branch: int, members: list[int]) -> None:
    """Each member answers q1 with their place in ``members`` and grades the others."""
    async with db.session() as session:
        appraisal = Repositories(session).get(Appraisal)
        for score, member in enumerate(members, start=1):
            others = {m: "competent" for m in members if m != member}
            await appraisal.submit(number, member, branch, {"q1": score}, others)


async def test_a_closed_round_reads_its_answers_and_grades_from_the_ledger(
    database_url: str,
) -> None:
    async with appraisal_db(database_url) as (db, _):
        lib, members = await branch_with_members(db, "Lib", ["A", "B", "C", "D"])
        survey = await open_round(db, [lib], k=5)
        await submit_scores(db, survey.number, lib, members)
        mixer = Mixer(db)
        await mixer.tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.staged(survey.number) == 4, "fewer than k: nothing moved"
            assert await appraisal.answers(survey.number) == {}
        # The same four in a round whose k they reach.
        enough = await open_round(db, [lib], k=4)
        await submit_scores(db, enough.number, lib, members)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            await appraisal.close(survey.number)
            await appraisal.close(enough.number)
        await mixer.tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.staged(survey.number) == 0
            closed = await appraisal.round(enough.number)
            assert closed is not None and closed.sealed and closed.closed_at is not None
            answers = await appraisal.answers(enough.number)
            assert sorted(answers[lib]["q1"]) == [1, 2, 3, 4]
            assert await appraisal.progress(enough.number) == [Progress(lib, 4, 4)]
            # Three graded each member: not k, so the grades are not kept.
            assert await appraisal.grades_received(enough.number, members[0]) == {}
            # Below k the branch is only part of "other branches", and keeps no grades.
            small = await appraisal.answers(survey.number)
            assert list(small) == [None] and sorted(small[None]["q1"]) == [1, 2, 3, 4]
            assert await appraisal.grades_received(survey.number, members[0]) == {}


async def test_grades_from_k_graders_are_kept(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        lib, members = await branch_with_members(db, "Lib", ["A", "B", "C", "D"])
        survey = await open_round(db, [lib], k=3)
        await submit_scores(db, survey.number, lib, members)
        async with db.session() as session:
            await Repositories(session).get(Appraisal).close(survey.number)
        await Mixer(db).tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.grades_received(survey.number, members[0]) == {"competent": 3}


async def test_a_link_merge_moves_the_participation_and_the_grades(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        lib, (ann, bo) = await branch_with_members(db, "Lib", ["Ann", "Bo"])
        _, (bo_phone,) = await branch_with_members(db, "Elsewhere", ["Bo's phone"])
        survey = await open_round(db, [lib], k=1)
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            await appraisal.submit(survey.number, ann, lib, {"q1": 1}, {bo_phone: "excellent"})
        async with db.session() as session:
            await Repositories(session).merge_members(keep=bo, absorb=bo_phone)
        await Mixer(db).tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.grades_received(survey.number, bo) == {"excellent": 1}
            assert await session.get(Member, bo_phone) is None


async def test_the_feature_branch_goes_down_and_up_on_its_own(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "appraisal@base", True)
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not tables & APPRAISAL_TABLES and "members" in tables
        async with db.engine.begin() as connection:
            await connection.run_sync(migrate, "appraisal@head")
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables >= APPRAISAL_TABLES
        lib, members = await branch_with_members(db, "Lib", ["Ann"])
        survey = await open_round(db, [lib])
        assert survey.number >= 1 and members


async def test_a_submit_that_slips_in_at_the_seal_is_shuffled_into_the_whole_round(
    database_url: str,
) -> None:
    """On SQLite a submit may read the round open just before the mixer seals it and commit
    just after: the round is sealed again with it, so it is never moved alone."""
    async with appraisal_db(database_url) as (db, _):
        lib, members = await branch_with_members(db, "Lib", ["A", "B", "C", "D"])
        survey = await open_round(db, [lib], k=3)
        await submit_scores(db, survey.number, lib, members[:3])
        async with db.session() as session:
            await Repositories(session).get(Appraisal).close(survey.number)
        mixer = Mixer(db)
        await mixer.tick()
        async with db.session() as session:
            session.add(
                Submitted(round_id=survey.number, member_id=members[3], day=db.clock.now().date())
            )
            session.add(
                Staged(id=random_id(), round_id=survey.number, branch_id=lib, answers={"q1": 4})
            )
        await mixer.tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            assert await appraisal.staged(survey.number) == 0
            assert sorted((await appraisal.answers(survey.number))[lib]["q1"]) == [1, 2, 3, 4]
        if db.dialect == "postgresql":
            async with db.engine.connect() as connection:
                writers = await connection.execute(
                    text(
                        "SELECT DISTINCT xmin::text FROM appraisal_answers UNION "
                        "SELECT DISTINCT xmin::text FROM appraisal_submitted"
                    )
                )
                assert len(writers.all()) == 1
