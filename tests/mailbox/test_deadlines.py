"""Deadlines on working days across a restart, on a clock the test moves: a letter written the
Wednesday before the 2026 Spring Festival has its first answer due on the make-up Saturday; the
reminder comes the day before; the bot restarts; the escalation to the admins waits out the
quiet hours, comes once an interval, at most ``reminder_max`` times, and is in the thread."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dialogs.mailbox.tables import Letter
from store.clock import ManualClock
from tests.support.mailbox import SETTINGS, organisation, write
from tests.support.webhook import Lab, lab_bot, to, until

CHINA = ZoneInfo("Asia/Shanghai")
OPTIONS = {"mailbox": {**SETTINGS["mailbox"], "reminder_max": 2, "reminder_interval_hours": 24}}


def count(lab: Lab, user: str, needle: str) -> int:
    return sum(1 for m in lab.receiver.messages if to(user)(m) and needle in m["text"])


async def settle(lab: Lab, clock: ManualClock, moment: datetime) -> None:
    """Move the clock and let the deadline worker make a pass at the new time."""
    clock.set(moment)
    worker = next(s for s in lab.bot.scheduler.sources if type(s).__name__ == "Deadlines")
    await worker.tick()
    await lab.bot.idle()


async def test_deadlines_reminders_and_escalation_across_a_restart(database_url: str) -> None:
    clock = ManualClock()
    clock.set(datetime(2026, 2, 11, 10, 0, tzinfo=CHINA))  # a Wednesday
    async with lab_bot(database_url, clock=clock, **OPTIONS) as lab:
        await organisation(lab)
        number = await write(lab, "mei", ["The heating is off."])
        async with lab.bot.db.session() as session:
            letter = await session.scalar(select(Letter))
            assert letter is not None
            # Thu 12, Fri 13, and Saturday 14, a make-up working day; the festival is off
            # from the 15th to the 23rd, and Saturday 28 is a working day again.
            assert letter.answer_due == date(2026, 2, 14)
        await until(lab, lambda m: to("sam")(m) and number in m["text"])

        await settle(lab, clock, datetime(2026, 2, 12, 10, 0, tzinfo=CHINA))
        assert count(lab, "sam", "needs its first answer") == 0  # two working days left
        await settle(lab, clock, datetime(2026, 2, 13, 23, 0, tzinfo=CHINA))
        assert count(lab, "sam", "needs its first answer") == 0  # quiet hours
        await settle(lab, clock, datetime(2026, 2, 14, 9, 0, tzinfo=CHINA))
        await until(lab, lambda m: to("sam")(m) and "needs its first answer" in m["text"])

    clock.set(datetime(2026, 2, 24, 23, 30, tzinfo=CHINA))  # overdue, in the quiet hours
    async with lab_bot(database_url, clock=clock, **OPTIONS) as lab:
        lab.ids = itertools.count(10_000)
        await settle(lab, clock, clock.now())
        assert count(lab, "boss", "is overdue") == 0
        assert count(lab, "sam", "needs its first answer") == 0  # sent once, before the restart
        await settle(lab, clock, datetime(2026, 2, 25, 9, 0, tzinfo=CHINA))
        await until(lab, lambda m: to("boss")(m) and f"{number} is overdue" in m["text"])
        await settle(lab, clock, datetime(2026, 2, 25, 15, 0, tzinfo=CHINA))
        assert count(lab, "boss", "is overdue") == 1  # an interval apart
        await settle(lab, clock, datetime(2026, 2, 26, 9, 30, tzinfo=CHINA))
        assert count(lab, "boss", "is overdue") == 2
        await settle(lab, clock, datetime(2026, 2, 28, 10, 0, tzinfo=CHINA))
        assert count(lab, "boss", "is overdue") == 2  # reminder_max
        assert "Overdue" in await lab.say("sam", "/inbox")
        thread = await lab.say("sam", f"/mail show {number}")
        assert "the mailbox: overdue" in thread
