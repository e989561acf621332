"""``/board`` is read and drawn outside the engine's batch: the request is kept with the event
that asked for it, answered once, kept across a restart, and one that cannot be drawn is
given up (its asker told) without holding up the ones behind it."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dialogs.supervision import drawing
from dialogs.supervision.drawing import Drawing
from dialogs.supervision.tables import BoardRequest
from tests.support.mailbox import organisation
from tests.support.supervision import drawn, import_shipped
from tests.support.webhook import Lab, lab_bot


async def waiting(lab: Lab) -> int:
    async with lab.bot.db.session() as session:
        return await session.scalar(select(func.count()).select_from(BoardRequest)) or 0


@pytest.fixture
def no_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler's ticks draw nothing, so that the test decides when the worker draws."""

    async def tick(self: Drawing) -> None:
        return None

    monkeypatch.setattr(Drawing, "tick", tick)


@pytest.mark.usefixtures("no_ticks")
async def test_the_board_is_drawn_once_outside_the_batch_and_kept_across_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    options = {"supervision": {"files_dir": str(tmp_path)}}
    async with lab_bot(database_url, **options) as lab:
        await organisation(lab)
        await import_shipped(lab, date.today())
        assert await lab.ask("boss", "/board") == []  # the batch only records it
        again = await lab.ask("boss", "/board")
        assert [a["text"] for a in again] == ["Your board is being drawn: it comes in a moment."]
        assert await waiting(lab) == 1
    async with lab_bot(database_url, **options) as lab:  # a restart keeps the request
        answers = await drawn(lab, "sam", "/me")
        boards = [a for a in answers if "Supervision board" in a["text"]]
        assert len(boards) == 1, answers
        assert boards[0]["chat"]["id"] == "dm-boss"
        assert base64.b64decode(boards[0]["image"]["data"]).startswith(b"\x89PNG")
        assert await waiting(lab) == 0
        await lab.bot.worker(Drawing).draw()
        await lab.bot.idle()
        assert sum("Supervision board" in m["text"] for m in lab.receiver.messages) == 1


@pytest.mark.usefixtures("no_ticks")
async def test_a_board_that_cannot_be_drawn_is_given_up_and_holds_up_no_other(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"supervision": {"files_dir": str(tmp_path)}}
    async with lab_bot(database_url, **options) as lab:
        await organisation(lab)
        await import_shipped(lab, date.today())
        monkeypatch.setattr(drawing, "DRAWN_PER_PASS", 1)
        real = drawing.answer

        def broken(language: object, shown: object) -> object:
            raise RuntimeError("the chart library fell over")

        monkeypatch.setattr(drawing, "answer", broken)
        await lab.ask("boss", "/board")
        await lab.ask("sam", "/board")
        worker = lab.bot.worker(Drawing)
        for _ in range(drawing.TRIES):
            await worker.draw()
        monkeypatch.setattr(drawing, "answer", real)
        await worker.draw()  # boss's is given up
        await worker.draw()  # sam's, behind it, is drawn
        await lab.bot.idle()
        texts = {m["chat"]["id"]: m["text"] for m in lab.receiver.messages[-2:]}
        assert "could not be drawn" in texts["dm-boss"], texts
        assert "Supervision board" in texts["dm-sam"] and "North" not in texts["dm-sam"], texts
        assert await waiting(lab) == 0
