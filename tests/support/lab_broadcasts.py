"""Broadcasts through the webhook lab: an organisation to send to, /broadcast driven button by
button."""

from __future__ import annotations

from tests.support.chat import code_in
from tests.support.webhook import Lab, Message, button


async def organisation(lab: Lab) -> None:
    """Main Library: secretary sam, member mei, a bound room; Science: member tom."""
    await lab.say("boss", "/branch add Main Library")
    await lab.say("boss", "/branch add Science")
    sam = code_in(await lab.say("boss", "/invite Main Library secretary"))
    await lab.say("sam", f"/join {sam}")
    for name, branch in (("mei", "Main Library"), ("tom", "Science")):
        code = code_in(await lab.say("boss", f"/invite {branch} member"))
        await lab.say(name, f"/join {code}")
    for name in ("sam", "mei", "tom"):
        await lab.say(name, "/me")
    await lab.say("sam", "/bind Main Library", chat="room-1")


async def compose(lab: Lab, user: str, text: str, *steps: str) -> list[Message]:
    """Run /broadcast pressing the buttons labelled ``steps`` in order; returns the last answers."""
    await lab.say(user, "/broadcast")
    answers = await lab.ask(user, text)
    for label in steps:
        asking = next(a for a in reversed(answers) if a.get("choices"))
        answers = await lab.ask(user, choice=button(asking, label))
    return answers
