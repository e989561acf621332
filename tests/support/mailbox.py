"""Helpers for the mailbox tests: an organisation on the lab channel and writing a letter."""

from __future__ import annotations

import re

from tests.support.chat import code_in
from tests.support.webhook import Lab, Message, button

KEY = "ab" * 32
SETTINGS = {"mailbox": {"relay_key": KEY, "release_minutes": 1}}
CASE = re.compile(r"M-\d{4}-\d{4}")


async def organisation(lab: Lab) -> None:
    """Main: secretary sam, members mei and kai; North: secretary nia, member noa."""
    for branch, people in (("Main", ("sam", "mei", "kai")), ("North", ("nia", "noa"))):
        await lab.say("boss", f"/branch add {branch}")
        secretary, *members = people
        await lab.say(
            secretary, f"/join {code_in(await lab.say('boss', f'/invite {branch} secretary'))}"
        )
        for name in members:
            code = code_in(await lab.say(secretary, f"/invite {branch} member"))
            await lab.say(name, f"/join {code}")


def asking(answers: list[Message]) -> Message:
    return next(a for a in reversed(answers) if a.get("choices"))


async def write(
    lab: Lab, user: str, parts: list[str], *, anonymous: bool = False, category: str = "Work"
) -> str:
    """``user`` writes a letter with ``/mail``; returns its case number."""
    answers = await lab.ask(user, "/mail")
    how = "Anonymously" if anonymous else "With my name"
    answers = await lab.ask(user, choice=button(asking(answers), how))
    answers = await lab.ask(user, choice=button(asking(answers), category))
    for part in parts:
        answers = await lab.ask(user, part)
        assert "Added" in answers[-1]["text"], answers
    answers = await lab.ask(user, choice=button(asking(answers), "Done"))
    assert "Your letter" in answers[-1]["text"]
    answers = await lab.ask(user, choice=button(asking(answers), "Send"))
    text = answers[-1]["text"]
    assert "Your letter is sent" in text, text
    match = CASE.search(text)
    assert match, text
    return match.group(0)
