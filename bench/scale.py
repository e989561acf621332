"""Scale figures on PostgreSQL: an organisation of ``--members`` members (1,000,000 by
default) in branches of 20, plus one big branch of 1% of them, built with COPY (asyncpg)
into the real tables made by the real migrations. Then the project's own code is timed:

- **broadcast**: ``Broadcaster._expand`` (recipient rows) and ``Broadcaster._queue`` (outbox
  rows in chunks, linked back to the recipients) for one notice to every member, and the
  ``Broadcasts.delivery_counts`` the worker repeats every 5 s while a big notice is sending;
- **leaderboard**: ``Learning.branch_points`` (one branch's board) and
  ``Learning.branch_activity`` (the branches' board), both of which ``/rank`` runs;
- **survey**: ``Appraisal.open_round`` over every branch, and ``figures.figures`` (what
  ``/survey report`` and the export compute) over a ledger of ``--members`` answers.

Baselines from the same run: the COPY rate of each seeded table, a plain ``COUNT(*)`` over
each table read, a server-side ``INSERT … SELECT`` of the same recipient rows, and the same
survey counts aggregated in SQL. Prints one JSON object.

    .venv/bin/python bench/scale.py [--members 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg
from sqlalchemy import Table, func, select, text, update

from bot.context import Settings
from bot.feature import Services, migrations
from bot.markup import Markup
from bot.messages import Capabilities
from dialogs import FEATURES
from dialogs.appraisal.common import template_of
from dialogs.appraisal.figures import figures
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.tables import Answer, SurveyRound, random_id
from dialogs.appraisal.templates import parse_template
from dialogs.broadcast.config import BroadcastConfig
from dialogs.broadcast.fanout import Broadcaster
from store.broadcast_tables import BroadcastRecipient
from store.broadcasts import Broadcasts
from store.db import Database
from store.learning import Learning
from store.learning_tables import Question, QuestionBank
from store.models import OutboxRow
from store.repos import Repositories
from store.runtime import PendingMessage

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PER_BRANCH = 20
"""100 million members in 5 million branches."""
QUESTIONS = 10
"""Survey questions each submission answers: 8 scales, one single choice, one free text."""
PLATFORM = "telegram"
NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
WEEK = TODAY - timedelta(days=TODAY.weekday())

T = TypeVar("T")


class Layout:
    """Who is in which branch: branch 1 holds 1% of the members, the rest go 20 a branch."""

    def __init__(self, members: int) -> None:
        self.members = members
        self.big = max(PER_BRANCH, members // 100)
        self.branches = 1 + -(-(members - self.big) // PER_BRANCH)

    def branch_of(self, member: int) -> int:
        return 1 if member <= self.big else 2 + (member - self.big - 1) // PER_BRANCH


def rss_mib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    began = time.perf_counter()
    result = await call()
    return (time.perf_counter() - began) * 1000, result


async def median_ms(repeat: int, call: Callable[[], Awaitable[T]]) -> tuple[float, T]:
    """The median of ``repeat`` runs: the first run of a query on a cold cache is not it."""
    times: list[float] = []
    result: T | None = None
    for _ in range(repeat):
        ms, result = await timed(call)
        times.append(ms)
    assert result is not None
    return round(statistics.median(times), 1), result


async def copy(
    raw: asyncpg.Connection, table: str, columns: list[str], records: Iterator[tuple[Any, ...]]
) -> dict[str, float]:
    """COPY ``records`` into a real table; the rate is the same run's write baseline."""
    began = time.perf_counter()
    result = await raw.copy_records_to_table(table, records=records, columns=columns)
    seconds = time.perf_counter() - began
    rows = int(result.split()[-1])
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}


async def count(db: Database, table: str, where: str = "") -> tuple[float, int]:
    """A plain ``COUNT(*)``: how long the server takes just to read the rows."""
    async with db.session() as session:
        return await median_ms(
            1, lambda: session.scalar(text(f"SELECT count(*) FROM {table} {where}"))
        )


# -- the dataset ----------------------------------------------------------------------------


