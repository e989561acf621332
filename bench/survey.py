"""Benchmark an appraisal survey: every member of 50 branches submits it at once.

Through the real bot on the memory adapter: the admin opens a round with ``/survey open`` over
every branch; then every member at the same moment presses Start, answers each question by its
button payload (the one text question typed by a few members per branch, fewer than k, so the
report must hide it), and presses Submit, each sending the next event as soon as the last is
committed. Then the round is closed and the bot's own mixer drains the staged submissions into
the ledgers; then ``/survey report`` for the admin over every branch, checked to be k-suppressed
and within the platform's length, and ``branchbot survey export``. Baseline: the same
submissions through ``Appraisal.submit`` alone, one transaction each, on a second round.

    .venv/bin/python bench/survey.py [--branches 50] [--members 40] [--questions 20]
                                     [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import select

from adapters.memory import MemoryAdapter, Sent
from bot.app import BranchBot, configure
from bot.feature import migrations
from bot.messages import Address, Outgoing, SentRef
from dialogs import FEATURES
from dialogs.appraisal.common import START
from dialogs.appraisal.config import AppraisalConfig
from dialogs.appraisal.export import survey_export
from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import parse_template
from store.db import Database
from store.models import Branch
from store.repos import Repositories

PG_SERVER = os.environ.get("BRANCHBOT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
FEW = 2
"""Members per branch who answer the two optional questions (the last scale, the free text):
fewer than k, so the report must hide both."""


def template(questions: int) -> bytes:
    """``questions`` (at least 4) questions: scales, the second single-choice, the one before
    the last optional, the last optional free text."""
    lines = [
        "survey: bench-appraisal",
        'title: {en: Bench appraisal, zh_Hans: "评议基准"}',
        "sections:",
        '  - title: {en: The branch, zh_Hans: "支部"}',
        "    questions:",
    ]
    for n in range(questions - 1):
        lines.append(f"      - key: q{n}")
        if n == 1:
            lines += [
                "        kind: single",
                f'        text: {{en: How often should we meet ({n})?, zh_Hans: "多久开会？"}}',
                "        options:",
                '          - {en: Weekly, zh_Hans: "每周"}',
                '          - {en: Monthly, zh_Hans: "每月"}',
            ]
            continue
        if n == questions - 2:
            lines.append("        required: false")
        lines += [
            "        kind: scale",
            "        points: 5",
            f'        text: {{en: How well does the branch do item {n}?, zh_Hans: "第{n}项"}}',
            "        labels:",
            '          1: {en: Poorly, zh_Hans: "差"}',
            '          5: {en: Very well, zh_Hans: "很好"}',
        ]
    lines += [
        "      - key: remarks",
        "        kind: text",
        "        required: false",
        "        max_length: 200",
        '        text: {en: Anything else?, zh_Hans: "其他？"}',
    ]
    return ("\n".join(lines) + "\n").encode()


class Inboxes(MemoryAdapter):
    """The memory adapter, with each person's direct messages queued for them as sent, so a
    member presses the buttons of the question they were actually shown."""

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

    async def buttons(self, user: str) -> dict[str, str]:
        """The next message to ``user`` that has buttons: the dialog's payload (what follows
        the version and slot) or label, to the raw payload the platform sends back."""
        while True:
            sent = await self.inbox(user).get()
            found: dict[str, str] = {}
            for row in sent.message.choices:
                for choice in row:
                    found[choice.payload.rsplit("|", 1)[-1]] = choice.payload
                    found[choice.label] = choice.payload
            if found:
                return found


def payloads(questions: int, member: int, index: int) -> list[tuple[str, str]]:
    """What member ``member`` (``index``-th of their branch) sends: (text, button payload)."""
    sent: list[tuple[str, str]] = []
    for n in range(questions - 1):
        if n == 1:
            sent.append(("", f"o{member % 2}"))
        elif n == questions - 2 and index >= FEW:
            sent.append(("", "skip"))
        else:
            sent.append(("", f"v{1 + (member + n) % 5}"))
    if index < FEW:
        sent.append((f"Remark from a member, number {member}.", ""))
    else:
        sent.append(("", "skip"))
    return sent


async def prepare(bot: BranchBot, branches: int, members: int, questions: int) -> int:
    """The branches and their members; the template's id."""
    loaded = parse_template(template(questions), "bench.yaml")
    assert loaded.template is not None, loaded.errors
    async with bot.db.session() as session:
        store = Repositories(session)
        template_id = await store.get(Appraisal).add_template(loaded.template)
        for b in range(branches):
            branch = await store.branches.add(f"Branch {b}")
            assert branch is not None
            for m in range(members):
                member = await store.people.ensure("memory", f"m{b}-{m}", f"Member {b}-{m}")
                await store.people.set_branch(member, branch.id)
    return template_id


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)] * 1000


