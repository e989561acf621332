"""Benchmark the core's full path: router → conversation → state and outbox committed → delivery.

Simulated people talk to the bot through the in-memory adapter: each event either starts a
conversation (``/join``: a conversation row and a reply) or ends one (``/cancel``: a delete and
a reply), so every event is a durable state change plus an outbox row, and the reply is sent
only after its commit. Prints one JSON object; compares against a baseline measured in the same
run: one SQLAlchemy async ORM transaction per event (load a row, update it, commit).

    .venv/bin/python bench/core.py [--seconds 5] [--people 2000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import asyncpg
from sqlalchemy import select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot, configure, freeze_startup
from store.db import Database
from store.models import KeyValue
from store.repos import Repositories

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def baseline(url: str, seconds: float) -> float:
    """One ORM transaction per event: the figure the core must not be bound by."""
    db = Database(url)
    await db.upgrade()
    async with db.session() as session:
        session.add(KeyValue(name="counter", value="0"))
    count = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        async with db.session() as session:
            row = await session.scalar(select(KeyValue).where(KeyValue.name == "counter"))
            assert row is not None
            row.value = str(int(row.value) + 1)
        count += 1
    rate = count / (time.perf_counter() - started)
    await db.dispose()
    return rate


async def start_bot(url: str) -> tuple[BranchBot, MemoryAdapter]:
    adapter = MemoryAdapter()
    config = configure(None, database_url=url, playground=False, default_locale="en")
    bot = BranchBot(config, extra_adapters=[adapter], serve_http=False)
    await bot.start()
    freeze_startup()  # as ``branchbot run`` does
    return bot, adapter


def command(step: int) -> str:
    return "/join" if step % 2 == 0 else "/cancel"


async def max_throughput(
    bot: BranchBot, adapter: MemoryAdapter, people: int, seconds: float
) -> dict[str, float]:
    """Closed loop: every person sends their next message as soon as the last is committed."""
    stop = time.perf_counter() + seconds
    committed = 0

    async def person(index: int) -> None:
        nonlocal committed
        step = 0
        while time.perf_counter() < stop:
            await adapter.say(f"p{index}", command(step))
            committed += 1
            step += 1

    sent_before = len(adapter.sent)
    started = time.perf_counter()
    await asyncio.gather(*(person(i) for i in range(people)))
    elapsed = time.perf_counter() - started
    await bot.idle()
    delivered_elapsed = time.perf_counter() - started
    return {
        "events": committed,
        "events_per_second": committed / elapsed,
        "delivered_per_second": (len(adapter.sent) - sent_before) / delivered_elapsed,
    }


async def latency_at(
    bot: BranchBot, adapter: MemoryAdapter, rate: float, people: int, seconds: float
) -> dict[str, float]:
    """Open loop at a fixed arrival rate: time from arrival to commit, and to delivery."""
    commit_latencies: list[float] = []
    tasks: list[asyncio.Task[None]] = []
    steps = [0] * people

    async def one(index: int) -> None:
        began = time.perf_counter()
        await adapter.say(f"q{index}", command(steps[index]))
        commit_latencies.append(time.perf_counter() - began)

    total = int(rate * seconds)
    started = time.perf_counter()
    for n in range(total):
        target = started + n / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        index = n % people
        steps[index] += 1
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    await bot.idle()
    ordered = sorted(commit_latencies)
    return {
        "offered_per_second": rate,
        "events": total,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


async def memory_per_conversations(
    bot: BranchBot, adapter: MemoryAdapter, count: int
) -> dict[str, float]:
    """RSS growth says what the process asks of the machine, but the allocator keeps freed
    arenas and SQLite its page cache, so it wanders (−16 to +49 MiB between runs);
    ``tracemalloc`` counts the Python objects still alive once collected, the same each run."""
    gc.collect()
    before = rss_bytes()
    tracemalloc.start()
    batch = 1000
    for start in range(0, count, batch):
        await asyncio.gather(*(adapter.say(f"r{i}", "/join") for i in range(start, start + batch)))
    await bot.idle()
    adapter.sent.clear()
    gc.collect()
    kept, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown = rss_bytes() - before
    async with bot.db.session() as session:
        stored = await Repositories(session).conversations.count()
    per_10k = count / 10_000
    return {
        "active_conversations": stored,
        "rss_mib_per_10k": grown / per_10k / 2**20,
        "python_mib_per_10k": kept / per_10k / 2**20,
    }


async def run_store(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"baseline_orm_tx_per_second": await baseline(url, args.seconds)}
    if name == "postgresql":
        await reset_postgres(url)
    else:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(url.removeprefix("sqlite:///") + suffix)
    bot, adapter = await start_bot(url)
    try:
        result["max"] = await max_throughput(bot, adapter, args.people, args.seconds)
        result["speedup_over_baseline"] = (
            result["max"]["events_per_second"] / result["baseline_orm_tx_per_second"]
        )
        half = result["max"]["events_per_second"] / 2
        result["half_load"] = await latency_at(bot, adapter, half, args.people, args.seconds)
        result["memory"] = await memory_per_conversations(bot, adapter, args.conversations)
        result["mean_batch_events"] = _mean_batch(bot)
    finally:
        await bot.stop()
    return result


def _mean_batch(bot: BranchBot) -> float:
    for metric in bot.metrics.batch_size.collect():
        samples = {s.name: s.value for s in metric.samples}
        count = samples.get("branchbot_batch_events_count", 0)
        return samples.get("branchbot_batch_events_sum", 0) / count if count else 0.0
    return 0.0


async def reset_postgres(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--summary",
        action="store_true",
        help="print one JSON line per store: the same-run ratio and p99 (make bench-smoke)",
    )
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "people": args.people,
        "seconds": args.seconds,
    }
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            report["sqlite"] = await run_store("sqlite", f"sqlite:///{folder}/bench.db", args)
    if args.only in (None, "postgresql"):
        name = f"branchbot_bench_{os.getpid()}"
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            report["postgresql"] = await run_store("postgresql", f"{PG_SERVER}/{name}", args)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    if args.summary:
        for store in ("sqlite", "postgresql"):
            if store in report:
                print(json.dumps(summary(store, report[store])))
    else:
        print(json.dumps(report, indent=2))


def summary(store: str, figures: dict[str, Any]) -> dict[str, Any]:
    """The figures to compare before a submission: the ratio to the same run's baseline is
    what survives a busy machine; absolute rates do not."""
    return {
        "store": store,
        "baseline_orm_tx_per_second": round(figures["baseline_orm_tx_per_second"]),
        "events_per_second": round(figures["max"]["events_per_second"]),
        "speedup_over_baseline": round(figures["speedup_over_baseline"], 2),
        "p99_ms_half_load": round(figures["half_load"]["p99_ms"], 1),
        "rss_mib_per_10k": round(figures["memory"]["rss_mib_per_10k"], 1),
        "python_mib_per_10k": round(figures["memory"]["python_mib_per_10k"], 1),
    }


if __name__ == "__main__":
    asyncio.run(main())