async def seed_people(raw: asyncpg.Connection, layout: Layout) -> dict[str, Any]:
    """Branches, members, and one Telegram account each; 1 in 20 has never opened a direct
    chat with the bot (Telegram's bot may not write first: they are unreachable)."""
    n = layout.members
    seeded = {
        "branches": await copy(
            raw,
            "branches",
            ["id", "name", "key", "created_at"],
            ((b, f"Branch {b}", f"branch {b}", NOW) for b in range(1, layout.branches + 1)),
        ),
        "members": await copy(
            raw,
            "members",
            ["id", "display_name", "branch_id", "created_at"],
            ((m, f"Member {m}", layout.branch_of(m), NOW) for m in range(1, n + 1)),
        ),
        "identities": await copy(
            raw,
            "identities",
            ["platform", "user_id", "member_id", "display_name", "direct_chat_id"],
            (
                (PLATFORM, str(m), m, f"Member {m}", str(m) if m % 20 else None)
                for m in range(1, n + 1)
            ),
        ),
    }
    for table in ("branches", "members"):
        await raw.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
    return seeded


async def seed_learning(db: Database, raw: asyncpg.Connection, layout: Layout) -> dict[str, Any]:
    """One bank of 20 questions; 4 in 5 members answered twice this week (each answer a
    points row) and every member earned points once a month ago (the all-time board)."""
    async with db.session() as session:
        bank = QuestionBank(name="bench")
        session.add(bank)
        await session.flush()
        questions = [
            Question(
                bank_id=bank.id,
                key=f"q{q}",
                kind="single",
                text=f"Question {q}",
                options=["a", "b"],
                answers=[0],
                feedback=["", ""],
                category=f"c{q % 5}",
                updated_at=NOW,
            )
            for q in range(20)
        ]
        session.add_all(questions)
        await session.flush()
        question_ids = [q.id for q in questions]
    active = [m for m in range(1, layout.members + 1) if m % 5]

    def moment(member: int, n: int) -> datetime:
        return NOW - timedelta(days=(member + n) % max(1, TODAY.weekday() + 1), hours=n)

    answers = await copy(
        raw,
        "learning_answers",
        ["member_id", "branch_id", "question_id", "attempt", "mode", "correct", "answered_at"],
        (
            (
                m,
                layout.branch_of(m),
                question_ids[(m + n) % 20],
                f"{m}-{n}",
                "daily",
                (m + n) % 3 != 0,
                moment(m, n),
            )
            for m in active
            for n in range(2)
        ),
    )
    points = await copy(
        raw,
        "learning_points",
        ["member_id", "branch_id", "activity", "points", "day"],
        (
            (m, layout.branch_of(m), "daily", 1 + (m * 7 + n) % 10, moment(m, n).date())
            for m in active
            for n in range(2)
        ),
    )
    older = await copy(
        raw,
        "learning_points",
        ["member_id", "branch_id", "activity", "points", "day"],
        (
            (m, layout.branch_of(m), "daily", 1 + m % 10, TODAY - timedelta(days=30))
            for m in range(1, layout.members + 1)
        ),
    )
    return {"learning_answers": answers, "learning_points": points, "learning_points_old": older}


def survey_template() -> bytes:
    lines = [
        "survey: scale",
        'title: {en: Scale survey, zh_Hans: "规模测试"}',
        "sections:",
        '  - title: {en: The branch, zh_Hans: "支部"}',
        "    questions:",
    ]
    for q in range(QUESTIONS - 2):
        lines += [
            f"      - key: q{q}",
            "        kind: scale",
            "        points: 5",
            f'        text: {{en: Item {q}?, zh_Hans: "第{q}项"}}',
            "        labels:",
            '          1: {en: Poorly, zh_Hans: "差"}',
            '          5: {en: Very well, zh_Hans: "很好"}',
        ]
    lines += [
        "      - key: often",
        "        kind: single",
        '        text: {en: How often?, zh_Hans: "多久？"}',
        "        options:",
        '          - {en: Weekly, zh_Hans: "每周"}',
        '          - {en: Monthly, zh_Hans: "每月"}',
        "      - key: remarks",
        "        kind: text",
        "        required: false",
        "        max_length: 200",
        '        text: {en: Anything else?, zh_Hans: "其他？"}',
    ]
    return ("\n".join(lines) + "\n").encode()


