"""``/stats learning`` for an organisation of 400 branches: a fixed number of queries and a
bounded chart and text, so an admin's statistics never hold the engine's batch for long."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import event, insert, select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from dialogs.learning.chart import COLOURS
from store.banks import load
from store.branches import branch_key
from store.clock import SYSTEM_CLOCK
from store.learning import Learning
from store.learning_tables import Question
from store.models import Branch, Member
from store.repos import Repositories
from tests.support.chat import BotFactory, ask, settle
from tests.support.png import bars as bars_of
from tests.support.png import decode

BANK = Path(__file__).parent / "banks" / "library.yaml"
READS = re.compile(r"\b(FROM|JOIN)\s+(learning_answers|learning_questions|members|branches)\b")
"""The tables the statistics read; the engine's background workers (outbox, bank jobs,
broadcasts) touch none of them, so their polls do not count."""


def size_of(number: int) -> int:
    """Branch sizes that differ, so "the largest" means something: 1 to 9 members."""
    return 1 + number * 7 % 9


async def seed(bot: BranchBot, first: int, count: int) -> None:
    """Branches ``first`` … ``first + count - 1``, their members, and answers of every member
    (right to the catalogue question, a third of them right to the rules one), written in a
    few bulk statements."""
    async with bot.db.session() as session:
        store = Repositories(session)
        if first == 0:
            await store.get(Learning).import_bank(load(BANK))
        ids = list(
            await session.scalars(
                select(Question.id)
                .where(Question.key.in_(("cat-1", "rules-1")))
                .order_by(Question.key)
            )
        )
        cards = await store.get(Learning).cards(0, ids)
        branches = list(
            await session.scalars(
                insert(Branch).returning(Branch.id),
                [
                    {
                        "name": f"Branch {n:03}",
                        "key": branch_key(f"Branch {n:03}"),
                        "created_at": SYSTEM_CLOCK.now(),
                    }
                    for n in range(first, first + count)
                ],
            )
        )
        people = [
            {"display_name": f"M{n}-{k}", "branch_id": branch, "created_at": SYSTEM_CLOCK.now()}
            for n, branch in zip(range(first, first + count), branches, strict=True)
            for k in range(size_of(n))
        ]
        rows = await session.execute(insert(Member).returning(Member.id, Member.branch_id), people)
        day = date.today()
        for member, branch in rows:
            for card, right in zip(cards, (True, member % 3 == 0), strict=True):
                store.get(Learning).record_answer(
                    member, branch, card, f"{member}:{card.id}", "quiz", right, 4, day
                )
        await store.get(Learning).flush()
        await session.commit()


async def stats(bot: BranchBot, adapter: MemoryAdapter) -> tuple[str, bytes, list[str]]:
    """The admin's ``/stats learning``: its text, its chart and the statements the engine ran
    for it."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if READS.search(statement):
            statements.append(statement)

    before = len(adapter.sent)
    event.listen(bot.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        await adapter.say("boss", "/stats learning")
        await settle(bot)
    finally:
        event.remove(bot.db.engine.sync_engine, "before_cursor_execute", count)
    (sent,) = adapter.sent[before:]
    assert sent.message.image is not None
    return sent.message.text.plain(), sent.message.image.data, statements


def bars(png: bytes) -> int:
    """How many blue (participation) bars the chart holds."""
    return len(bars_of(decode(png), COLOURS[0]))


async def test_stats_of_400_branches_cost_the_queries_of_3_and_stay_short(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await seed(bot, 0, 3)
    await stats(bot, adapter)  # the admin's first event: caches warm, as for the later ones
    small_text, small_chart, small = await stats(bot, adapter)
    assert "1. Branch 001: 8/8 took part (100%)" in small_text
    assert "and 0 more" not in small_text and "largest" not in small_text
    assert bars(small_chart) == 3

    await seed(bot, 3, 397)
    text, chart, statements = await stats(bot, adapter)
    assert len(statements) == len(small) <= 4, "\n\n".join(statements)
    # The largest branches first (9 members each: 005, 014, …), as many as fit one message.
    lines = text.splitlines()
    assert lines[1].startswith("1. Branch 005: 9/9 took part (100%), 67% right")
    assert lines[2] == "Weakest: rules 33%, catalogue 100%"
    listed = len([line for line in lines if re.match(r"\d+\. Branch", line)])
    assert 20 <= listed < 400
    assert f"… and {400 - listed} more branches" in text
    assert "The chart shows the 20 largest branches (1 to 20 above)." in text
    assert len(text) <= adapter.capabilities.max_text_length
    assert bars(chart) == 20


async def test_the_branch_leaderboard_of_400_branches_stays_one_message(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await seed(bot, 0, 400)
    text = await ask(bot, adapter, "boss", "/rank")
    listed = len(re.findall(r"^\d+\. Branch \d+ — 100% took part", text, re.MULTILINE))
    assert 20 <= listed < 400
    assert text.splitlines()[-1] == f"… and {400 - listed} more branches."
    assert len(text) <= adapter.capabilities.max_text_length
