"""The privacy attack: k+2 members of one branch submit known, distinct answers; after the
mixer ran and the round closed itself, every way of linking an answer to its member through
a full copy of the store (columns, ids and their order, physical row order, PostgreSQL's
``xmin``, timestamps, the SQLite file and its WAL) and through the log records fails.
See ``docs/privacy.md`` for the threat model."""

from __future__ import annotations

import logging
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from dialogs.appraisal.mixer import Mixer
from dialogs.appraisal.repository import Appraisal
from store.clock import ManualClock
from store.db import Database
from store.repos import Repositories
from tests.support.appraisal_store import appraisal_db, branch_with_members, open_round

K = 5
PEOPLE = [f"Person{n}" for n in range(K + 2)]
QUESTIONS = ("t1", "t2", "t3")
SUBMIT_ORDER = [3, 0, 6, 1, 5, 2, 4]
"""Neither member order nor its reverse, so an order that followed either would show."""


def marker(person: int, question: str) -> str:
    return f"zq{person}x{question}unique"


def owner(value: str) -> int:
    """Who gave an answer: the attacker's answer key (the test knows every answer)."""
    return int(value.removeprefix("zq").split("x")[0])


def sorted_by(ranks: list[int]) -> bool:
    return ranks == sorted(ranks) or ranks == sorted(ranks, reverse=True)


async def rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