async def open_survey(
    db: Database, raw: asyncpg.Connection, layout: Layout, failures: list[dict[str, str]]
) -> tuple[int, dict[str, Any]]:
    """``Appraisal.open_round`` over every branch, as ``/survey open`` calls it; where it
    fails, the round is opened over none and its branches and eligible members are copied
    in (the rows it would have written), and the failure is reported."""
    loaded = parse_template(survey_template(), "scale.yaml")
    assert loaded.template is not None, loaded.errors
    branches = list(range(1, layout.branches + 1))
    closes = NOW + timedelta(days=7)
    async with db.session() as session:
        template_id = await Appraisal(session).add_template(loaded.template)
    figures_: dict[str, Any] = {}
    try:
        async with db.session() as session:
            ms, row = await timed(
                lambda: Appraisal(session).open_round(template_id, branches, closes, None, 5)
            )
        figures_["open_round_ms"] = round(ms, 1)
        return row.number, figures_
    except Exception as error:
        failures.append({"where": "Appraisal.open_round", "error": str(error).splitlines()[0]})
    async with db.session() as session:
        row = await Appraisal(session).open_round(template_id, [], closes, None, 5)
    figures_["round_branches"] = await copy(
        raw,
        "appraisal_round_branches",
        ["round_id", "branch_id"],
        ((row.number, b) for b in branches),
    )
    figures_["eligible"] = await copy(
        raw,
        "appraisal_eligible",
        ["round_id", "member_id", "branch_id"],
        ((row.number, m, layout.branch_of(m)) for m in range(1, layout.members + 1)),
    )
    return row.number, figures_


def value(member: int, question: int) -> str:
    """One stored answer as the ledger's JSON holds it."""
    if question < QUESTIONS - 2:
        return json.dumps(1 + (member + question) % 5)
    if question == QUESTIONS - 2:
        return json.dumps(member % 2)
    return json.dumps(f"Remark from member {member}.")


async def seed_survey(
    db: Database, raw: asyncpg.Connection, layout: Layout, number: int
) -> dict[str, Any]:
    """The first ``members / 10`` members submitted (the big branch and whole branches after
    it): their participation rows and ``--members`` ledger rows, as the mixer leaves them
    after the seal (random ids, no member); then the round is closed and sealed."""
    submissions = layout.members // QUESTIONS
    submitted = await copy(
        raw,
        "appraisal_submitted",
        ["round_id", "member_id", "day"],
        ((number, m, TODAY) for m in range(1, submissions + 1)),
    )
    ledger = await copy(
        raw,
        "appraisal_answers",
        ["id", "round_id", "branch_id", "question", "value"],
        (
            (random_id(), number, layout.branch_of(m), key, value(m, q))
            for m in range(1, submissions + 1)
            for q, key in enumerate([*(f"q{i}" for i in range(QUESTIONS - 2)), "often", "remarks"])
        ),
    )
    async with db.session() as session:
        await session.execute(
            update(SurveyRound).where(SurveyRound.id == number).values(closed_at=NOW, sealed=True)
        )
    return {"appraisal_submitted": submitted, "appraisal_answers": ledger}


# -- the measurements -------------------------------------------------------------------------