async def wait_sealed(bot: BranchBot, number: int) -> None:
    """The bot's own mixer (a second one here would race it on SQLite) seals the round."""
    while True:
        async with bot.db.session() as session:
            row = await Repositories(session).get(Appraisal).round(number)
            left = await Repositories(session).get(Appraisal).staged(number)
        if row is not None and row.sealed and not left:
            return
        await asyncio.sleep(0.02)


async def run(url: str, branches: int, members: int, questions: int) -> dict[str, Any]:
    adapter = Inboxes()
    config = configure(
        None, database_url=url, admins=["memory:boss"], playground=False, default_locale="en"
    )
    bot = BranchBot(config, extra_adapters=[adapter], serve_http=False)
    await bot.start()
    try:
        template_id = await prepare(bot, branches, members, questions)
        closes = (bot.db.clock.now() + timedelta(days=7)).astimezone(ZoneInfo("Asia/Shanghai"))
        opening = time.perf_counter()
        await adapter.say("boss", "/survey open")
        pressed = await adapter.buttons("boss")
        await adapter.say("boss", choice=pressed[f"t{template_id}"])
        pressed = await adapter.buttons("boss")
        await adapter.say("boss", choice=pressed["all"])
        await adapter.say("boss", f"{closes:%Y-%m-%d} 18:00")
        pressed = await adapter.buttons("boss")
        await adapter.say("boss", choice=pressed["open"])
        await bot.idle()
        opened = time.perf_counter() - opening
        async with bot.db.session() as session:
            rounds = await Repositories(session).get(Appraisal).open_rounds()
        assert len(rounds) == 1, "the round did not open"
        number = rounds[0].number

        starts: list[float] = []
        answers: list[float] = []
        submits: list[float] = []

        async def timed(user: str, text: str, choice: str, into: list[float]) -> None:
            began = time.perf_counter()
            await adapter.say(user, text, choice=choice or None)
            into.append(time.perf_counter() - began)

        async def take(b: int, m: int) -> None:
            user = f"m{b}-{m}"
            invitation = await adapter.buttons(user)
            await timed(user, "", invitation[f"{START}:{number}"], starts)
            for text, choice in payloads(questions, b * members + m, m):
                shown = await adapter.buttons(user)
                await timed(user, text, shown[choice] if choice else "", answers)
            review = await adapter.buttons(user)
            await timed(user, "", review["submit"], submits)
            await adapter.inbox(user).get()  # the thanks

        began = time.perf_counter()
        await asyncio.gather(*(take(b, m) for b in range(branches) for m in range(members)))
        submitted = time.perf_counter() - began
        async with bot.db.session() as session:
            appraisal = Repositories(session).get(Appraisal)
            progress = await appraisal.progress(number)
            staged_after = await appraisal.staged(number)

        closing = time.perf_counter()
        await adapter.say("boss", f"/survey close R{number}")
        await wait_sealed(bot, number)
        drained = time.perf_counter() - closing
        await bot.idle()
        async with bot.db.session() as session:
            ledger = await Repositories(session).get(Appraisal).answers(number)
        moved = sum(len(by_question.get("q0", ())) for by_question in ledger.values())

        before = len(adapter.sent)
        asked = time.perf_counter()
        await adapter.say("boss", f"/survey report R{number}")
        await bot.idle()
        reported = time.perf_counter() - asked
        report = [s for s in adapter.sent[before:] if s.address.user_id == "boss"]
        texts = [s.message.text.plain() for s in report]
        limit = adapter.capabilities.max_text_length

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "survey.csv"
            exporting = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                code = await asyncio.to_thread(
                    survey_export,
                    config,
                    lambda: Database(url, migrations=migrations(FEATURES)),
                    f"R{number}",
                    "csv",
                    path,
                )
            exported = time.perf_counter() - exporting
            rows = len(path.read_text(encoding="utf-8-sig").splitlines()) if code == 0 else 0

        baseline = await repository_baseline(bot, template_id, questions, members)
        total = branches * members
        return {
            "members": total,
            "open_round_seconds": opened,
            "submissions": len(submits),
            "submitted_counted": sum(p.submitted for p in progress),
            "submissions_per_second": len(submits) / submitted,
            "events_per_second": (len(starts) + len(answers) + len(submits)) / submitted,
            "all_submitted_seconds": submitted,
            "start_p50_ms": percentile(starts, 0.5),
            "start_p99_ms": percentile(starts, 0.99),
            "answer_p50_ms": percentile(answers, 0.5),
            "answer_p99_ms": percentile(answers, 0.99),
            "submit_p50_ms": percentile(submits, 0.5),
            "submit_p99_ms": percentile(submits, 0.99),
            "staged_when_all_submitted": staged_after,
            "mixer_drain_after_close_seconds": drained,
            "submissions_in_ledger": moved,
            "report_seconds": reported,
            "report_messages": len(report),
            "report_longest_chars": max(map(len, texts), default=0),
            "report_fits": bool(texts) and all(len(t) <= limit for t in texts),
            "report_k_suppressed": any("answers, not shown" in t for t in texts)
            and not any("Remark from a member" in t for t in texts),
            "report_points_to_export": any("survey export" in t for t in texts),
            "report_branches_named": sum(
                any(f"Branch {b}" in t for t in texts) for b in range(branches)
            ),
            "export_seconds": exported,
            "export_rows": rows,
            "baseline_repository_submits_per_second": baseline,
        }
    finally:
        await bot.stop()


