"""The answering's messages leave no text in the outbox once delivered (ephemeral replies),
and what other features send to the same chat meanwhile keeps its rows: a notice's
"received" still works after the submit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from adapters.memory import MemoryAdapter
from bot.app import BranchBot
from dialogs.appraisal.mixer import Mixer
from store.models import OutboxRow
from tests.support.appraisal import button, import_template, open_round, organisation, to
from tests.support.broadcasts import broadcast, plain, press, say
from tests.support.chat import BotFactory, ask, settle

REMARK = "Zebra crossings near the office"
REVIEWED = (b"How is the branch doing?: 4", b"Anything else?: " + REMARK.encode())
"""Lines only the review shows: a question beside its answer."""


def store_files(path: Path) -> bytes:
    """The SQLite file and its write-ahead log, as a copy of them would hold them."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def outbox_of(bot: BranchBot, chat: str) -> list[tuple[str, dict[str, object]]]:
    async with bot.db.session() as session:
        rows = await session.execute(
            select(OutboxRow.status, OutboxRow.payload)
            .where(OutboxRow.chat_id == chat)
            .order_by(OutboxRow.id)
        )
        return [(status, payload) for status, payload in rows]


async def answer_with_a_remark(bot: BranchBot, adapter: MemoryAdapter, user: str) -> str:
    """Every question answered (a remark typed), up to the review; the review's text."""
    answers = await press(bot, adapter, user, button(to(adapter, user), "Start"))
    answers = await press(bot, adapter, user, button(answers, "4"))
    answers = await press(bot, adapter, user, button(answers, "Monthly"))
    answers = await press(bot, adapter, user, button(answers, "Skip"))
    answers = await say(bot, adapter, user, REMARK)
    for _member in range(3):
        answers = await press(bot, adapter, user, button(answers, "Competent"))
    return plain(answers)


async def test_after_a_round_the_outbox_holds_no_question_or_answer(make_bot: BotFactory) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    review = await answer_with_a_remark(bot, adapter, "mei")
    assert all(line.decode() in review for line in REVIEWED), "the reader saw everything"
    answers = await press(bot, adapter, "mei", button(to(adapter, "mei"), "Submit"))
    assert "are submitted" in plain(answers)
    await settle(bot)
    rows = await outbox_of(bot, "dm-mei")
    assert all(status == "sent" for status, _payload in rows)
    erased = [payload for _status, payload in rows if payload.get("erased")]
    assert len(erased) == 8, "four questions, three members to grade, the review"
    kept = " ".join(str(payload) for _status, payload in rows)
    assert "How is the branch doing" not in kept and REMARK not in kept
    assert "invited" in kept and "are submitted" in kept, "the other messages keep their text"

    await ask(bot, adapter, "boss", "/survey close R1")
    await bot.worker(Mixer).tick()  # seals the round, checkpoints the WAL
    if bot.db.dialect == "sqlite":
        files = store_files(Path(str(make_url(bot.db.url).database)))
        assert b"are submitted" in files, "the file holds what is kept"
        assert not [line for line in REVIEWED if line in files], "secure_delete zeroed the rest"


async def test_a_notice_sent_during_the_answering_keeps_its_row_and_its_received(
    make_bot: BotFactory,
) -> None:
    bot, adapter = await make_bot()
    await organisation(bot, adapter)
    await import_template(bot)
    await open_round(bot, adapter)
    answers = await press(bot, adapter, "mei", button(to(adapter, "mei"), "Start"))
    answers = await press(bot, adapter, "mei", button(answers, "4"))
    number = await broadcast(bot)
    notice = next(s for s in to(adapter, "mei") if "Hello all" in s.message.text.plain())
    answers = await press(bot, adapter, "mei", button(answers, "Monthly"))
    answers = await press(bot, adapter, "mei", button(answers, "Skip"))
    answers = await press(bot, adapter, "mei", button(answers, "Skip"))
    for _member in range(3):
        answers = await press(bot, adapter, "mei", button(answers, "Competent"))
    answers = await press(bot, adapter, "mei", button(answers, "Submit"))
    assert "are submitted" in plain(answers)
    await settle(bot)
    kept = [payload for _status, payload in await outbox_of(bot, "dm-mei")]
    assert [p for p in kept if "Hello all" in str(p)], "the notice's row is kept"
    received = await ask(bot, adapter, "mei", choice=notice.message.choices[0][0].payload)
    assert "recorded" in received
    assert "Main: 1/" in await ask(bot, adapter, "boss", f"/acks N{number}")