async def broadcast(db: Database, layout: Layout, repeat: int) -> dict[str, Any]:
    """One notice asking for "received" to every member, through the fan-out worker."""
    handed = 0

    def deliver(rows: list[PendingMessage]) -> None:
        nonlocal handed
        handed += len(rows)

    services = Services(db, deliver, Settings(), lambda _platform: Capabilities(can_open_dm=False))
    worker = Broadcaster(services, BroadcastConfig())
    async with db.session() as session:
        created = (
            await Repositories(session)
            .get(Broadcasts)
            .create(
                created_by=None,
                report_to={},
                text=Markup.literal("Meeting tonight").to_json(),
                category="meeting",
                branch_ids={"all": True},
                rooms=False,
                members=True,
                ack=True,
            )
        )
    before = rss_mib()
    expand_ms, _ = await timed(lambda: worker._expand(created.id))
    expanded_rss = rss_mib()
    queue_ms, _ = await timed(lambda: worker._queue(created.id))
    async with db.session() as session:
        recipients = int(
            await session.scalar(
                select(func.count()).where(BroadcastRecipient.broadcast_id == created.id)
            )
            or 0
        )
        outbox = int(await session.scalar(select(func.count()).select_from(OutboxRow)) or 0)
    async with db.session() as session:
        counts_ms, counts = await median_ms(
            repeat, lambda: Broadcasts(session).delivery_counts(created.id)
        )
    count_ms, _ = await count(db, "broadcast_recipients")
    baseline_ms = await server_side_copy(db, created.id)
    return {
        "recipients": recipients,
        "outbox_rows": outbox,
        "handed_to_delivery": handed,
        "expand_ms": round(expand_ms),
        "expand_recipients_per_second": round(recipients / expand_ms * 1000),
        "queue_ms": round(queue_ms),
        "queue_outbox_rows_per_second": round(outbox / queue_ms * 1000),
        "recipients_per_second": round(recipients / (expand_ms + queue_ms) * 1000),
        "peak_rss_mib_before_and_after_expand": [round(before), round(expanded_rss)],
        "delivery_counts_ms": counts_ms,
        "delivery_counts": counts,
        "baseline": {
            "count_recipients_ms": round(count_ms, 1),
            "insert_select_recipients_ms": round(baseline_ms),
            "insert_select_recipients_per_second": round(recipients / baseline_ms * 1000),
        },
    }


async def server_side_copy(db: Database, broadcast_id: int) -> float:
    """The same recipient rows written by one ``INSERT … SELECT`` inside the server (rolled
    back): what writing them costs with no round trip and no Python."""
    columns = ", ".join(
        c.name for c in cast(Table, BroadcastRecipient.__table__).columns if c.name != "id"
    )
    statement = text(
        f"INSERT INTO broadcast_recipients ({columns}) SELECT {columns} "
        "FROM broadcast_recipients WHERE broadcast_id = :b"
    )
    async with db.sessions() as session:
        ms, _ = await timed(lambda: session.execute(statement, {"b": broadcast_id}))
        await session.rollback()
    return ms