def store_files(path: Path) -> tuple[bytes, bytes]:
    """The SQLite file and its write-ahead log, as a copy of them would hold them."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else b""


async def submit_all(
    db: Database, members: list[int], branch: int, number: int, clock: ManualClock
) -> None:
    mixer = Mixer(db)
    for done, person in enumerate(SUBMIT_ORDER, start=1):
        clock.advance(minutes=7)
        async with db.session() as session:
            grades = {m: "competent" for m in members if m != members[person]}
            answers = {q: marker(person, q) for q in QUESTIONS} | {"scale": person + 1}
            await (
                Repositories(session)
                .get(Appraisal)
                .submit(number, members[person], branch, answers, grades)
            )
        await mixer.tick()
        async with db.session() as session:
            staged = await Repositories(session).get(Appraisal).staged(number)
        # Moved only in batches of at least k: the first five together, the last two wait.
        assert staged == (done if done < K else done - K), done


async def test_no_path_links_an_answer_to_its_member(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with appraisal_db(database_url) as (db, clock):
        branch, members = await branch_with_members(db, "Lib", PEOPLE)
        survey = await open_round(db, [branch], k=K, days=1)
        await submit_all(db, members, branch, survey.number, clock)
        clock.advance(days=1)  # the closing time passes: the mixer closes the round itself
        await Mixer(db).tick()
        async with db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            closed = await appraisal.round(survey.number)
            assert (
                closed is not None and closed.sealed and await appraisal.staged(closed.number) == 0
            )
            answers = await appraisal.answers(survey.number)
            assert sorted(answers[branch]["scale"]) == list(range(1, K + 3))
            assert await appraisal.grades_received(survey.number, members[0]) == {"competent": 6}

        # 1. The ledgers have no column that names a submitter, and no time at all.
        async with db.engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {
                    t: {col["name"]: str(col["type"]) for col in inspect(c).get_columns(t)}
                    for t in ("appraisal_answers", "appraisal_grades", "appraisal_submitted")
                }
            )
        assert set(columns["appraisal_answers"]) == {
            "id",
            "round_id",
            "branch_id",
            "question",
            "value",
        }
        assert set(columns["appraisal_grades"]) == {"id", "round_id", "member_id", "grade"}
        assert columns["appraisal_submitted"]["day"] == "DATE", "the day, never the time"
        assert await rows(db, "SELECT count(*) FROM appraisal_staged") == [(0,)]
        assert await rows(db, "SELECT count(*) FROM appraisal_staged_grades") == [(0,)]

        # 2. Ids and their order: random, and the rows they order do not follow the submits.
        ledger = await rows(
            db, "SELECT id, value FROM appraisal_answers WHERE question <> 'scale' ORDER BY id"
        )
        assert len(ledger) == len(PEOPLE) * len(QUESTIONS)
        by_id = [owner(str(_text(value))) for _, value in ledger]
        rank = {person: n for n, person in enumerate(SUBMIT_ORDER)}
        assert not sorted_by([rank[p] for p in by_id]), "ids follow the submit order"
        assert not sorted_by(by_id), "ids follow the member order"
        ids = [int(str(i)) for i, _ in ledger]
        assert max(ids) - min(ids) > 10**9, "ids are drawn from a wide range, not counted"

        # 3. Physical order (SQLite's rowid, PostgreSQL's ctid) of the ledger: shuffled; the
        #    last two submitters' rows are not the last rows; participation in member order.
        sqlite = db.dialect == "sqlite"
        position = "rowid" if sqlite else "ctid"
        physical = await rows(
            db,
            f"SELECT value FROM appraisal_answers WHERE question <> 'scale' ORDER BY {position}",
        )
        owners = [owner(str(_text(value))) for (value,) in physical]
        first = SUBMIT_ORDER[:K]
        within = [rank[p] for p in owners if p in first]
        assert not sorted_by(within), "the first batch's rows lie in submit order"
        runs = sum(1 for a, b in pairwise(owners) if a != b) + 1
        assert runs > len(PEOPLE), "a member's answers lie together"
        late = set(SUBMIT_ORDER[K:])
        span = len(late) * len(QUESTIONS)
        ends = (set(owners[:span]), set(owners[-span:]))
        assert late not in ends, "the last batch is visible"
        participation = await rows(
            db, f"SELECT member_id FROM appraisal_submitted ORDER BY {position}"
        )
        assert [m for (m,) in participation] == sorted(members), "participation in member order"

        # 4. PostgreSQL's xmin: every ledger row and every participation row of the round was
        #    written by the one closing transaction, so none points at its submit.
        if not sqlite:
            written = await rows(
                db,
                "SELECT DISTINCT xmin::text FROM appraisal_answers UNION "
                "SELECT DISTINCT xmin::text FROM appraisal_grades UNION "
                "SELECT DISTINCT xmin::text FROM appraisal_submitted",
            )
            assert len(written) == 1, written

        # 5. The SQLite file and its WAL: each answer is in the file once (its ledger row),
        #    never in the staged JSON beside others, and the WAL is empty.
        if sqlite:
            data, wal_data = store_files(Path(str(make_url(db.url).database)))
            for person in range(len(PEOPLE)):
                for question in QUESTIONS:
                    answer = marker(person, question).encode()
                    assert data.count(answer) == 1, (person, question, data.count(answer))
                    assert answer not in wal_data
            assert b'"t1": "' not in data and b'"t1":"' not in data, "a staged JSON survived"

    # 6. The log records of the whole run carry no answer and no member.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for person, name in enumerate(PEOPLE):
        assert name not in logged
        assert marker(person, "t1") not in logged
    assert "R" in logged and "submissions moved" in logged


def _text(value: object) -> object:
    """A JSON value as the driver returns it: SQLite gives the raw JSON text."""
    if isinstance(value, str) and value.startswith('"'):
        return value.strip('"')
    return value


async def test_below_k_nothing_moves_until_the_round_closes(database_url: str) -> None:
    async with appraisal_db(database_url) as (db, _):
        branch, members = await branch_with_members(db, "Lib", PEOPLE[: K - 1])
        survey = await open_round(db, [branch], k=K)
        mixer = Mixer(db)
        for person, member in enumerate(members):
            async with db.session() as session:
                await (
                    Repositories(session)
                    .get(Appraisal)
                    .submit(survey.number, member, branch, {"t1": marker(person, "t1")}, {})
                )
            await mixer.tick()
        assert await rows(db, "SELECT count(*) FROM appraisal_answers") == [(0,)]
        assert await rows(db, "SELECT count(*) FROM appraisal_staged") == [(K - 1,)]
        async with db.session() as session:
            await Repositories(session).get(Appraisal).close(survey.number)
        await mixer.tick()
        assert await rows(db, "SELECT count(*) FROM appraisal_answers") == [(K - 1,)]
        assert await rows(db, "SELECT count(*) FROM appraisal_staged") == [(0,)]
