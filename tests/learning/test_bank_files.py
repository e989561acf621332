"""Bank files sent in a direct chat: read by the bank worker outside the engine's batch, and
imported into the sender's own bank (a secretary's branch bank, or the organisation's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from dialogs.learning.bank_imports import BankImports
from store.banks import Bank, ParsedQuestion
from store.db import Database
from store.learning import Learning
from store.learning_tables import BankJob
from store.repos import Repositories
from tests.support.chat import BotFactory, ask
from tests.support.learning import RECEIVED, answer_after, join, questions, send_file

BANKS = Path(__file__).parent / "banks"


async def upload(
    bot: BranchBot,
    adapter: MemoryAdapter,
    user: str,
    name: str,
    data: bytes,
    caption: str = "",
    timeout: float = 60.0,
) -> str:
    """Send a file as ``user`` in their direct chat; return the worker's answer (the message
    after "received")."""
    received = await send_file(bot, adapter, user, name, data, caption)
    assert RECEIVED in received, received
    return await answer_after(adapter, user, len(adapter.sent), timeout)


async def branch_id(bot: BranchBot, name: str) -> int:
    async with bot.db.session() as session:
        branch = await Repositories(session).branches.by_name(name)
        assert branch is not None
        return branch.id


SECRETARY_CSV = b"id,question,A,B,answer\ncat-1,Which colour are the shelves?,Red,Blue,B\n"


async def test_a_secretarys_file_reusing_an_admin_id_leaves_the_admins_question_alone(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    said = await upload(bot, adapter, "boss", "library.yaml", (BANKS / "library.yaml").read_bytes())
    assert "Bank library-basics imported: 4 new questions" in said, said
    before = await questions(bot.db)
    await ask(bot, adapter, "boss", "/branch add Lib")
    await join(bot, adapter, "sam", "Lib", "secretary")
    lib = await branch_id(bot, "Lib")

    said = await upload(bot, adapter, "sam", "shelves.csv", SECRETARY_CSV)
    assert "Bank default imported: 1 new question, 0 updated" in said, said
    again = await upload(bot, adapter, "sam", "shelves.csv", SECRETARY_CSV)
    assert "0 new questions, 1 updated" in again, again
    # Naming the organisation's bank changes nothing of it either: it is a bank of Lib's own.
    named = b"bank: library-basics\nquestions:\n  - {id: cat-1, text: Mine, answer: true}\n"
    said = await upload(bot, adapter, "sam", "mine.yaml", named)
    assert "Bank library-basics imported: 1 new question" in said, said

    after = await questions(bot.db)
    assert after[: len(before)] == before
    assert [q for q in after if q[4] is not None] == [
        ("cat-1", "Which colour are the shelves?", [1], "default", lib),
        ("cat-1", "Mine", [0], "library-basics", lib),
    ]


async def test_a_secretary_of_two_branches_names_the_branch(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    for name in ("Lib", "Archive"):
        await ask(bot, adapter, "boss", f"/branch add {name}")
        await join(bot, adapter, "sam", name, "secretary")
    said = await send_file(bot, adapter, "sam", "shelves.csv", SECRETARY_CSV)
    assert "several branches (Lib, Archive)" in said or "several branches (Archive, Lib)" in said
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(BankJob)) == 0
    said = await upload(bot, adapter, "sam", "shelves.csv", SECRETARY_CSV, caption="archive")
    assert "1 new question" in said, said
    assert [q[4] for q in await questions(bot.db)] == [await branch_id(bot, "Archive")]


async def test_a_caption_names_a_branch_whole(make_bot: BotFactory) -> None:
    """ "East Wing" is not also "East", and ``skip-bad`` does not name a branch called "Bad"."""
    bot, adapter = await make_bot()
    for name in ("East", "East Wing", "Bad"):
        await ask(bot, adapter, "boss", f"/branch add {name}")
        await join(bot, adapter, "sam", name, "secretary")
    said = await upload(
        bot, adapter, "sam", "shelves.csv", SECRETARY_CSV, caption="East Wing skip-bad"
    )
    assert "1 new question" in said, said
    assert [q[4] for q in await questions(bot.db)] == [await branch_id(bot, "East Wing")]


async def test_a_file_nothing_can_be_read_from_says_so_even_with_skip_bad(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    said = await upload(bot, adapter, "boss", "broken.yaml", b"questions: [a, b", "skip-bad")
    assert "broken.yaml has 1 problem:" in said and "not valid YAML" in said, said
    assert "Nothing could be read from this file" in said and "skip-bad" not in said, said
    said = await upload(bot, adapter, "boss", "report.csv", b"%PDF-1.7\n\x00\xff", "skip-bad")
    assert "Nothing could be read from this file" in said, said
    said = await upload(bot, adapter, "boss", "empty.yaml", b"questions: []\n")
    assert "empty.yaml has no questions, levels or lessons." in said, said
    assert await questions(bot.db) == []


async def test_a_file_received_before_a_crash_is_read_after_the_restart(
    make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is in the store with the event: a bot that stops before reading it (here: its
    worker never runs) leaves it to the next start, which answers in the same chat."""
    bot, adapter = await make_bot()

    async def not_now() -> None:
        return None

    monkeypatch.setattr(bot.worker(BankImports), "tick", not_now)
    data = (BANKS / "good.csv").read_bytes()
    assert RECEIVED in await send_file(bot, adapter, "boss", "good.csv", data)
    await bot.stop()
    again, adapter = await make_bot()
    said = await answer_after(adapter, "boss", 0, 60)
    assert "Bank default imported:" in said and "new questions" in said, said
    async with again.db.session() as session:
        job = await session.scalar(select(BankJob))
        assert job is not None and job.status == "done" and job.data is None


async def test_a_big_bank_is_imported_in_chunks(database_url: str) -> None:
    """33,000 keys in one ``IN`` is over SQLite's 32,766 and PostgreSQL's 32,767 bound
    parameters; the import takes them 500 at a time."""
    bank = Bank(
        "big",
        questions=[
            ParsedQuestion(f"Question {i}?", "truefalse", ["True", "False"], [0], i, key=f"q{i}")
            for i in range(33_000)
        ],
    )
    db = Database(database_url)
    await db.upgrade()
    try:
        async with db.session() as session:
            done = await Repositories(session).get(Learning).import_bank(bank)
        assert (done.added, done.updated) == (33_000, 0)
        bank.questions = bank.questions[:40_000:2]
        async with db.session() as session:
            done = await Repositories(session).get(Learning).import_bank(bank)
        assert (done.added, done.updated, done.missing) == (0, 16_500, 16_500)
    finally:
        await db.dispose()


async def test_a_file_over_the_size_limit_is_refused_at_once(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    data = b"question,A,B,answer\n" + b"x" * (4 << 20)
    said = await send_file(bot, adapter, "boss", "huge.csv", data)
    assert "huge.csv is too big: a question bank file can have at most 4096 KB." in said, said
    async with bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(BankJob)) == 0
