"""Broadcasts end to end through the webhook channel: compose, fan-out, report, acks, /acks,
schedules and digests."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select, update

from dialogs.broadcast.fanout import Broadcaster
from store.broadcast_tables import Broadcast, BroadcastSchedule
from store.clock import SYSTEM_CLOCK
from store.models import Identity
from tests.support.chat import code_in
from tests.support.lab_broadcasts import compose, organisation
from tests.support.webhook import Lab, button, to, until


async def test_secretary_broadcast_report_and_acks(lab: Lab) -> None:
    await organisation(lab)
    answers = await compose(
        lab, "sam", "Branch meeting **Friday** 3pm\nRoom 204", "Both", "Meeting", "Yes", "Send now"
    )
    preview = next(a for a in answers if "Friday" in a["text"])
    assert "Meeting notice" in preview["text"] and "Room 204" in preview["text"]
    assert "Received" in preview["choices"][0][0]["label"]
    assert "Send it?" in answers[-1]["text"]
    summary = "Goes to: Main Library, in the branch rooms and members' direct chats. When: now."
    assert summary in answers[-1]["text"]
    assert "only the preview" in await lab.say("sam", choice=button(preview, "Received"))
    sent = await lab.ask("sam", choice=button(answers[-1], "Send"))
    assert "on its way" in sent[0]["text"]

    report = await until(lab, lambda m: to("sam")(m) and "delivered" in m["text"])
    assert "3 delivered, 0 unreachable" in report["text"]  # sam, mei, room-1
    mei = await until(lab, lambda m: to("mei")(m) and "Friday" in m["text"])
    room = await until(lab, lambda m: m["chat"]["id"] == "room-1" and "Friday" in m["text"])
    assert "**Friday**" in mei["markdown"] and room["choices"]
    assert not [m for m in lab.receiver.messages if to("tom")(m) and "Friday" in m["text"]]

    number = re.search(r"\bN(\d+)", report["text"])
    assert number
    assert "0/2" in await lab.say("sam", f"/acks {number[1]}")
    assert "recorded" in await lab.say("mei", choice=button(mei, "Received"))
    assert "already" in await lab.say("mei", choice=button(mei, "Received"))
    acks = await lab.say("sam", f"/acks {number[1]}")
    assert "Main Library: 1/2 (50%)" in acks and "Not yet: Sam" in acks
    assert "not addressed to you" in await lab.say("tom", choice=button(mei, "Received"))
    assert "no notice N999" in await lab.say("sam", "/acks 999")
    assert "not a notice number: write it like N2" in await lab.say("sam", "/acks abc")
    assert "Usage" in await lab.say("sam", "/acks")
    assert "Only" in await lab.say("mei", f"/acks {number[1]}")


async def test_admin_chooses_branches_and_people_without_a_known_chat_are_written_to(
    lab: Lab,
) -> None:
    """The webhook channel may write first: ann, whose direct chat the bot does not know (as
    for an account linked from another platform), gets the notice in one the channel opens."""
    await organisation(lab)
    code = code_in(await lab.say("boss", "/invite Science member"))
    await lab.say("ann", f"/join {code}")
    async with lab.bot.db.session() as session:
        await session.execute(
            update(Identity).where(Identity.user_id == "ann").values(direct_chat_id=None)
        )
        await session.commit()
    answers = await compose(lab, "boss", "Library closed Monday")
    assert "All branches" in answers[-1]["choices"][0][0]["label"]
    answers = await lab.ask("boss", "Science")
    assert "Where" in answers[-1]["text"]
    for label in ("Members", "Public", "No", "Send now", "Send"):
        asking = next(a for a in reversed(answers) if a.get("choices"))
        answers = await lab.ask("boss", choice=button(asking, label))
    report = await until(lab, lambda m: to("boss")(m) and "delivered" in m["text"])
    assert "2 delivered, 0 unreachable" in report["text"]
    ann = await until(lab, lambda m: m["chat"]["id"] == "direct:ann")
    assert "Library closed" in ann["text"] and ann["chat"]["type"] == "direct"
    tom = await until(lab, lambda m: to("tom")(m) and "Library closed" in m["text"])
    assert "Public notice" in tom["text"] and not tom.get("choices")


async def test_bad_input_changes_nothing(lab: Lab) -> None:
    await organisation(lab)
    help_text = await lab.say("sam", "/help")
    for command in ("/broadcast", "/schedules", "/unschedule", "/digest add", "/acks"):
        assert command in help_text
    assert "/broadcast" not in await lab.say("mei", "/help")
    assert "Only" in await lab.say("mei", "/broadcast")
    assert "direct chat" in await lab.say("sam", "/broadcast", chat="room-1")
    await lab.say("boss", "/broadcast")
    assert "1 to 3000 characters" in await lab.say("boss", "x" * 3001)
    await lab.say("boss", "Hello")
    assert "no branch called “Nowhere”" in await lab.say("boss", "Nowhere, Science")
    assert "Where" in await lab.say("boss", "Science")
    assert "Please answer the question above" in await lab.say("boss", "both please")
    assert "Stopped" in await lab.say("boss", "/cancel")
    async with lab.bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_schedule_list_and_unschedule(lab: Lab) -> None:
    await organisation(lab)
    answers = await compose(lab, "sam", "Weekly tidy-up", "rooms", "Notice", "No", "Later")
    assert "Asia/Shanghai" in answers[-1]["text"]
    assert "can't read" in await lab.say("sam", "every tuesday-ish")
    answers = await lab.ask("sam", "weekly MON 09:00")
    assert "When: every Monday at 09:00 (China Time)" in answers[-1]["text"]
    scheduled = await lab.say("sam", choice=button(answers[-1], "Send"))
    number = re.search(r"\bS(\d+)", scheduled)
    assert number
    listing = await lab.say("sam", "/schedules")
    assert f"S{number[1]} — every Monday at 09:00, next " in listing and "Weekly tidy-up" in listing
    assert "You have no schedule S77" in await lab.say("sam", "/unschedule 77")
    assert "is stopped" in await lab.say("sam", f"/unschedule S{number[1]}")
    assert "already stopped on" in await lab.say("sam", f"/unschedule {number[1]}")
    assert "No notices are scheduled" in await lab.say("sam", "/schedules")


async def test_a_moment_in_the_past_is_refused(lab: Lab) -> None:
    await organisation(lab)
    await compose(lab, "sam", "Too late", "rooms", "Notice", "No", "Later")
    refused = await lab.say("sam", "2020-01-01 09:00")
    assert "already passed" in refused and "Asia/Shanghai" in refused
    soon = (SYSTEM_CLOCK.now() + timedelta(hours=9, minutes=1)).strftime(
        "%Y-%m-%d %H:%M"
    )  # Shanghai, UTC+8
    answers = await lab.ask("sam", soon)
    assert f"When: {soon} (China Time)" in answers[-1]["text"]
    async with lab.bot.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_digest_folds_queued_items_and_skips_empty(lab: Lab) -> None:
    await organisation(lab)
    assert "empty" in await lab.say("sam", "/digest")
    assert "Main Library" in await lab.say("sam", "/digest add Books due back Friday")
    assert "organisation" in await lab.say("boss", "/digest add Annual meeting on the 12th")
    listing = await lab.say("sam", "/digest")
    assert "Books due back" in listing and "Annual meeting" in listing
    broadcaster = lab.bot.worker(Broadcaster)
    async with lab.bot.db.session() as session:
        await session.execute(
            update(BroadcastSchedule)
            .where(BroadcastSchedule.kind == "digest")
            .values(last_run_at=None, created_at=SYSTEM_CLOCK.now() - timedelta(days=8))
        )
    digest = (await broadcaster.timetables())[0]
    await broadcaster.run(digest.id)
    mei = await until(lab, lambda m: to("mei")(m) and "Digest" in m["text"])
    assert "Books due back" in mei["text"] and "Annual meeting" in mei["text"]
    tom = await until(lab, lambda m: to("tom")(m) and "Digest" in m["text"])
    assert "Annual meeting" in tom["text"] and "Books" not in tom["text"]
    assert "empty" in await lab.say("sam", "/digest")
    before = len(lab.receiver.messages)
    async with lab.bot.db.session() as session:  # due again: only emptiness can stop it now
        await session.execute(
            update(BroadcastSchedule)
            .where(BroadcastSchedule.kind == "digest")
            .values(last_run_at=None, created_at=SYSTEM_CLOCK.now() - timedelta(days=8))
        )
    await broadcaster.run(digest.id)
    await asyncio.sleep(1.5)
    assert not [m for m in lab.receiver.messages[before:] if "Digest" in m["text"]]