async def repository_baseline(
    bot: BranchBot, template_id: int, questions: int, members: int
) -> float:
    """``Appraisal.submit`` alone, one transaction per member, on a second round: submits/s."""
    async with bot.db.session() as session:
        branch_ids = list(await session.scalars(select(Branch.id).order_by(Branch.id)))
        appraisal = Repositories(session).get(Appraisal)
        row = await appraisal.open_round(
            template_id,
            branch_ids,
            bot.db.clock.now() + timedelta(days=7),
            None,
            bot.config.section(AppraisalConfig).k,
        )
        eligible = [
            (branch_id, member.id)
            for branch_id in branch_ids
            for member in await appraisal.eligible_members(row.number, branch_id)
        ]
    answers: dict[str, Any] = {f"q{n}": 1 + n % 5 for n in range(questions - 1)}
    answers["q1"] = 0
    began = time.perf_counter()
    for branch_id, member_id in eligible:
        async with bot.db.session() as session:
            await (
                Repositories(session)
                .get(Appraisal)
                .submit(row.number, member_id, branch_id, answers, {})
            )
    return len(eligible) / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--members", type=int, default=40, help="per branch")
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.questions < 4:
        parser.error("--questions must be at least 4")
    sizes = (args.branches, args.members, args.questions)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "branches": args.branches,
        "members_per_branch": args.members,
        "questions": args.questions,
    }
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            report["sqlite"] = await run(f"sqlite:///{folder}/bench.db", *sizes)
    if args.only in (None, "postgresql"):
        name = f"branchbot_survey_bench_{os.getpid()}"
        admin = await asyncpg.connect(f"{PG_SERVER}/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            report["postgresql"] = await run(f"{PG_SERVER}/{name}", *sizes)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
