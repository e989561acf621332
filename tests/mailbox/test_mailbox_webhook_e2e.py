"""The mailbox end to end on the webhook channel, over real HTTP: a signed letter answered,
followed up both ways, passed to the admins, closed, reopened and rated; an anonymous letter
released at its slot, answered through the relay, its writer blocked; the daily cap; the
authorization matrix (a secretary of another branch, a member who is not the writer)."""

from __future__ import annotations

import base64

from sqlalchemy import select

from dialogs.mailbox.tables import Entry, Letter
from store.clock import ManualClock
from store.models import OutboxRow
from tests.support.mailbox import CASE, SETTINGS, asking, organisation, write
from tests.support.webhook import Lab, button, lab_bot, to, until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
"""An image's bytes, as a chat system sends them (the mailbox keeps them as they are)."""


def texts(lab: Lab, user: str) -> list[str]:
    return [m["text"] for m in lab.receiver.messages if to(user)(m)]


async def test_a_signed_letter_end_to_end(database_url: str) -> None:
    async with lab_bot(database_url, **SETTINGS) as lab:
        await organisation(lab)
        number = await write(lab, "mei", ["The reading room lamp is broken.", "Since Monday."])
        letter = await until(lab, lambda m: to("sam")(m) and number in m["text"])
        assert (
            "From: Mei" in letter["text"] and "The reading room lamp is broken." in letter["text"]
        )
        assert "Since Monday." in letter["text"] and "answer due" in letter["text"]

        # Nobody else can read or answer it: another branch's secretary, another member.
        for outsider in ("nia", "kai", "noa"):
            for command in (f"/mail show {number}", f"/reply {number} hello"):
                answer = await lab.say(outsider, command)
                assert f"There is no letter {number} that you can see." in answer
        assert "There is no letter M-2025-0001" in await lab.say("sam", "/mail show M-2025-0001")

        answer = await lab.say("sam", f"/reply {number} We will fix it this week.\nThank you.")
        assert "was sent to its writer" in answer
        to_mei = await until(
            lab, lambda m: to("mei")(m) and "an answer from your secretary" in m["text"]
        )
        assert "We will fix it this week.\nThank you." in to_mei["text"]

        assert "Your follow-up" in await lab.say("mei", f"/reply {number} Which day?")
        await until(lab, lambda m: to("sam")(m) and "a follow-up from its writer" in m["text"])

        listing = await lab.say("sam", "/inbox")
        assert number in listing and "1 open letter" in listing
        assert "Only the writer" in await lab.say("sam", f"/mail close {number}")

        answers = await lab.ask("sam", f"/mail pass {number} Needs the budget committee.")
        await lab.ask("sam", choice=button(asking(answers), "The admins"))
        passed = await until(lab, lambda m: to("boss")(m) and "passed to you by Sam" in m["text"])
        assert "Needs the budget committee." in passed["text"]
        await until(lab, lambda m: to("boss")(m) and "From: Mei" in m["text"])
        assert "was sent to its writer" in await lab.say("boss", f"/reply {number} Approved.")

        assert "rated 4 of 5" in await lab.say("mei", f"/mail rate {number} 4")
        await until(lab, lambda m: to("boss")(m) and "rated the answer 4 of 5" in m["text"])
        assert "is closed" in await lab.say("mei", f"/mail close {number}")
        assert "is closed; its writer can reopen it" in await lab.say("sam", f"/reply {number} x")
        assert "open again" in await lab.say("mei", f"/mail reopen {number}")
        listing = await lab.say("mei", "/mail list")
        assert number in listing and "reopened" in listing
        assert "in a direct chat" in await lab.say("mei", "/mail list", chat="room-x")

        thread = await lab.say("mei", f"/mail show {number}")
        for step in (
            "the letter",
            "answer",
            "follow-up",
            "passed on",
            "rated 4/5",
            "closed",
            "reopened",
        ):
            assert step in thread, (step, thread)
        stats = await lab.ask("boss", "/mail stats")
        assert stats[-1].get("image") and "Main" in stats[-1]["text"]
        assert "letters 1 (Work 1)" in stats[-1]["text"]


