"""Benchmark the secretary mailbox: 1,000 members each send a letter and get an answer, all at
the same time.

Through the real bot on the memory adapter: every member writes a signed letter with ``/mail``
(signed → category → one message → Done → Send), each sending the next event as soon as the
last is committed; each letter reaches its branch's secretary, who answers it at once with
``/reply``, and the answer reaches the member. Measured: letters/s from the first ``/mail`` to
the last confirmation, the p50/p99 of each writer's whole letter (five events) and of each
answer until it is delivered. Baseline in the same run: the same letters through
``Mailbox.write`` alone, one ORM transaction each, no dialog and no messages.

    .venv/bin/python bench/mailbox.py [--branches 20] [--members 50] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot, configure
from bot.messages import Address, Outgoing, SentRef
from dialogs.mailbox.config import MailboxConfig
from dialogs.mailbox.relay import relay_of
from dialogs.mailbox.repository import Draft, Mailbox
from store.repos import Repositories

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
KEY = "cd" * 32


class Inboxes(MemoryAdapter):
    """The memory adapter with each person's direct messages queued for them as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.inboxes: dict[str, asyncio.Queue[Sent]] = {}

    def inbox(self, user: str) -> asyncio.Queue[Sent]:
        return self.inboxes.setdefault(user, asyncio.Queue())

    async def send(self, address: Address, message: Outgoing, message_id: str) -> SentRef:
        ref = await super().send(address, message, message_id)
        if address.direct and address.user_id is not None:
            self.inbox(address.user_id).put_nowait(self.sent[-1])
        return ref

    async def until(self, user: str, needle: str) -> Sent:
        while True:
            sent = await self.inbox(user).get()
            if needle in sent.message.text.plain():
                return sent

    async def buttons(self, user: str) -> dict[str, str]:
        """The next message to ``user`` with buttons: payload tail and label → raw payload."""
        while True:
            sent = await self.inbox(user).get()
            found: dict[str, str] = {}
            for row in sent.message.choices:
                for choice in row:
                    found[choice.payload.rsplit("|", 1)[-1]] = choice.payload
                    found[choice.label] = choice.payload
            if found:
                return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000 if ordered else 0.0


async def prepare(bot: BranchBot, branches: int, members: int) -> None:
    async with bot.db.session() as session:
        store = Repositories(session)
        for b in range(branches):
            branch = await store.branches.add(f"Branch {b}")
            assert branch is not None
            secretary = await store.people.ensure("memory", f"s{b}", f"Secretary {b}")
            await store.people.add_secretary(secretary, branch.id)
            for m in range(members):
                member = await store.people.ensure("memory", f"m{b}-{m}", f"Member {b}-{m}")
                await store.people.set_branch(member, branch.id)
    await bot.engine.refresh_admins()


async def run(url: str, branches: int, members: int) -> dict[str, Any]:
    adapter = Inboxes()
    with tempfile.TemporaryDirectory() as folder:
        config = configure(
            None,
            database_url=url,
            admins=["memory:boss"],
            playground=False,
            default_locale="en",
            mailbox={"relay_key": KEY, "daily_cap": 5, "relay_key_file": str(Path(folder) / "k")},
        )
        bot = BranchBot(config, extra_adapters=[adapter], serve_http=False)
        await bot.start()
        try:
            return await measure(bot, adapter, branches, members)
        finally:
            await bot.stop()


async def measure(bot: BranchBot, adapter: Inboxes, branches: int, members: int) -> dict[str, Any]:
    await prepare(bot, branches, members)
    letters: list[float] = []
    answers: list[float] = []

    async def write(b: int, m: int) -> None:
        user = f"m{b}-{m}"
        began = time.perf_counter()
        await adapter.say(user, "/mail")
        await adapter.say(user, choice=(await adapter.buttons(user))["signed"])
        await adapter.say(user, choice=(await adapter.buttons(user))["c0"])
        await adapter.buttons(user)
        await adapter.say(user, f"Letter number {b}-{m}: the lamp in room {m} is broken.")
        await adapter.say(user, choice=(await adapter.buttons(user))["done"])
        await adapter.say(user, choice=(await adapter.buttons(user))["send"])
        await adapter.until(user, "Your letter is sent")
        letters.append(time.perf_counter() - began)

    async def answer(b: int) -> None:
        secretary = f"s{b}"
        for _m in range(members):
            sent = await adapter.until(secretary, "Answer with")
            case = sent.message.text.plain().split("**")[0].split()[1]
            began = time.perf_counter()
            writer = sent.message.text.plain().split("Letter number ")[1].split(":")[0]
            await adapter.say(secretary, f"/reply {case} It is fixed.")
            await adapter.until(f"m{writer}", "It is fixed.")
            answers.append(time.perf_counter() - began)

    began = time.perf_counter()
    answering = [asyncio.create_task(answer(b)) for b in range(branches)]
    await asyncio.gather(*(write(b, m) for b in range(branches) for m in range(members)))
    written = time.perf_counter() - began
    await asyncio.gather(*answering)
    everything = time.perf_counter() - began
    baseline = await repository_baseline(bot, branches * members)
    total = branches * members
    return {
        "members": total,
        "letters": len(letters),
        "letters_per_second": len(letters) / written,
        "events_per_second": (len(letters) * 6 + len(answers)) / everything,
        "all_written_seconds": written,
        "all_answered_seconds": everything,
        "letter_p50_ms": percentile(letters, 0.5),
        "letter_p99_ms": percentile(letters, 0.99),
        "answer_p50_ms": percentile(answers, 0.5),
        "answer_p99_ms": percentile(answers, 0.99),
        "baseline_repository_letters_per_second": baseline,
    }


async def repository_baseline(bot: BranchBot, count: int) -> float:
    """``Mailbox.write`` alone, one transaction per letter: letters/s."""
    relay = relay_of(bot.config.section(MailboxConfig))
    today = bot.db.clock.now().date()
    began = time.perf_counter()
    for n in range(count):
        async with bot.db.session() as session:
            await (
                Repositories(session)
                .get(Mailbox)
                .write(
                    Draft(False, "work", f"Baseline letter {n}.", None, 1, today, today, f"b{n}"),
                    relay,
                    today + timedelta(days=n // 5),
                )
            )
    return count / (time.perf_counter() - began)


async def postgres_url() -> str:
    name = "branchbot_bench_mailbox"
    connection = await asyncpg.connect(PG_SERVER + "/postgres")
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return f"{PG_SERVER}/{name}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    report: dict[str, Any] = {}
    if options.only != "postgresql":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            report["sqlite"] = await run(url, options.branches, options.members)
    if options.only != "sqlite":
        report["postgresql"] = await run(await postgres_url(), options.branches, options.members)
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    asyncio.run(main())
