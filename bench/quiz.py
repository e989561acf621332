"""Benchmark the daily quiz: many members take it at once through the full path.

All members send ``/quiz`` at once (questions picked: due reviews first, then unseen ones);
then all answer every question by typing ``1`` (the first button), each sending the next answer
as soon as the last is committed: router → conversation → answer recorded, SM-2 rescheduled,
points within caps → state and outbox committed → reply delivered. Latency is from an event's
arrival to its commit. Prints one JSON object, with the count of answers recorded (each once).

    .venv/bin/python bench/quiz.py [--members 1000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

import asyncpg
from sqlalchemy import func, select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure
from dialogs.learning.config import LearningConfig
from store.banks import Bank, ParsedQuestion
from store.learning import Learning
from store.learning_tables import AnswerRecord
from store.repos import Repositories

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
QUESTIONS = 200


def bank() -> Bank:
    questions = [
        ParsedQuestion(
            f"Benchmark question {n}: which option is right?",
            "single",
            ["first", "second", "third", "fourth"],
            [n % 4],
            n + 1,
            key=f"bench-{n}",
            explanation="Because the benchmark says so.",
            category=f"topic-{n % 8}",
        )
        for n in range(QUESTIONS)
    ]
    return Bank("bench", questions)


async def prepare(bot: BranchBot, members: int) -> None:
    async with bot.db.session() as session:
        store = Repositories(session)
        await store.get(Learning).import_bank(bank())
        branch = await store.branches.add("Bench")
        assert branch is not None
        for n in range(members):
            member = await store.people.ensure("memory", f"m{n}", f"Member {n}")
            await store.people.set_branch(member, branch.id)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


async def run(url: str, members: int) -> dict[str, Any]:
    adapter = MemoryAdapter()
    config = configure(None, database_url=url, playground=False, default_locale="en")
    bot = BranchBot(config, extra_adapters=[adapter], serve_http=False)
    await bot.start()
    try:
        await prepare(bot, members)
        per_member = config.section(LearningConfig).daily_questions
        starts: list[float] = []
        latencies: list[float] = []

        async def timed(user: str, text: str, into: list[float]) -> None:
            began = time.perf_counter()
            await adapter.say(user, text)
            into.append(time.perf_counter() - began)

        async def answer_all(n: int) -> None:
            for _ in range(per_member):
                await timed(f"m{n}", "1", latencies)

        started = time.perf_counter()
        await asyncio.gather(*(timed(f"m{n}", "/quiz", starts) for n in range(members)))
        opened = time.perf_counter() - started
        begun = time.perf_counter()
        await asyncio.gather(*(answer_all(n) for n in range(members)))
        answered = time.perf_counter() - begun
        await bot.idle()
        delivered = time.perf_counter() - started
        async with bot.db.session() as session:
            recorded = await session.scalar(select(func.count()).select_from(AnswerRecord))
        return {
            "members": members,
            "quiz_starts_per_second": members / opened,
            "quiz_start_p99_ms": percentile(starts, 0.99),
            "answers": len(latencies),
            "answers_recorded": recorded,
            "answers_per_second": len(latencies) / answered,
            "answer_p50_ms": percentile(latencies, 0.5),
            "answer_p99_ms": percentile(latencies, 0.99),
            "answer_max_ms": max(latencies) * 1000,
            "messages_delivered": len(adapter.sent),
            "all_delivered_seconds": delivered,
        }
    finally:
        await bot.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "members": args.members,
    }
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            report["sqlite"] = await run(f"sqlite:///{folder}/bench.db", args.members)
    if args.only in (None, "postgresql"):
        name = f"branchbot_quiz_bench_{os.getpid()}"
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            report["postgresql"] = await run(f"{PG_SERVER}/{name}", args.members)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