async def test_an_anonymous_letter_its_relay_its_block_and_the_cap(database_url: str) -> None:
    clock = ManualClock()
    settings = {"mailbox": {**SETTINGS["mailbox"], "daily_cap": 2}}
    async with lab_bot(database_url, clock=clock, **settings) as lab:
        await organisation(lab)
        number = await write(
            lab, "kai", ["Someone shouts at the desk."], anonymous=True, category="Complaint"
        )
        assert not any(number in text for text in texts(lab, "sam")), "released before its slot"
        clock.advance(minutes=2)
        letter = await until(lab, lambda m: to("sam")(m) and number in m["text"])
        assert "From: anonymous writer" in letter["text"] and "Kai" not in letter["text"]

        assert "on its way to its writer" in await lab.say(
            "sam", f"/reply {number} Thank you, we will look."
        )
        await until(lab, lambda m: to("kai")(m) and "Thank you, we will look." in m["text"])
        async with lab.bot.db.session() as session:
            letters = list(await session.scalars(select(Letter)))
            assert [row.writer_id for row in letters] == [None]
            mine = list(await session.scalars(select(Entry).where(Entry.author == "writer")))
            assert mine and all(e.author_id is None and e.at is None for e in mine)
            rows = list(
                await session.scalars(select(OutboxRow).where(OutboxRow.chat_id == "dm-kai"))
            )
            assert not [r for r in rows if "Thank you, we will look." in str(r.payload)]

        # kai finds it among their letters and follows up; sam hears at the next slot.
        assert number in await lab.say("kai", "/mail list")
        assert "Your follow-up" in await lab.say("kai", f"/reply {number} It happened again.")
        clock.advance(minutes=2)
        await until(lab, lambda m: to("sam")(m) and "It happened again." in m["text"])

        # The writer writes from a group: the group learns nothing, nothing is posted.
        answer = await lab.say("kai", f"/reply {number} in public", chat="room-x")
        assert "There is no letter" in answer

        # The cap: a second letter today is fine, a third is refused.
        await write(lab, "kai", ["Second matter."], anonymous=True)
        assert "the most for one day" in await lab.say("kai", "/mail")

        # Block: sam blocks the writer of the case without learning who it is.
        answer = await lab.say("sam", f"/mail block {number} 30")
        assert "cannot send letters until" in answer and "Kai" not in answer
        clock.advance(days=1)
        assert "You cannot send letters until" in await lab.say("kai", "/mail")
        assert "Added" not in await lab.say("mei", "/mail")  # mei is not blocked: asked to choose
        blocks = await lab.say("boss", "/mail blocks")
        assert number in blocks and "Sam" in blocks and "Kai" not in blocks
        assert "Only admins" in await lab.say("sam", "/mail blocks")


async def test_a_letter_with_an_image_answered_by_a_webhook_reply(database_url: str) -> None:
    async with lab_bot(database_url, **SETTINGS) as lab:
        await organisation(lab)
        answers = await lab.ask("mei", "/mail")
        answers = await lab.ask("mei", choice=button(asking(answers), "With my name"))
        answers = await lab.ask("mei", choice=button(asking(answers), "Work"))
        await lab.ask("mei", "The window of room 3 is broken, see the photo.")
        for name, mime, expected in (
            ("notes.pdf", "application/pdf", "Only images can go with a letter"),
            ("window.png", "image/png", "Image added"),
        ):
            body = lab.event("mei")
            body["file"] = {"name": name, "mime": mime, "data": base64.b64encode(PNG).decode()}
            before = len(lab.receiver.messages)
            assert (await lab.post(body))[0] == 200
            reply = await until(
                lab, lambda m, b=before: to("mei")(m) and m in lab.receiver.messages[b:]
            )
            assert expected in reply["text"], reply
        answers = await lab.ask("mei", choice=button(asking(lab.receiver.messages), "Done"))
        assert "images: 1" in answers[-1]["text"]
        answers = await lab.ask("mei", choice=button(asking(answers), "Send"))
        number = CASE.search(answers[-1]["text"])
        assert number, answers
        letter = await until(lab, lambda m: to("sam")(m) and number.group(0) in m["text"])
        image = await until(lab, lambda m: to("sam")(m) and "Image of" in m["text"])
        assert base64.b64decode(image["image"]["data"]) == PNG

        body = lab.event("sam", "We replace it on Monday.")
        body["in_reply_to"] = letter["id"]
        before = len(lab.receiver.messages)
        assert (await lab.post(body))[0] == 200
        await until(lab, lambda m: to("mei")(m) and "We replace it on Monday." in m["text"])
        assert any("was sent to its writer" in m["text"] for m in lab.receiver.messages[before:])
