"""Learning through the webhook lab: the test bank, answering its questions as a person would,
sending bank files."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path
from typing import Any

from store.banks import ParsedQuestion, load
from store.learning import Learning
from store.repos import Repositories
from tests.support.webhook import Lab

BANKS = Path(__file__).parents[1] / "learning" / "banks"
BANK = load(BANKS / "library.yaml")
FILES = {path.name: path.read_bytes() for path in BANKS.iterdir()}
PAYLOAD = re.compile(r"^\d+\|[a-z]*\|(a\d|done|go)$")


async def import_bank(lab: Lab) -> None:
    """Import the test bank (``BANK``) as the organisation's."""
    async with lab.bot.db.session() as session:
        await Repositories(session).get(Learning).import_bank(BANK)


def question_in(message: dict[str, Any]) -> ParsedQuestion:
    """The bank's question that ``message`` asks."""
    return next(q for q in BANK.questions if q.text in message["text"])


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The payload of each of ``message``'s buttons, by label."""
    return {c["label"]: c["payload"] for row in message.get("choices", []) for c in row}


async def answer(lab: Lab, user: str, message: dict[str, Any], right: bool) -> list[dict[str, Any]]:
    """Answer the question in ``message`` rightly or wrongly, the way a person would."""
    question = question_in(message)
    keys = buttons(message)
    assert all(PAYLOAD.match(p) for p in keys.values()), keys
    if question.kind == "fill":
        return await lab.ask(user, "  ＣＡＴＡＬＯＧＵＥ! " if right else "index")
    if question.kind == "truefalse":
        label = "True" if (question.answers == [0]) == right else "False"
        return await lab.ask(user, choice=keys[label])
    shown = {
        line[3:]: line[0] for line in message["text"].splitlines() if re.match(r"^[A-F]\. ", line)
    }
    wanted = [question.options[i] for i in question.answers]
    wrong = [letter for option, letter in shown.items() if option not in wanted][:1]
    letters = [shown[o] for o in wanted] if right else wrong
    if question.kind == "single":
        return await lab.ask(user, choice=keys[letters[0]])
    for letter in letters:
        toggled = await lab.ask(user, choice=keys[letter])
        keys = buttons(toggled[-1])
    return await lab.ask(user, choice=keys["Done"])


async def send_file(
    lab: Lab,
    user: str,
    name: str,
    caption: str | None = None,
    data: bytes | None = None,
    **options: Any,
) -> str:
    """Send a file (by default the test bank of that name) and wait for every answer."""
    body = lab.event(user, caption, **options)
    content = FILES[name] if data is None else data
    body["file"] = {"name": name, "data": base64.b64encode(content).decode()}
    before = len(lab.receiver.messages)
    status, answer = await lab.post(body)
    assert status == 200, answer
    async with asyncio.timeout(10):
        await lab.bot.idle()
    said = [m["text"] for m in lab.receiver.messages[before:]]
    if said and "I am checking it" in said[-1]:
        # The bank worker reads the file outside the event and answers in a second message.
        async with asyncio.timeout(30):
            while True:
                lab.receiver.changed.clear()
                if len(lab.receiver.messages) > before + len(said):
                    break
                await lab.receiver.changed.wait()
        said = [m["text"] for m in lab.receiver.messages[before:]]
    return "\n".join(said)
