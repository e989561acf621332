"""The answering flow once through the webhook channel: open → invitation → answers with Back
and Skip → review → Submit → a second attempt → close → a late answer refused."""

from __future__ import annotations

from dialogs.appraisal.repository import Appraisal
from dialogs.appraisal.templates import parse_template
from store.repos import Repositories
from tests.support.appraisal import TEMPLATE, closing
from tests.support.lab_broadcasts import organisation
from tests.support.webhook import Lab, Message, button, to, until


def asking(answers: list[Message]) -> Message:
    return next(a for a in reversed(answers) if a.get("choices"))


async def test_answering_through_the_webhook(lab: Lab) -> None:
    await organisation(lab)
    loaded = parse_template(TEMPLATE, "test.yaml")
    assert loaded.template is not None
    async with lab.bot.db.session() as session:
        await Repositories(session).get(Appraisal).add_template(loaded.template)
    answers = await lab.ask("boss", "/survey open")
    answers = await lab.ask("boss", choice=button(asking(answers), "Branch appraisal"))
    await lab.ask("boss", "Main Library")
    answers = await lab.ask("boss", closing())
    answers = await lab.ask("boss", choice=button(asking(answers), "Open it"))
    # The worker's report may arrive before ask() returns: look at every answer, not the last.
    assert any("the invitations are going out" in a["text"].lower() for a in answers)
    report = await until(lab, lambda m: to("boss")(m) and "members are invited" in m["text"])
    assert "2 members are invited." in report["text"]

    invitation = await until(lab, lambda m: to("mei")(m) and "invited" in m["text"])
    answers = await lab.ask("mei", choice=button(invitation, "Start"))
    assert "1/5" in answers[-1]["text"]
    answers = await lab.ask("mei", choice=button(asking(answers), "5"))
    answers = await lab.ask("mei", choice=button(asking(answers), "Back"))
    assert "1/5" in answers[-1]["text"]
    answers = await lab.ask("mei", choice=button(asking(answers), "Next"))
    answers = await lab.ask("mei", choice=button(asking(answers), "Weekly"))
    answers = await lab.ask("mei", choice=button(asking(answers), "Skip"))
    answers = await lab.ask("mei", choice=button(asking(answers), "Skip"))
    assert "Member 1 of 1: **Sam**" in answers[-1]["markdown"]
    answers = await lab.ask("mei", choice=button(asking(answers), "Competent"))
    assert "Your answers to survey R1" in answers[-1]["text"]
    answers = await lab.ask("mei", choice=button(asking(answers), "Submit"))
    assert "are submitted" in answers[-1]["text"]
    again = await lab.say("mei", choice=button(invitation, "Start"))
    assert "already submitted" in again

    assert "is closed" in await lab.say("boss", "/survey close R1")
    sam = await until(lab, lambda m: to("sam")(m) and "invited" in m["text"])
    assert "has closed" in await lab.say("sam", choice=button(sam, "Start"))
