"""Who sees which questions: the organisation's banks reach every member; a branch's bank
reaches only its own members and rounds in its own rooms. Driven through the webhook channel,
with the banks sent in a chat the way an admin and a secretary send them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.chat import code_in
from tests.support.lab_learning import buttons, send_file
from tests.support.lab_onboarding import organisation
from tests.support.webhook import Lab, wait_for_text

ORG = {f"Org question {n}?" for n in range(1, 3)}
MAIN = {f"Main question {n}?" for n in range(1, 9)}
QUESTION = re.compile(r"(?:Org|Main) question \d+\?")


def bank_file(texts: set[str]) -> bytes:
    """Single-choice questions whose right option is always "Yes"."""
    rows = ["id,question,A,B,C,D,answer,explanation,category,difficulty"]
    rows += [f"q{n},{text},Yes,No,,,A,,shelves,1" for n, text in enumerate(sorted(texts))]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def lab_options() -> dict[str, Any]:
    return {"learning": {"daily_questions": 20, "group_seconds": 0.5}}


@pytest.fixture
async def lab(lab: Lab) -> Lab:
    """Main Library (secretary sam, member mei) and Science (secretary sue, member max); the
    organisation's bank from the admin, Main Library's own bank from sam."""
    await organisation(lab)
    await lab.say("boss", "/branch add Science")
    for user, role in (("sue", "secretary"), ("max", "member")):
        code = code_in(await lab.say("boss", f"/invite Science {role}"))
        assert "Welcome" in await lab.say(user, f"/join {code}")
    assert "2 new questions" in await send_file(lab, "boss", "org.csv", data=bank_file(ORG))
    by_sam = await send_file(lab, "sam", "main.csv", data=bank_file(MAIN))
    assert "8 new questions" in by_sam
    return lab


def asked(message: dict[str, Any]) -> str:
    found = QUESTION.findall(message["text"])
    assert len(found) == 1, message["text"]
    return str(found[0])


async def play_right(
    lab: Lab, user: str, command: str | None = None, **options: Any
) -> tuple[list[str], str]:
    """Start a run and answer every question rightly; the questions asked and the end."""
    message = (await lab.ask(user, command, **options))[-1]
    seen: list[str] = []
    while "Question" in message["text"]:
        seen.append(asked(message))
        letter = next(line[0] for line in message["text"].splitlines() if line[1:] == ". Yes")
        message = (await lab.ask(user, choice=buttons(message)[letter]))[-1]
    return seen, message["text"]


async def test_the_daily_quiz_of_another_branch_never_has_a_branch_bank(lab: Lab) -> None:
    seen, end = await play_right(lab, "max", "/quiz")
    assert set(seen) == ORG and "Done: 2/2" in end
    seen, end = await play_right(lab, "mei", "/quiz")
    assert set(seen) == ORG | MAIN and "Done: 10/10" in end


async def test_the_challenge_of_another_branch_never_has_a_branch_bank(lab: Lab) -> None:
    seen, end = await play_right(lab, "max", "/challenge")
    assert set(seen) == ORG and "Your run: 2" in end
    seen, end = await play_right(lab, "mei", "/challenge")
    assert set(seen) == ORG | MAIN and "Your run: 10" in end


async def test_a_member_without_a_branch_gets_the_organisations_banks(lab: Lab) -> None:
    seen, end = await play_right(lab, "boss", "/quiz")
    assert set(seen) == ORG and "Done: 2/2" in end


async def round_in(lab: Lab, user: str, room: str) -> list[str]:
    """The questions of a whole group round of as many questions as allowed."""
    lab.receiver.messages.clear()
    posted = (await lab.ask(user, "/quiz group 20", chat=room))[0]
    total = re.search(r"Question 1/(\d+)", posted["text"])
    assert total, posted["text"]
    await wait_for_text(lab, "Final podium")
    found = [m for m in lab.receiver.messages if re.search(r"Question \d+/", m["text"])]
    assert len(found) == int(total.group(1)) and all(m["chat"]["id"] == room for m in found)
    return [asked(m) for m in found]


async def test_a_group_round_uses_the_banks_of_the_rooms_branch(lab: Lab) -> None:
    await lab.say("sue", "/bind Science", chat="room-2")
    await lab.say("sam", "/bind Main Library", chat="room-1")
    assert set(await round_in(lab, "sue", "room-2")) == ORG
    assert set(await round_in(lab, "sam", "room-1")) == ORG | MAIN
    # An admin's round in Science's room is still Science's: the admin has no branch bank.
    assert set(await round_in(lab, "boss", "room-2")) == ORG


PATH = b"""bank: path
levels:
  - {number: 1, title: Shelves, category: shelves, questions: 20, pass: 50}
lessons:
  - {id: shelf, title: Shelving, text: Spines face out., category: shelves, questions: 20}
"""
"""The organisation's level and lesson: their questions are drawn by category from the banks
the member sees, a branch bank's of that category included for its own members only."""


async def test_a_level_draws_from_the_banks_the_member_sees(lab: Lab) -> None:
    assert "1 level, 1 lesson" in await send_file(lab, "boss", "path.yaml", data=PATH)
    seen, end = await play_right(lab, "max", "/level 1")
    assert set(seen) == ORG and "2/2 (100%)" in end
    seen, end = await play_right(lab, "mei", "/level 1")
    assert set(seen) == ORG | MAIN and "10/10 (100%)" in end


async def test_a_lesson_draws_from_the_banks_the_member_sees(lab: Lab) -> None:
    assert "1 level, 1 lesson" in await send_file(lab, "boss", "path.yaml", data=PATH)
    for user, expected in (("max", ORG), ("mei", ORG | MAIN)):
        shown = (await lab.ask(user, "/lesson shelf"))[0]
        assert "Spines face out." in shown["text"]
        seen, end = await play_right(lab, user, choice=buttons(shown)["Start the quiz"])
        assert set(seen) == expected and f"Lesson done: {len(expected)}/{len(expected)}" in end
