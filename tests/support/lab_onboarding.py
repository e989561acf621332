"""Onboarding through the webhook lab: the organisation most lab tests start from."""

from __future__ import annotations

from tests.support.chat import code_in
from tests.support.webhook import Lab


async def organisation(lab: Lab) -> tuple[str, str]:
    """Library with secretary sam (and his room) and member mei; returns nothing secret."""
    await lab.say("boss", "/branch add Main Library")
    sam_code = code_in(await lab.say("boss", "/invite Main Library secretary"))
    assert "Welcome" in await lab.say("sam", f"/join {sam_code}")
    mei_code = code_in(await lab.say("sam", "/invite Main Library member"))
    assert "Welcome to Main Library" in await lab.say("mei", f"/join {mei_code}")
    return sam_code, mei_code
