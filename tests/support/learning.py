"""Learning on the memory adapter and the store: the test bank, banks sent as files, people
joining a branch, the questions stored."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.memory import Attachment, MemoryAdapter
from bot.app import BranchBot
from bot.feature import migrations
from dialogs import FEATURES
from store.banks import load
from store.db import Database
from store.learning import Learning
from store.learning_tables import Question, QuestionBank
from store.repos import Repositories
from tests.support.chat import ask, code_in

BANK = Path(__file__).parents[1] / "learning" / "banks" / "library.yaml"
RECEIVED = "I am checking it"
"""The start of the bot's first answer to a bank file (the check itself comes later)."""


async def with_bank(bot: BranchBot) -> None:
    """Import the test bank (``BANK``) as the organisation's."""
    async with bot.db.session() as session:
        await Repositories(session).get(Learning).import_bank(load(BANK))


async def yes_bank(bot: BranchBot, tmp_path: Path) -> None:
    """Two true/false questions whose answer is "true", so a test knows what is right."""
    bank = tmp_path / "two.yaml"
    bank.write_text(
        "questions:\n"
        "  - {text: Say yes one, type: truefalse, answer: true}\n"
        "  - {text: Say yes two, type: truefalse, answer: true}\n"
    )
    async with bot.db.session() as session:
        await Repositories(session).get(Learning).import_bank(load(bank))


async def join(bot: BranchBot, adapter: MemoryAdapter, user: str, branch: str, role: str) -> None:
    """``user`` joins ``branch`` as ``role`` with a code from the admin boss."""
    code = code_in(await ask(bot, adapter, "boss", f"/invite {branch} {role}"))
    assert "Welcome" in await ask(bot, adapter, user, f"/join {code}")


async def send_file(
    bot: BranchBot, adapter: MemoryAdapter, user: str, name: str, data: bytes, caption: str = ""
) -> str:
    """Send a file and return what the engine answered at once."""
    return await ask(
        bot, adapter, user, caption, attachment=Attachment(name, "application/octet-stream", data)
    )


async def answer_after(adapter: MemoryAdapter, user: str, start: int, timeout: float) -> str:
    """The first message to ``user``'s direct chat sent after the first ``start`` messages."""
    chat = f"dm-{user}"
    async with asyncio.timeout(timeout):
        while True:
            found = [s for s in adapter.sent[start:] if s.address.chat_id == chat]
            if found:
                return found[0].message.text.plain()
            await adapter.wait_for(len(adapter.sent) + 1, timeout)


async def questions(db: Database) -> list[tuple[Any, ...]]:
    """(key, text, answers, bank name, bank's branch) of every question."""
    async with db.session() as session:
        rows = await session.execute(
            select(
                Question.key,
                Question.text,
                Question.answers,
                QuestionBank.name,
                QuestionBank.branch_id,
            )
            .join(QuestionBank, QuestionBank.id == Question.bank_id)
            .order_by(Question.id)
        )
        return [tuple(row) for row in rows]


def count(url: str) -> int:
    """How many questions the store at ``url`` holds (from outside any running loop)."""

    async def run() -> int:
        db = Database(url, migrations=migrations(FEATURES))
        try:
            await db.upgrade()
            async with db.session() as session:
                return int(await session.scalar(select(func.count()).select_from(Question)) or 0)
        finally:
            await db.dispose()

    return asyncio.run(run())