async def leaderboard(db: Database, layout: Layout, repeat: int) -> dict[str, Any]:
    """What ``/rank`` reads: the member's branch board, then the branches' board."""
    middle = layout.branch_of(layout.big + (layout.members - layout.big) // 2)
    since = datetime.combine(WEEK, datetime.min.time(), UTC)
    found: dict[str, Any] = {"week_starts": WEEK.isoformat(), "branch": middle}
    cases: dict[str, Callable[[Learning], Awaitable[list[Any]]]] = {
        "branch_points_week": lambda store: store.branch_points(middle, WEEK),
        "branch_points_all": lambda store: store.branch_points(middle, None),
        "big_branch_points_week": lambda store: store.branch_points(1, WEEK),
        "branch_activity_week": lambda store: store.branch_activity(since),
        "branch_activity_all": lambda store: store.branch_activity(None),
    }
    for name, call in cases.items():
        ms, rows = await board_ms(db, repeat, call)
        found[name] = {"ms": ms, "rows": len(rows)}
    members_ms, _ = await count(db, "members")
    points_ms, points = await count(db, "learning_points")
    answers_ms, answers = await count(db, "learning_answers")
    found["baseline"] = {
        "count_members_ms": round(members_ms, 1),
        "count_points_ms": round(points_ms, 1),
        "points_rows": points,
        "count_answers_ms": round(answers_ms, 1),
        "answers_rows": answers,
    }
    return found


async def board_ms(
    db: Database, repeat: int, call: Callable[[Learning], Awaitable[list[Any]]]
) -> tuple[float, list[Any]]:
    """One board's median time, in a session of its own as an event's batch has."""
    async with db.session() as session:
        store = Repositories(session).get(Learning)
        return await median_ms(repeat, lambda: call(store))


async def survey(db: Database, number: int, repeat: int) -> dict[str, Any]:
    """``figures``: the k-suppressed figures ``/survey report`` and the export show."""
    async with db.session() as session:
        appraisal = Appraisal(session)
        row = await appraisal.round(number)
        assert row is not None
        stored = await appraisal.template_by_id(row.template_id)
        assert stored is not None
        template = template_of(stored)
        answers_ms, answers = await timed(lambda: appraisal.answers(number))
        progress_ms, progress = await timed(lambda: appraisal.progress(number))
        del answers
        figures_ms, found = await median_ms(repeat, lambda: figures(appraisal, row, template))
        branches_ms, branches = await timed(lambda: Repositories(session).branches.all())
    async with db.session() as session:
        grouped_ms, grouped = await timed(
            lambda: session.execute(
                select(Answer.branch_id, Answer.question, func.count())
                .where(Answer.round_id == number)
                .group_by(Answer.branch_id, Answer.question)
            )
        )
        groups = len(list(grouped))
    count_ms, ledger = await count(db, "appraisal_answers", f"WHERE round_id = {number}")
    eligible_ms, eligible = await count(db, "appraisal_eligible", f"WHERE round_id = {number}")
    return {
        "ledger_rows": ledger,
        "eligible": eligible,
        "branches_of_round": len(row.branch_ids),
        "branches_shown": sum(1 for g in found.branches if g.shown),
        "answers_ms": round(answers_ms),
        "progress_ms": round(progress_ms),
        "progress_rows": len(progress),
        "figures_ms": figures_ms,
        "report_branch_names_ms": round(branches_ms),
        "report_branch_names_rows": len(branches),
        "peak_rss_mib": round(rss_mib()),
        "baseline": {
            "count_ledger_ms": round(count_ms, 1),
            "count_eligible_ms": round(eligible_ms, 1),
            "eligible_rows": eligible,
            "sql_group_by_branch_question_ms": round(grouped_ms),
            "sql_groups": groups,
        },
    }


async def probe_in_lists(db: Database, layout: Layout, failures: list[dict[str, str]]) -> None:
    """``Branches.locales`` over every branch, as a broadcast to the rooms calls it: an
    ``IN`` list of one bound parameter per branch."""
    try:
        async with db.session() as session:
            await Repositories(session).branches.locales(range(1, layout.branches + 1))
    except Exception as error:
        failures.append({"where": "Branches.locales", "error": str(error).splitlines()[0]})


async def measure(url: str, options: argparse.Namespace) -> dict[str, Any]:
    layout = Layout(options.members)
    db = Database(url, migrations=migrations(FEATURES))
    await db.upgrade()
    raw = await asyncpg.connect(url)
    failures: list[dict[str, str]] = []
    report: dict[str, Any] = {"members": layout.members, "branches": layout.branches}
    report["big_branch_members"] = layout.big
    try:
        began = time.perf_counter()
        seeded = await seed_people(raw, layout)
        seeded.update(await seed_learning(db, raw, layout))
        number, opened = await open_survey(db, raw, layout, failures)
        seeded.update(await seed_survey(db, raw, layout, number))
        await raw.execute("ANALYZE")
        seeded["seconds"] = round(time.perf_counter() - began, 1)
        report["seed"] = seeded
        report["leaderboard"] = await leaderboard(db, layout, options.repeat)
        report["survey"] = {**opened, **await survey(db, number, options.repeat)}
        report["broadcast"] = await broadcast(db, layout, options.repeat)
        await probe_in_lists(db, layout, failures)
        report["failures"] = failures
    finally:
        await raw.close()
        await db.dispose()
    return report


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    if options.members < 2 * PER_BRANCH:
        parser.error(f"--members must be at least {2 * PER_BRANCH}")
    name = f"branchbot_scale_{os.getpid()}"
    admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        figures_ = await measure(f"{PG_SERVER}/{name}", options)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    report = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, **figures_}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
