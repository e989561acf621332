"""Helpers for the supervision tests: the shipped indicators imported, a report made."""

from __future__ import annotations

from datetime import date

from dialogs.supervision.drawing import Drawing
from dialogs.supervision.indicators import SHIPPED, Indicator, load
from dialogs.supervision.repository import Supervision
from store.repos import Repositories
from tests.support.webhook import Lab, Message, button


async def import_shipped(lab: Lab, day: date, keys: set[str] | None = None) -> list[Indicator]:
    """The shipped indicators (or those of ``keys``), imported on ``day``."""
    indicators = [i for i in load(SHIPPED).indicators if keys is None or i.key in keys]
    async with lab.bot.db.session() as session:
        await Repositories(session).get(Supervision).import_indicators(indicators, day)
    return indicators


async def drawn(lab: Lab, user: str, text: str = "/board") -> list[Message]:
    """What ``user``'s ``text`` brought, once the drawing worker has drawn what it asked for
    (the whole board is drawn outside the batch; a tick may beat this call to it: the worker's
    lock makes this wait for that pass)."""
    before = len(lab.receiver.messages)
    await lab.ask(user, text)
    await lab.bot.worker(Drawing).draw()
    await lab.bot.idle()
    return lab.receiver.messages[before:]


async def board_text(lab: Lab, user: str, text: str = "/board") -> str:
    answers = await drawn(lab, user, text)
    assert answers, f"no answer to {text!r}"
    return "\n".join(a["text"] for a in answers)


def asking(answers: list[Message]) -> Message:
    return next(a for a in reversed(answers) if a.get("choices"))


async def report(
    lab: Lab,
    user: str,
    item: str,
    texts: list[str],
    *,
    numbers: tuple[str, ...] = (),
    files: tuple[dict[str, str], ...] = (),
    period: str | None = None,
) -> str:
    """``user`` reports ``item`` (a label the button holds) with ``texts`` and ``files``
    (webhook ``file`` objects); returns the bot's last answer."""
    answers = await lab.ask(user, "/report")
    answers = await lab.ask(user, choice=button(asking(answers), item))
    if period is not None:
        answers = await lab.ask(user, choice=button(asking(answers), period))
    for text in texts:
        answers = await lab.ask(user, text)
        assert "Added" in answers[-1]["text"], answers
    for file in files:
        answers = await lab.ask(user, file=file)
        assert "File added" in answers[-1]["text"], answers
    answers = await lab.ask(user, choice=button(asking(answers), "Done"))
    for number in numbers:
        answers = await lab.ask(user, number)
    assert "Your report" in answers[-1]["text"], answers
    answers = await lab.ask(user, choice=button(asking(answers), "Submit"))
    return str(answers[-1]["text"])
